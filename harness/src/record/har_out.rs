//! `--har PATH`: every exchange of a run as a HAR 1.2 file, for a browser's devtools, Charles,
//! Insomnia or mitmproxy, and for `import-har` ([`super::har`]) to read back as cases.
//!
//! A [`HarWriter`] is a [`traffic::Observer`](crate::traffic::Observer): it sees each exchange
//! once, as the executor completes it, redacts it and streams it as one line of JSON to a
//! temporary file beside `PATH`. Memory holds only the pages (one per trial, and one for the
//! requests sent outside any trial: the cleanup) and 32 bytes per entry (when it was sent, and
//! where its line is), so a run of 100 000 requests holds about 3 MB whatever its bodies. At
//! the end [`HarWriter::finish`] writes the log's head, the pages, and the entries in the order
//! they were sent (exchanges finish out of order: a long answer ends after a later short one,
//! and `import-har` reads the file in order), and renames the whole into place.
//!
//! Redaction is the recordings' ([`super::redact`]): configured credentials and email addresses
//! are replaced wherever they appear (URL, headers, bodies both ways); a credential header's
//! value never appears, and keeps only the shape `import-har` replays (`Bearer [REDACTED]`
//! for a well-formed bearer, `[REDACTED-EMAIL]` for an address); cookies are redacted. Each
//! entry then passes the held-back scan ([`super::readable`]) before it is written: an entry
//! the scan finds something in loses its bodies ([`WITHHELD`]), and is left out if that is not
//! enough (a generated id in the URL shaped like a token). Both are rare, counted and named by
//! trial on the run's closing lines.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use base64::Engine as _;
use serde::Serialize;
use time::OffsetDateTime;

use super::readable::scan_readable;
use super::redact::{REDACTED, REDACTED_EMAIL, RawHeader, Secrets, holds_email};
use crate::model::{Body, Credentials, Exchange, HeaderValue};
use crate::traffic::Observer;

/// The page of the exchanges sent outside any trial: deleting what the run created.
pub const CLEANUP_PAGE: &str = "cleanup";

/// What an entry's bodies become when the held-back scan flags them; `import-har` leaves such
/// entries out, since what they sent and answered is gone.
pub const WITHHELD: &str = "[withheld: the credential scan flagged this body]";

/// What the writer learns on the first exchange: the target's base URL and the credentials
/// the run sends (the embedded emulator's are made when it starts).
pub type Target = Box<dyn Fn() -> Option<(String, Credentials)> + Send + Sync>;

/// The target's base URL, the credentials the run sends, and the secrets to scrub.
struct Known {
    base: String,
    creds: Credentials,
    secrets: Secrets,
}

/// A run's HAR file in the making.
pub struct HarWriter {
    path: PathBuf,
    entries_path: PathBuf,
    target: Target,
    known: OnceLock<Known>,
    state: Mutex<State>,
}

struct State {
    entries: BufWriter<File>,
    /// Bytes written to `entries` so far.
    offset: u64,
    /// Each entry: when it was sent, and where its line is in `entries`.
    index: Vec<(Instant, u64, u32)>,
    written: usize,
    /// Entries whose bodies the scan withheld, and entries it left out.
    withheld: usize,
    left_out: usize,
    /// The first few entries the scan withheld or left out: trial, and what it found.
    flagged: Vec<String>,
    pages: Vec<Page>,
    page_of: HashMap<Arc<str>, usize>,
    error: Option<String>,
}

/// What a finished file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub entries: usize,
    pub pages: usize,
    pub withheld: usize,
    pub left_out: usize,
    /// The first few of those: trial, and what the scan found (named, never quoted).
    pub flagged: Vec<String>,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HAR file written to {} ({} entries on {} pages)",
            self.path.display(),
            self.entries,
            self.pages
        )?;
        if self.withheld > 0 {
            write!(
                f,
                "; {} entries without their bodies, which the credential scan flagged",
                self.withheld
            )?;
        }
        if self.left_out > 0 {
            write!(
                f,
                "; {} entries left out, which the credential scan flagged",
                self.left_out
            )?;
        }
        if !self.flagged.is_empty() {
            write!(f, " ({})", self.flagged.join("; "))?;
        }
        Ok(())
    }
}

impl HarWriter {
    /// Starts a HAR file at `path`: its directory is made and its temporary entries file
    /// opened now, so a path that cannot be written fails before any trial runs.
    pub fn create(path: &Path, target: Target) -> Result<HarWriter, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let entries_path = sibling(path, "entries.part");
        let file = File::create(&entries_path)
            .map_err(|e| format!("cannot write {}: {e}", entries_path.display()))?;
        Ok(HarWriter {
            path: path.to_path_buf(),
            entries_path,
            target,
            known: OnceLock::new(),
            state: Mutex::new(State {
                entries: BufWriter::new(file),
                offset: 0,
                index: Vec::new(),
                written: 0,
                withheld: 0,
                left_out: 0,
                flagged: Vec::new(),
                pages: Vec::new(),
                page_of: HashMap::new(),
                error: None,
            }),
        })
    }

    /// Writes the file whole (a temporary file renamed into place) and removes the entries
    /// file. Call once, after the last request of the run (the cleanup).
    pub fn finish(&self) -> Result<Written, String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.assemble(&mut state);
        let _ = std::fs::remove_file(&self.entries_path);
        result
    }

    fn assemble(&self, state: &mut State) -> Result<Written, String> {
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", self.path.display());
        state.entries.flush().map_err(fail)?;
        let part = sibling(&self.path, "part");
        let mut out = BufWriter::new(File::create(&part).map_err(fail)?);
        let head = serde_json::json!({
            "version": "1.2",
            "creator": {"name": "csr-conformance", "version": env!("CARGO_PKG_VERSION")},
            "pages": state.pages,
        });
        // The log's head, then the entries as streamed: `{"version": …, "entries": [ … ]}`.
        let head = serde_json::to_string(&head).map_err(|e| e.to_string())?;
        let head = head.strip_suffix('}').unwrap_or(&head);
        write!(out, "{{\"log\":{head},\"entries\":[").map_err(fail)?;
        let mut entries = File::open(&self.entries_path).map_err(fail)?;
        // In the order sent; the sort is stable, so a trial's own order stands.
        state.index.sort_by_key(|(sent, _, _)| *sent);
        let mut line = Vec::new();
        for (i, (_, at, len)) in state.index.iter().enumerate() {
            line.resize(*len as usize, 0);
            entries.seek(SeekFrom::Start(*at)).map_err(fail)?;
            entries.read_exact(&mut line).map_err(fail)?;
            out.write_all(if i == 0 { b"\n" } else { b",\n" })
                .map_err(fail)?;
            out.write_all(&line).map_err(fail)?;
        }
        out.write_all(b"\n]}}\n").map_err(fail)?;
        out.into_inner()
            .map_err(|e| fail(e.into_error()))?
            .sync_all()
            .map_err(fail)?;
        std::fs::rename(&part, &self.path).map_err(fail)?;
        Ok(Written {
            path: self.path.clone(),
            entries: state.written,
            pages: state.pages.len(),
            withheld: state.withheld,
            left_out: state.left_out,
            flagged: state.flagged.clone(),
        })
    }

    /// The base URL and the secrets to scrub, once known.
    fn known(&self) -> Option<&Known> {
        if let Some(k) = self.known.get() {
            return Some(k);
        }
        let (base, creds) = (self.target)()?;
        Some(self.known.get_or_init(|| Known {
            base,
            secrets: Secrets::from_credentials(&creds),
            creds,
        }))
    }
}

impl Observer for HarWriter {
    fn exchange(&self, trial: Option<&str>, ex: &Exchange) {
        let Some(known) = self.known() else {
            return;
        };
        let page = trial.unwrap_or(CLEANUP_PAGE);
        let sent = Instant::now()
            .checked_sub(ex.elapsed)
            .unwrap_or_else(Instant::now);
        let started = started_at(ex);
        // The values the request carried: a wrong or near-miss credential a trial sent on
        // purpose is scrubbed wherever it comes back too.
        let values: Vec<Option<String>> = ex
            .request
            .headers
            .iter()
            .map(|(_, v)| v.resolve(&known.creds))
            .collect();
        let learned;
        let secrets = if ex
            .request
            .headers
            .iter()
            .any(|(n, v)| is_credential_header(n) || !matches!(v, HeaderValue::Literal(_)))
        {
            let mut s = known.secrets.clone();
            for ((name, value), text) in ex.request.headers.iter().zip(&values) {
                let Some(text) = text else { continue };
                if is_credential_header(name) {
                    s.learn_from_headers(&[(name.clone(), RawHeader::Text(text.clone()))]);
                } else if !matches!(value, HeaderValue::Literal(_)) {
                    s.add("a credential derived from a configured one", text);
                }
            }
            learned = s;
            &learned
        } else {
            &known.secrets
        };
        let mut entry = entry(&known.base, page, started.clone(), ex, &values, secrets);
        let mut line = serde_json::to_string(&entry).unwrap_or_default();
        let mut found = scan_readable(&line, secrets);
        let withheld = !found.is_empty();
        if withheld {
            let what: Vec<String> = found.iter().map(|l| l.what.clone()).collect();
            entry.withhold_bodies();
            line = serde_json::to_string(&entry).unwrap_or_default();
            found = scan_readable(&line, secrets);
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.flagged.len() < 5 {
                state.flagged.push(format!("{page}: {}", what.join(", ")));
            }
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !found.is_empty() {
            state.left_out += 1;
            return;
        }
        state.withheld += usize::from(withheld);
        let at = match state.page_of.get(page) {
            Some(&i) => i,
            None => {
                let i = state.pages.len();
                state.pages.push(Page::new(page, &started));
                state.page_of.insert(Arc::from(page), i);
                i
            }
        };
        // Exchanges finish out of order: a page starts with its earliest request.
        if started < state.pages[at].started_date_time {
            state.pages[at].started_date_time = started.clone();
        }
        if state.error.is_some() {
            return;
        }
        let (at, len) = (state.offset, line.len());
        match writeln!(state.entries, "{line}") {
            Ok(()) => {
                state.offset += len as u64 + 1;
                state.index.push((sent, at, len as u32));
                state.written += 1;
            }
            Err(e) => {
                state.error = Some(format!("cannot write {}: {e}", self.entries_path.display()))
            }
        }
    }
}

/// `path` with `.suffix` added to its name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// When the request went out: now, less what the exchange took; UTC to the millisecond, in
/// one fixed width so that the texts compare as the times do.
fn started_at(ex: &Exchange) -> String {
    let at = OffsetDateTime::now_utc() - ex.elapsed;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || n.starts_with("x-auth-")
}

/// What a credential header shows, given the value sent: never the value, only the shape a
/// replay needs (a well-formed bearer, an email address).
fn credential_placeholder(name: &str, sent: Option<&str>) -> String {
    let sent = sent.unwrap_or("");
    match name.to_ascii_lowercase().as_str() {
        "authorization" | "proxy-authorization" => {
            let bearer = sent.strip_prefix("Bearer ").is_some_and(|token| {
                !token.is_empty()
                    && token
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
            });
            if bearer {
                format!("Bearer {REDACTED}")
            } else {
                REDACTED.into()
            }
        }
        "x-auth-email" if sent.contains('@') && holds_email(sent) => REDACTED_EMAIL.into(),
        _ => REDACTED.into(),
    }
}

/// One exchange as a HAR entry; `values` are the request's header values as sent.
fn entry(
    base: &str,
    page: &str,
    started: String,
    ex: &Exchange,
    values: &[Option<String>],
    secrets: &Secrets,
) -> Entry {
    let req = &ex.request;
    let path = secrets.scrub_text(&req.path);
    let query: Vec<NameValue> = req
        .query
        .iter()
        .map(|(k, v)| NameValue::new(secrets.scrub_text(k), secrets.scrub_text(v)))
        .collect();
    let mut url = format!("{}{path}", base.trim_end_matches('/'));
    if !query.is_empty() {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for q in &query {
            pairs.append_pair(&q.name, &q.value);
        }
        url.push('?');
        url.push_str(&pairs.finish());
    }
    let mut headers: Vec<NameValue> = req
        .headers
        .iter()
        .zip(values)
        .map(|((name, value), sent)| {
            let shown = match value {
                HeaderValue::Literal(t) if !is_credential_header(name) => secrets.scrub_text(t),
                _ => credential_placeholder(name, sent.as_deref()),
            };
            NameValue::new(name.clone(), shown)
        })
        .collect();
    let (mime, sent) = match &req.body {
        None => (None, None),
        Some(Body::Json(v)) => (
            Some("application/json".to_string()),
            Some(serde_json::to_vec(v).unwrap_or_default()),
        ),
        Some(Body::Raw {
            content_type,
            bytes,
        }) => (content_type.clone(), Some(bytes.clone())),
    };
    if let Some(m) = &mime
        && !headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("content-type"))
    {
        headers.push(NameValue::new("content-type".into(), m.clone()));
    }
    let post_data = sent.map(|bytes| {
        let (text, encoding) = as_text(secrets.scrub_bytes(&bytes));
        PostData {
            mime_type: mime.clone().unwrap_or_default(),
            text,
            encoding,
        }
    });
    let resp = &ex.response;
    let response_headers: Vec<NameValue> = resp
        .headers
        .iter()
        .map(|(n, v)| {
            let shown = if is_credential_header(n) {
                REDACTED.to_string()
            } else {
                secrets.scrub_text(v)
            };
            NameValue::new(n.clone(), shown)
        })
        .collect();
    let body = secrets.scrub_bytes(&resp.body);
    let size = body.len();
    let (text, encoding) = as_text(body);
    let ms = ex.elapsed.as_secs_f64() * 1000.0;
    let ms = (ms * 1000.0).round() / 1000.0;
    Entry {
        pageref: page.to_string(),
        started_date_time: started,
        time: ms,
        request: HarRequest {
            method: req.method.clone(),
            url,
            http_version: "HTTP/1.1",
            cookies: [],
            headers,
            query_string: query,
            body_size: post_data.as_ref().map_or(0, |p| p.text.len() as i64),
            post_data,
            headers_size: -1,
        },
        response: HarResponse {
            status: resp.status,
            status_text: reqwest::StatusCode::from_u16(resp.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_string(),
            http_version: "HTTP/1.1",
            cookies: [],
            content: Content {
                size,
                mime_type: resp.header("content-type").unwrap_or("").to_string(),
                text,
                encoding,
            },
            headers: response_headers,
            redirect_url: resp.header("location").unwrap_or("").to_string(),
            headers_size: -1,
            body_size: size as i64,
        },
        cache: Empty {},
        timings: Timings {
            blocked: -1.0,
            dns: -1.0,
            connect: -1.0,
            ssl: -1.0,
            send: 0.0,
            wait: ms,
            receive: 0.0,
        },
    }
}

/// UTF-8 as text, anything else as base64.
fn as_text(bytes: Vec<u8>) -> (String, Option<&'static str>) {
    match String::from_utf8(bytes) {
        Ok(t) => (t, None),
        Err(e) => (
            base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
            Some("base64"),
        ),
    }
}

// The HAR 1.2 shapes this writer fills (http://www.softwareishard.com/blog/har-12-spec/).
// `import-har` reads any tool's HAR loosely, as JSON; these are only what is written.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    started_date_time: String,
    id: String,
    title: String,
    page_timings: PageTimings,
}

impl Page {
    fn new(name: &str, started: &str) -> Page {
        Page {
            started_date_time: started.to_string(),
            id: name.to_string(),
            title: if name == CLEANUP_PAGE {
                "cleanup: the requests sent after the trials, deleting what the run created".into()
            } else {
                name.to_string()
            },
            page_timings: PageTimings {
                on_content_load: -1.0,
                on_load: -1.0,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageTimings {
    on_content_load: f64,
    on_load: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    pageref: String,
    started_date_time: String,
    time: f64,
    request: HarRequest,
    response: HarResponse,
    cache: Empty,
    timings: Timings,
}

impl Entry {
    fn withhold_bodies(&mut self) {
        if let Some(p) = &mut self.request.post_data {
            p.text = WITHHELD.into();
            p.encoding = None;
        }
        self.response.content.text = WITHHELD.into();
        self.response.content.encoding = None;
    }
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest {
    method: String,
    url: String,
    http_version: &'static str,
    cookies: [Empty; 0],
    headers: Vec<NameValue>,
    query_string: Vec<NameValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_data: Option<PostData>,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarResponse {
    status: u16,
    status_text: String,
    http_version: &'static str,
    cookies: [Empty; 0],
    headers: Vec<NameValue>,
    content: Content,
    #[serde(rename = "redirectURL")]
    redirect_url: String,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
struct NameValue {
    name: String,
    value: String,
}

impl NameValue {
    fn new(name: String, value: String) -> NameValue {
        NameValue { name, value }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostData {
    mime_type: String,
    text: String,
    /// Not in HAR 1.2's postData, but read by `import-har` and by tools that write it.
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    size: usize,
    mime_type: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

#[derive(Serialize)]
struct Timings {
    blocked: f64,
    dns: f64,
    connect: f64,
    ssl: f64,
    send: f64,
    wait: f64,
    receive: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Request, Response, SecretRef};
    use serde_json::{Value, json};
    use std::time::Duration;

    const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
    const WRONG: &str = "wrongwrongwrongwrongwrongwrong12";
    const EMAIL: &str = "ops@corp.example";

    fn creds() -> Credentials {
        Credentials {
            token: Some(TOKEN.into()),
            email: Some(EMAIL.into()),
            api_key: Some("144c9defac04969c7bfad8efaa8ea194".into()),
        }
    }

    fn exchange(headers: Vec<(&str, HeaderValue)>, body: Option<Body>, answer: &[u8]) -> Exchange {
        let mut request = Request::new("POST", "/zones/z/custom_csrs");
        request.query = vec![("who".into(), EMAIL.into()), ("page".into(), "2".into())];
        request.headers = headers.into_iter().map(|(n, v)| (n.into(), v)).collect();
        request.body = body;
        Exchange {
            request,
            response: Response::new(
                400,
                vec![
                    ("content-type".into(), "application/json".into()),
                    ("set-cookie".into(), "__cflb=abcdefgh12345678".into()),
                ],
                answer.to_vec(),
            ),
            elapsed: Duration::from_millis(12),
        }
    }

    fn written(exchanges: &[(Option<&str>, Exchange)]) -> (Written, String) {
        let dir = std::env::temp_dir().join(format!("csr-har-out-{}", uuid::Uuid::new_v4()));
        let path = dir.join("deeper/run.har");
        let writer = HarWriter::create(
            &path,
            Box::new(|| Some(("http://127.0.0.1:9/client/v4".into(), creds()))),
        )
        .unwrap();
        for (trial, ex) in exchanges {
            writer.exchange(*trial, ex);
        }
        let written = writer.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "only the HAR file is left: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
        (written, text)
    }

    #[test]
    fn a_har_log_with_pages_per_trial_and_nothing_secret() {
        let secret = |prefix: &str, secret| HeaderValue::Secret {
            prefix: prefix.into(),
            secret,
        };
        let a = exchange(
            vec![
                ("Authorization", secret("Bearer ", SecretRef::Token)),
                ("X-Auth-Email", secret("", SecretRef::Email)),
                ("X-Auth-Key", secret("", SecretRef::ApiKey)),
                ("X-Trace", HeaderValue::Literal(format!("t {TOKEN}"))),
            ],
            Some(Body::Json(
                json!({"organization": format!("{EMAIL} {TOKEN}")}),
            )),
            format!("{{\"errors\": [{{\"message\": \"bad {TOKEN}\"}}]}}").as_bytes(),
        );
        let b = exchange(
            vec![(
                "Authorization",
                HeaderValue::Literal(format!("Bearer {WRONG}")),
            )],
            Some(Body::Raw {
                content_type: Some("application/octet-stream".into()),
                bytes: vec![0xff, 0xfe, b'x'],
            }),
            format!("echo {WRONG}").as_bytes(),
        );
        let c = exchange(
            vec![
                (
                    "authorization",
                    HeaderValue::Literal("Basic Zm9vOmJhcg==".into()),
                ),
                (
                    "X-Auth-Email",
                    HeaderValue::Literal("not-an-address".into()),
                ),
            ],
            None,
            &[0xc3, 0x28],
        );
        // A near miss of the token: shown as the bearer it is, and scrubbed where it comes
        // back.
        let near = crate::near_miss::Edit::LastChanged.apply(TOKEN).unwrap();
        let d = exchange(
            vec![(
                "Authorization",
                HeaderValue::Derived {
                    prefix: "Bearer ".into(),
                    secret: SecretRef::Token,
                    edit: crate::near_miss::Edit::LastChanged,
                },
            )],
            None,
            format!("no such token {near}").as_bytes(),
        );
        let (written, text) = written(&[
            (Some("auth::zone::x"), a),
            (Some("auth::zone::y"), b),
            (None, c),
            (Some("auth::zone::near"), d),
        ]);
        assert_eq!((written.entries, written.pages), (4, 4));
        let near_stem = &near[..near.len() - 1];
        for leaked in [
            near_stem,
            TOKEN,
            EMAIL,
            WRONG,
            "abcdefgh",
            "Zm9vOmJhcg",
            "not-an-address",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert!(scan_readable(&text, &Secrets::from_credentials(&creds())).is_empty());
        let har: Value = serde_json::from_str(&text).unwrap();
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["creator"]["name"], "csr-conformance");
        assert_eq!(log["creator"]["version"], env!("CARGO_PKG_VERSION"));
        let pages: Vec<&str> = log["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            pages,
            vec![
                "auth::zone::x",
                "auth::zone::y",
                CLEANUP_PAGE,
                "auth::zone::near"
            ]
        );
        let entries = log["entries"].as_array().unwrap();
        let e = &entries[0];
        assert_eq!(e["pageref"], "auth::zone::x");
        assert_eq!(
            e["request"]["url"],
            "http://127.0.0.1:9/client/v4/zones/z/custom_csrs?who=%5BREDACTED%5D&page=2"
        );
        let headers = |e: &Value, side: &str| -> Vec<(String, String)> {
            e[side]["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["name"].as_str().unwrap().into(),
                        h["value"].as_str().unwrap().into(),
                    )
                })
                .collect()
        };
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(
            headers(e, "request"),
            vec![
                pair("Authorization", "Bearer [REDACTED]"),
                pair("X-Auth-Email", "[REDACTED-EMAIL]"),
                pair("X-Auth-Key", "[REDACTED]"),
                pair("X-Trace", "t [REDACTED]"),
                pair("content-type", "application/json"),
            ]
        );
        assert!(headers(e, "response").contains(&pair("set-cookie", "[REDACTED]")));
        assert_eq!(e["time"], 12.0);
        assert_eq!(e["timings"]["wait"], 12.0);
        assert!(e["startedDateTime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(e["response"]["status"], 400);
        assert_eq!(e["response"]["statusText"], "Bad Request");
        // Bytes that are not UTF-8 go as base64; a wrong token sent on purpose is scrubbed
        // where it comes back.
        assert_eq!(entries[1]["request"]["postData"]["encoding"], "base64");
        assert_eq!(entries[1]["response"]["content"]["text"], "echo [REDACTED]");
        assert_eq!(
            headers(&entries[1], "request")[0],
            pair("Authorization", "Bearer [REDACTED]")
        );
        assert_eq!(entries[2]["response"]["content"]["encoding"], "base64");
        assert_eq!(
            headers(&entries[2], "request"),
            vec![
                pair("authorization", "[REDACTED]"),
                pair("X-Auth-Email", "[REDACTED]")
            ]
        );

        // import-har reads it back, with the credentials' shapes.
        let imported = super::super::har::parse(text.as_bytes()).unwrap();
        assert_eq!(imported.creator.as_deref(), Some("csr-conformance"));
        assert_eq!(imported.exchanges.len(), 4);
        assert_eq!(imported.pages[2].as_deref(), Some(CLEANUP_PAGE));
        let shape = |i: usize| {
            super::super::redact::scrub(&imported.exchanges[i], &Secrets::default()).auth
        };
        assert_eq!(
            (shape(0).bearer, shape(0).email, shape(0).key),
            (Some(true), Some(true), true)
        );
        assert_eq!(shape(1).bearer, Some(true));
        assert_eq!(
            (shape(2).bearer, shape(2).email),
            (Some(false), Some(false))
        );
        assert_eq!(shape(3).bearer, Some(true));
        assert_eq!(
            entries[3]["response"]["content"]["text"],
            "no such token [REDACTED]"
        );
    }

    #[test]
    fn entries_go_in_the_order_sent_and_flagged_bodies_are_withheld() {
        let mut slow = exchange(vec![], None, b"{}");
        slow.elapsed = Duration::from_millis(400);
        let quick = exchange(vec![], None, b"{}");
        let shaped = exchange(
            vec![],
            None,
            format!("{{\"x\": \"{}\"}}", "0a1b2c3d4".repeat(4) + "e").as_bytes(),
        );
        let (written, text) =
            written(&[(Some("b"), quick), (Some("a"), slow), (Some("c"), shaped)]);
        let har: Value = serde_json::from_str(&text).unwrap();
        let pagerefs: Vec<&str> = har["log"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pageref"].as_str().unwrap())
            .collect();
        assert_eq!(pagerefs[0], "a", "sent first, finished last");
        assert_eq!(written.withheld, 1);
        assert!(
            written
                .to_string()
                .contains("c: something shaped like a Cloudflare global API key"),
            "{written}"
        );
        assert!(text.contains(WITHHELD));
        let imported = super::super::har::parse(text.as_bytes()).unwrap();
        assert_eq!(imported.exchanges.len(), 2);
        assert_eq!(
            imported.skipped.keys().collect::<Vec<_>>(),
            vec!["bodies withheld by csr-conformance's credential scan"]
        );
    }

    #[test]
    fn a_path_that_cannot_be_written_is_an_error_before_any_trial() {
        let file = std::env::temp_dir().join(format!("csr-har-file-{}", uuid::Uuid::new_v4()));
        std::fs::write(&file, "").unwrap();
        let e = HarWriter::create(&file.join("run.har"), Box::new(|| None))
            .err()
            .unwrap();
        assert!(e.starts_with("cannot "), "{e}");
        std::fs::remove_file(&file).unwrap();
    }
}
