//! A JUnit XML report that validates against Jenkins' `junit-10.xsd`
//! (`harness/tests/data/junit-10.xsd`), written by hand on quick-xml because quick-junit emits
//! attributes that schema rejects.
//!
//! Everything a target sent is untrusted, so every string goes through [`Sanitizer`] on its way
//! out: configured secret values become `[REDACTED]`, and characters XML 1.0 can't hold
//! (and terminal escape sequences) are dropped, so the file stays well-formed whatever came back.

use std::borrow::Cow;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use quick_xml::Writer;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::QName;
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use crate::model::{
    Attempt, Body, Exchange, Finding, HeaderValue, Outcome, Request, Response, Verdict,
};
use crate::report::repro::percent_encode;
use crate::report::text::{exchange_line, failure_text, reproduce_line, summary_line};

pub const REDACTED: &str = "[REDACTED]";

/// What the report says about the run as a whole.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The `<testsuites name>` and every suite's `package`, e.g. `csr-conformance`.
    pub name: String,
    pub base_url: String,
    /// `embedded emulator` or the target's URL.
    pub target: String,
    /// Values that must not appear anywhere in the file.
    pub secrets: Vec<String>,
    /// Extra `<property>`s on every suite, e.g. scopes, read_only, seed.
    pub properties: Vec<(String, String)>,
    pub timestamp: OffsetDateTime,
}

/// One `<testcase>` already written out, with what its suite's counts need: the report is
/// built from these as trials finish, so a run's memory does not grow with its exchanges.
#[derive(Debug, Clone)]
pub struct CaseXml {
    pub suite: String,
    pub tally: Tally,
    pub time: Duration,
    /// The `<testcase>` element, cleaned and escaped.
    pub xml: String,
}

/// How a testcase counts in its suite's attributes. A flaky case counts as passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    Pass,
    Failure,
    Error,
    Skipped,
}

/// What the report header says: the root's name, and each suite's properties, timestamp and
/// host.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub properties: Vec<(String, String)>,
    pub timestamp: String,
    pub hostname: String,
}

impl RunInfo {
    pub fn header(&self) -> Header {
        let mut properties = vec![
            ("base_url".to_string(), self.base_url.clone()),
            ("target".to_string(), self.target.clone()),
        ];
        properties.extend(self.properties.iter().cloned());
        Header {
            name: self.name.clone(),
            properties,
            timestamp: timestamp(self.timestamp),
            hostname: hostname(),
        }
    }
}

/// Writes one outcome's `<testcase>`; secrets of `run` are redacted.
pub fn render_case(outcome: &Outcome, run: &RunInfo) -> CaseXml {
    let clean = Sanitizer::new(&run.secrets);
    let outcome = clean.outcome(outcome);
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing to a Vec cannot fail.
    let _ = write_case(&mut w, &outcome, run, &clean);
    CaseXml {
        tally: match outcome.verdict {
            Verdict::Pass => Tally::Pass,
            Verdict::Failure(_) => Tally::Failure,
            Verdict::Error(_) => Tally::Error,
            Verdict::Skipped(_) => Tally::Skipped,
        },
        suite: outcome.suite,
        time: outcome.duration,
        xml: String::from_utf8_lossy(&w.into_inner()).into_owned(),
    }
}

/// A copy of `outcome` with `secrets` redacted and what XML cannot carry removed, as its
/// `<testcase>` is written: other reporters (the HTML page) start from the same clean text.
pub fn clean_outcome(outcome: &Outcome, secrets: &[String]) -> Outcome {
    Sanitizer::new(secrets).outcome(outcome)
}

/// `text` with `secrets` redacted and what XML cannot carry removed.
pub fn clean_text(text: &str, secrets: &[String]) -> String {
    Sanitizer::new(secrets).text(text)
}

/// Writes the report for `outcomes`: one `<testsuite>` per distinct `Outcome::suite`, in the
/// order suites first appear.
pub fn write_junit(outcomes: &[Outcome], run: &RunInfo, out: impl Write) -> io::Result<()> {
    let cases: Vec<CaseXml> = outcomes.iter().map(|o| render_case(o, run)).collect();
    write_cases(&cases, &run.header(), &Sanitizer::new(&run.secrets), out)
}

/// Writes a report of rendered testcases (see [`write_junit`]).
pub fn write_report(cases: &[CaseXml], header: &Header, out: impl Write) -> io::Result<()> {
    write_cases(cases, header, &Sanitizer::new(&[]), out)
}

fn write_cases(
    cases: &[CaseXml],
    header: &Header,
    clean: &Sanitizer,
    out: impl Write,
) -> io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    // Cleaned before grouping, so two suite names that differ only in stripped characters
    // become one suite instead of two suites with the same name.
    let mut suites: Vec<(String, Vec<&CaseXml>)> = Vec::new();
    for case in cases {
        let suite = clean.text(&case.suite);
        match suites.iter_mut().find(|(name, _)| *name == suite) {
            Some((_, members)) => members.push(case),
            None => suites.push((suite, vec![case])),
        }
    }
    // A report of a run that judged nothing still records the run: one empty suite, with the
    // run's properties (which say why), so CI shows an empty run as what it is.
    if suites.is_empty() {
        suites.push((clean.text(&header.name), Vec::new()));
    }
    let total = Counts::of(cases.iter());
    let root = start(
        "testsuites",
        clean,
        &[
            ("name", &header.name),
            ("tests", &total.tests.to_string()),
            ("failures", &total.failures.to_string()),
            ("errors", &total.errors.to_string()),
            ("time", &seconds(total.time)),
        ],
    );
    w.write_event(Event::Start(root))?;
    write_suites(&mut w, &suites, header, clean)?;
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    w.get_mut().write_all(b"\n")?;
    w.get_mut().flush()
}

fn write_suites<W: Write>(
    w: &mut Writer<W>,
    suites: &[(String, Vec<&CaseXml>)],
    header: &Header,
    clean: &Sanitizer,
) -> io::Result<()> {
    for (id, (suite, cases)) in suites.iter().enumerate() {
        let counts = Counts::of(cases.iter().copied());
        w.write_event(Event::Start(start(
            "testsuite",
            clean,
            &[
                ("name", suite),
                ("tests", &counts.tests.to_string()),
                ("failures", &counts.failures.to_string()),
                ("errors", &counts.errors.to_string()),
                ("skipped", &counts.skipped.to_string()),
                ("time", &seconds(counts.time)),
                ("timestamp", &header.timestamp),
                ("hostname", &header.hostname),
                ("id", &id.to_string()),
                ("package", &header.name),
            ],
        )))?;

        // junit-10.xsd has no <properties> on <testcase>, so run-wide facts live on each suite
        // (readers show suite properties) and per-case seeds go to the case's <system-out>.
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for (name, value) in &header.properties {
            w.write_event(Event::Empty(start(
                "property",
                clean,
                &[("name", name), ("value", value)],
            )))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;

        for case in cases {
            w.get_mut().write_all(b"\n    ")?;
            w.get_mut().write_all(case.xml.as_bytes())?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    Ok(())
}

/// [`write_junit`] to `path`, creating its directory. The report is written to a temporary file
/// next to it and renamed into place, so a crash or a full disk never leaves half a report where
/// CI will look for one.
pub fn write_junit_file(outcomes: &[Outcome], run: &RunInfo, path: &Path) -> io::Result<()> {
    write_file(path, |out| write_junit(outcomes, run, out))
}

/// [`write_report`] to `path`, as [`write_junit_file`] does.
pub fn write_report_file(cases: &[CaseXml], header: &Header, path: &Path) -> io::Result<()> {
    write_file(path, |out| write_report(cases, header, out))
}

/// `text` to `path` as the reports are written: the directory created, a temporary file
/// renamed into place.
pub fn write_text_file(path: &Path, text: &str) -> io::Result<()> {
    write_file(path, |out| out.write_all(text.as_bytes()))
}

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a file path: {}", path.display()),
        )
    })?;
    // Unique per process and per call, so concurrent writers never share a temporary file.
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let file = fs::File::create(&tmp)?;
        let mut buf = BufWriter::new(file);
        write(&mut buf)?;
        let file = buf.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_case<W: Write>(
    w: &mut Writer<W>,
    outcome: &Outcome,
    run: &RunInfo,
    clean: &Sanitizer,
) -> io::Result<()> {
    let case = start(
        "testcase",
        clean,
        &[
            ("name", &outcome.name),
            ("classname", &outcome.suite),
            ("time", &seconds(outcome.duration)),
        ],
    );
    let system_out = system_out(outcome);
    if matches!(outcome.verdict, Verdict::Pass)
        && system_out.is_empty()
        && outcome.retries.is_empty()
    {
        return w.write_event(Event::Empty(case));
    }
    w.write_event(Event::Start(case))?;
    match &outcome.verdict {
        Verdict::Pass => {}
        Verdict::Failure(_) => element(
            w,
            clean,
            "failure",
            &[("message", &summary_line(outcome)), ("type", "contract")],
            &failure_text(outcome, &run.base_url),
        )?,
        Verdict::Error(_) => element(
            w,
            clean,
            "error",
            &[("message", &summary_line(outcome)), ("type", "error")],
            &failure_text(outcome, &run.base_url),
        )?,
        Verdict::Skipped(reason) => {
            w.write_event(Event::Empty(start(
                "skipped",
                clean,
                &[("message", reason)],
            )))?;
        }
    }
    // Surefire's forms: earlier attempts of a flaky case are flaky*, of a case that never
    // passed rerun*; both carry the attempt's report as a stack trace.
    for attempt in &outcome.retries {
        let name = match (outcome.is_flaky(), attempt.error) {
            (true, false) => "flakyFailure",
            (true, true) => "flakyError",
            (false, false) => "rerunFailure",
            (false, true) => "rerunError",
        };
        let kind = if attempt.error { "error" } else { "contract" };
        w.write_event(Event::Start(start(
            name,
            clean,
            &[("message", &attempt.summary), ("type", kind)],
        )))?;
        element(w, clean, "stackTrace", &[], &attempt.details)?;
        w.write_event(Event::End(BytesEnd::new(name)))?;
    }
    if !system_out.is_empty() {
        element(w, clean, "system-out", &[], &system_out)?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

/// Every exchange of the case, one line each, every wait for a 429, and the seed: what a
/// reader of a passing case needs to see what was actually exercised.
fn system_out(outcome: &Outcome) -> String {
    let mut lines: Vec<String> = outcome.exchanges.iter().map(exchange_line).collect();
    for wait in &outcome.waits {
        lines.push(format!("rate limited: {wait}"));
    }
    if outcome.is_flaky() {
        lines.push(format!(
            "flaky: passed on attempt {} of {}",
            outcome.retries.len() + 1,
            outcome.retries.len() + 1
        ));
    }
    if matches!(outcome.verdict, Verdict::Pass | Verdict::Skipped(_)) {
        lines.extend(outcome.notes.iter().map(|(k, v)| format!("{k}: {v}")));
    }
    if let Some(seed) = outcome.seed {
        lines.push(format!("seed: {seed}"));
        lines.push(reproduce_line(seed, &outcome.name));
    }
    lines.join("\n")
}

fn element<W: Write>(
    w: &mut Writer<W>,
    clean: &Sanitizer,
    name: &str,
    attrs: &[(&str, &str)],
    text: &str,
) -> io::Result<()> {
    w.write_event(Event::Start(start(name, clean, attrs)))?;
    let text = clean.text(text);
    // `\r` would be read back as `\n` (XML end-of-line handling); a reference keeps it.
    let escaped = quick_xml::escape::partial_escape(text.as_str()).replace('\r', "&#13;");
    w.write_event(Event::Text(BytesText::from_escaped(escaped)))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn start<'a>(name: &'a str, clean: &Sanitizer, attrs: &[(&str, &str)]) -> BytesStart<'a> {
    let mut el = BytesStart::new(name);
    for (key, value) in attrs {
        el.push_attribute(Attribute {
            key: QName(key.as_bytes()),
            value: Cow::Owned(attr_escape(&clean.text(value)).into_bytes()),
        });
    }
    el
}

/// Attribute values are whitespace-normalised by every XML reader, so tabs and line breaks are
/// written as character references to survive the round trip.
fn attr_escape(s: &str) -> String {
    let escaped = quick_xml::escape::escape(s);
    let mut out = String::with_capacity(escaped.len());
    for c in escaped.chars() {
        match c {
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time: Duration,
}

impl Counts {
    fn of<'a>(cases: impl Iterator<Item = &'a CaseXml>) -> Counts {
        let mut c = Counts::default();
        for case in cases {
            c.tests += 1;
            c.time += case.time;
            match case.tally {
                Tally::Pass => {}
                Tally::Failure => c.failures += 1,
                Tally::Error => c.errors += 1,
                Tally::Skipped => c.skipped += 1,
            }
        }
        c
    }
}

/// Seconds with three decimals, which fits the schema's SUREFIRE_TIME pattern (no exponent,
/// no unit).
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// ISO 8601 in UTC without an offset (`2026-11-27T11:15:46`): the form Ant and Surefire write,
/// which every JUnit reader parses; the stricter Ant schema rejects an offset.
fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}

/// Redacts secrets and removes what XML can't carry.
struct Sanitizer {
    /// Each secret in the spellings it could appear in (as is, percent-encoded in a URL,
    /// JSON-escaped in a body), longest first so a secret containing another is replaced whole.
    needles: Vec<String>,
}

impl Sanitizer {
    fn new(secrets: &[String]) -> Sanitizer {
        let mut needles: Vec<String> = Vec::new();
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            let json = serde_json::to_string(s).unwrap_or_default();
            let json = json
                .strip_prefix('"')
                .and_then(|j| j.strip_suffix('"'))
                .unwrap_or_default()
                .to_string();
            for variant in [s.clone(), percent_encode(s), json] {
                if !variant.is_empty() && !needles.contains(&variant) {
                    needles.push(variant);
                }
            }
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Sanitizer { needles }
    }

    /// Redacts before and after stripping: a secret could be split by an escape sequence the
    /// stripping removes, and the stripping must not be able to reassemble one either.
    fn text(&self, s: &str) -> String {
        let redacted = self.redact(s);
        let stripped = strip_for_xml(&redacted);
        self.redact(&stripped).into_owned()
    }

    /// A copy of `o` with every string cleaned, so texts rendered from it (excerpts cut at a
    /// character count, curl lines, request lines) start from clean input: a secret split by an
    /// escape sequence is reassembled before redaction instead of being rendered in pieces.
    fn outcome(&self, o: &Outcome) -> Outcome {
        let t = |s: &String| self.text(s);
        Outcome {
            name: t(&o.name),
            suite: t(&o.suite),
            verdict: match &o.verdict {
                Verdict::Pass => Verdict::Pass,
                Verdict::Error(m) => Verdict::Error(t(m)),
                Verdict::Skipped(m) => Verdict::Skipped(t(m)),
                Verdict::Failure(findings) => Verdict::Failure(
                    findings
                        .iter()
                        .map(|f| Finding {
                            rule: t(&f.rule),
                            pointer: t(&f.pointer),
                            expected: t(&f.expected),
                            actual: t(&f.actual),
                            message: t(&f.message),
                        })
                        .collect(),
                ),
            },
            exchanges: o
                .exchanges
                .iter()
                .map(|ex| {
                    // Only failures and errors quote bodies; a passing case shows request
                    // lines alone, so its (possibly huge) bodies are not worth cleaning.
                    let quoted = matches!(o.verdict, Verdict::Failure(_) | Verdict::Error(_));
                    Exchange {
                        request: self.request(&ex.request, quoted),
                        response: Response::new(
                            ex.response.status,
                            ex.response
                                .headers
                                .iter()
                                .map(|(k, v)| (t(k), t(v)))
                                .collect(),
                            if quoted {
                                t(&String::from_utf8_lossy(&ex.response.body).into_owned())
                                    .into_bytes()
                            } else {
                                Vec::new()
                            },
                        ),
                        elapsed: ex.elapsed,
                    }
                })
                .collect(),
            duration: o.duration,
            seed: o.seed,
            notes: o.notes.iter().map(|(k, v)| (t(k), t(v))).collect(),
            retries: o
                .retries
                .iter()
                .map(|a| Attempt {
                    error: a.error,
                    summary: t(&a.summary),
                    details: t(&a.details),
                })
                .collect(),
            waits: o.waits.iter().map(t).collect(),
        }
    }

    /// A cleaned copy of `r`; its body only when `with_body`.
    fn request(&self, r: &Request, with_body: bool) -> Request {
        let t = |s: &String| self.text(s);
        Request {
            method: t(&r.method),
            path: t(&r.path),
            query: r.query.iter().map(|(k, v)| (t(k), t(v))).collect(),
            headers: r
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = match value {
                        HeaderValue::Literal(v) => HeaderValue::Literal(t(v)),
                        HeaderValue::Secret { prefix, secret } => HeaderValue::Secret {
                            prefix: t(prefix),
                            secret: *secret,
                        },
                        HeaderValue::Derived {
                            prefix,
                            secret,
                            edit,
                        } => HeaderValue::Derived {
                            prefix: t(prefix),
                            secret: *secret,
                            edit: *edit,
                        },
                    };
                    (t(name), value)
                })
                .collect(),
            body: r
                .body
                .as_ref()
                .filter(|_| with_body)
                .map(|body| match body {
                    Body::Json(v) => Body::Json(self.json(v)),
                    // Raw bytes are kept byte for byte (the curl line escapes them) except for
                    // secrets; stripping would change what the reproduction sends.
                    Body::Raw {
                        content_type,
                        bytes,
                    } => Body::Raw {
                        content_type: content_type.as_ref().map(t),
                        bytes: self.needles.iter().fold(bytes.clone(), |b, n| {
                            replace_bytes(&b, n.as_bytes(), REDACTED.as_bytes())
                        }),
                    },
                }),
        }
    }

    fn json(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.json(i)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn redact<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(s);
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), REDACTED));
            }
        }
        out
    }
}

/// Drops ANSI escape sequences (CSI `ESC [ … final`, string sequences such as OSC
/// `ESC ] … BEL|ESC \`, and two-character `ESC x`), then every control character other than
/// tab, line feed and carriage return (which covers what XML 1.0 forbids), and the
/// non-characters U+FFFE and U+FFFF, which XML 1.0 forbids as well.
fn strip_for_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    // Parameter and intermediate bytes, then one final byte; anything else
                    // means a broken sequence, and the text after it is kept.
                    while let Some(&n) = chars.peek() {
                        if ('\u{20}'..='\u{3f}').contains(&n) {
                            chars.next();
                        } else {
                            if ('\u{40}'..='\u{7e}').contains(&n) {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    chars.next();
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                Some(&n) if ('\u{20}'..='\u{7e}').contains(&n) => {
                    chars.next();
                }
                _ => {}
            },
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Replaces every occurrence of `needle` in `haystack`, for bodies that are not text.
pub(crate) fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if !needle.is_empty() && haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use quick_xml::Reader;
    use serde_json::json;

    use super::*;
    use crate::model::canned_exchange;

    const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit-10.xsd");
    const SECRET: &str = "tok_Sup3r-S3cret_value";

    fn run_info() -> RunInfo {
        RunInfo {
            name: "csr-conformance".into(),
            base_url: "http://127.0.0.1:8787/client/v4".into(),
            target: "embedded emulator".into(),
            secrets: vec![SECRET.into(), "ops@example.com".into()],
            properties: vec![
                ("scopes".into(), "account,zone".into()),
                ("read_only".into(), "false".into()),
                ("seed".into(), "1234".into()),
            ],
            // 2026-11-27T11:15:46Z, given in +01:00 to check the conversion to UTC.
            timestamp: OffsetDateTime::from_unix_timestamp(1_795_778_146)
                .unwrap()
                .to_offset(UtcOffset::from_hms(1, 0, 0).unwrap()),
        }
    }

    fn exchange(status: u16, body: &[u8]) -> Exchange {
        let mut request = Request::new("POST", "/zones/z1/custom_csrs").with_bearer_token();
        request.query.push(("page".into(), "1".into()));
        request.body = Some(Body::Json(json!({"common_name": "a.example"})));
        canned_exchange(request, status, Some("application/json"), body, 15)
    }

    fn outcome(name: &str, suite: &str, verdict: Verdict, millis: u64) -> Outcome {
        Outcome {
            name: name.into(),
            suite: suite.into(),
            verdict,
            exchanges: vec![],
            duration: Duration::from_millis(millis),
            seed: None,
            notes: Vec::new(),
            retries: vec![],
            waits: vec![],
        }
    }

    /// Pass, failure (two findings, two exchanges, a seed), error and skip across two suites.
    fn mixed() -> Vec<Outcome> {
        let mut failing = outcome(
            "pem::zone::fixtures.rsa_full",
            "pem",
            Verdict::Failure(vec![
                Finding::new(
                    "pem.block",
                    "/result/csr",
                    "a CERTIFICATE REQUEST block",
                    "\"-----BEGIN X\"",
                    "csr is not a PEM <block> & more",
                ),
                Finding::new(
                    "envelope.success-matches-status",
                    "",
                    "success=false",
                    "success=true",
                    "success flag contradicts status 400",
                ),
            ]),
            250,
        );
        failing.exchanges = vec![
            exchange(200, b"{\"success\":true}"),
            exchange(400, b"{\"success\":true,\"errors\":[]}"),
        ];
        failing.seed = Some(987654321);
        vec![
            outcome("pem::zone::fixtures.p256", "pem", Verdict::Pass, 1234),
            outcome(
                "envelope::account::get_missing",
                "envelope",
                Verdict::Error("connection refused (os error 111)".into()),
                2,
            ),
            failing,
            outcome(
                "envelope::account::delete",
                "envelope",
                Verdict::Skipped("read-only run".into()),
                0,
            ),
        ]
    }

    fn render(outcomes: &[Outcome], run: &RunInfo) -> String {
        let mut buf = Vec::new();
        write_junit(outcomes, run, &mut buf).expect("write to a Vec can't fail");
        String::from_utf8(buf).expect("report is UTF-8")
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "csr-conformance-junit-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// Fails (never skips) without xmllint: an unvalidated report is exactly the bug this guards.
    fn assert_schema_valid(path: &Path) {
        assert!(Path::new(XSD).is_file(), "schema missing at {XSD}");
        let out = match Command::new("xmllint")
            .args(["--noout", "--schema", XSD])
            .arg(path)
            .output()
        {
            Ok(out) => out,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                panic!("xmllint not found: install libxml2-utils (bash .ci/install)")
            }
            Err(e) => panic!("running xmllint: {e}"),
        };
        assert!(
            out.status.success(),
            "{} does not validate against junit-10.xsd:\n{}\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr),
            fs::read_to_string(path).unwrap_or_default()
        );
    }

    fn write_and_validate(name: &str, outcomes: &[Outcome], run: &RunInfo) -> String {
        let path = scratch(name).join("reports/junit.xml");
        write_junit_file(outcomes, run, &path).expect("write report");
        assert_schema_valid(&path);
        let xml = fs::read_to_string(&path).unwrap();
        let _ = fs::remove_dir_all(scratch(name));
        xml
    }

    #[derive(Debug, Default, PartialEq)]
    struct SuiteSeen {
        attrs: Vec<(String, String)>,
        cases: Vec<String>,
        failures: usize,
        errors: usize,
        skipped: usize,
        properties: Vec<(String, String)>,
    }

    impl SuiteSeen {
        fn attr(&self, name: &str) -> &str {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("testsuite has no {name}: {:?}", self.attrs))
        }
    }

    /// Reads the report back with a real XML parser; any well-formedness error fails the test.
    fn parse(xml: &str) -> (Vec<(String, String)>, Vec<SuiteSeen>, Vec<String>) {
        fn attrs(e: &BytesStart) -> Vec<(String, String)> {
            e.attributes()
                .map(|a| {
                    let a = a.expect("attribute");
                    (
                        String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                        a.unescape_value().expect("value").into_owned(),
                    )
                })
                .collect()
        }
        let mut reader = Reader::from_str(xml);
        let mut root = Vec::new();
        let mut suites: Vec<SuiteSeen> = Vec::new();
        let mut texts = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                    b"testsuites" => root = attrs(&e),
                    b"testsuite" => suites.push(SuiteSeen {
                        attrs: attrs(&e),
                        ..SuiteSeen::default()
                    }),
                    b"testcase" => {
                        let a = attrs(&e);
                        let name = a.iter().find(|(k, _)| k == "name").unwrap().1.clone();
                        suites.last_mut().unwrap().cases.push(name);
                    }
                    b"failure" => suites.last_mut().unwrap().failures += 1,
                    b"error" => suites.last_mut().unwrap().errors += 1,
                    b"skipped" => suites.last_mut().unwrap().skipped += 1,
                    b"property" => {
                        let a = attrs(&e);
                        suites
                            .last_mut()
                            .unwrap()
                            .properties
                            .push((a[0].1.clone(), a[1].1.clone()));
                    }
                    _ => {}
                },
                Event::Text(t) => texts.push(t.decode().expect("text").into_owned()),
                Event::GeneralRef(r) => {
                    texts.push(format!("&{};", String::from_utf8_lossy(&r)));
                }
                _ => {}
            }
        }
        (root, suites, texts)
    }

    #[test]
    fn mixed_report_has_right_counts_per_suite() {
        let xml = render(&mixed(), &run_info());
        let (root, suites, _) = parse(&xml);

        let get = |name: &str| root.iter().find(|(k, _)| k == name).unwrap().1.as_str();
        assert_eq!(get("name"), "csr-conformance");
        assert_eq!(get("tests"), "4");
        assert_eq!(get("failures"), "1");
        assert_eq!(get("errors"), "1");
        assert_eq!(get("time"), "1.486");

        assert_eq!(suites.len(), 2);
        let (pem, envelope) = (&suites[0], &suites[1]);
        assert_eq!(pem.attr("name"), "pem");
        assert_eq!(pem.attr("id"), "0");
        assert_eq!(
            (
                pem.attr("tests"),
                pem.attr("failures"),
                pem.attr("errors"),
                pem.attr("skipped")
            ),
            ("2", "1", "0", "0")
        );
        assert_eq!(pem.attr("time"), "1.484");
        assert_eq!(pem.attr("timestamp"), "2026-11-27T11:15:46");
        assert_eq!(pem.attr("package"), "csr-conformance");
        assert!(!pem.attr("hostname").is_empty());
        assert_eq!(
            pem.cases,
            ["pem::zone::fixtures.p256", "pem::zone::fixtures.rsa_full"]
        );
        assert_eq!((pem.failures, pem.errors, pem.skipped), (1, 0, 0));
        assert_eq!(
            pem.properties,
            [
                ("base_url", "http://127.0.0.1:8787/client/v4"),
                ("target", "embedded emulator"),
                ("scopes", "account,zone"),
                ("read_only", "false"),
                ("seed", "1234"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );

        assert_eq!(envelope.attr("name"), "envelope");
        assert_eq!(envelope.attr("id"), "1");
        assert_eq!(
            (
                envelope.attr("tests"),
                envelope.attr("failures"),
                envelope.attr("errors"),
                envelope.attr("skipped")
            ),
            ("2", "0", "1", "1")
        );
        assert_eq!(envelope.attr("time"), "0.002");
        assert_eq!(
            (envelope.failures, envelope.errors, envelope.skipped),
            (0, 1, 1)
        );
    }

    #[test]
    fn failure_error_and_skip_elements_carry_their_text() {
        let xml = render(&mixed(), &run_info());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(
            xml.contains(r#"<failure message="2 findings: pem.block, envelope.success-matches-status" type="contract">pem::zone::fixtures.rsa_full: 2 findings"#),
            "{xml}"
        );
        assert!(
            xml.contains("csr is not a PEM &lt;block&gt; &amp; more"),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<error message="error: connection refused (os error 111)" type="error">"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped message="read-only run"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<testcase name="pem::zone::fixtures.p256" classname="pem" time="1.234"/>"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<system-out>POST /zones/z1/custom_csrs?page=1 -&gt; 200 (15 ms)\nPOST /zones/z1/custom_csrs?page=1 -&gt; 400 (15 ms)\nseed: 987654321\nreproduce with: csr-conformance --seed 987654321 --exact 'pem::zone::fixtures.rsa_full' (same target and scope options)</system-out>"
            ),
            "{xml}"
        );
        // The failure body is the text report, curl line included, with the secret symbolic.
        assert!(
            xml.contains(r#"-H "Authorization: Bearer $CLOUDFLARE_API_TOKEN""#),
            "{xml}"
        );
    }

    #[test]
    fn mixed_report_validates_against_xsd() {
        let xml = write_and_validate("mixed", &mixed(), &run_info());
        assert_eq!(xml.matches("<testsuite ").count(), 2);
    }

    #[test]
    fn empty_report_is_valid_and_records_the_run() {
        let xml = write_and_validate("empty", &[], &run_info());
        let (root, suites, _) = parse(&xml);
        // One empty suite carrying the run's properties, not a bare root.
        assert_eq!(suites.len(), 1, "{xml}");
        assert!(suites[0].cases.is_empty());
        assert!(
            suites[0]
                .attrs
                .contains(&("name".to_string(), "csr-conformance".to_string()))
        );
        assert!(
            xml.contains(r#"<property name="seed" value="1234"/>"#),
            "{xml}"
        );
        assert!(root.contains(&("tests".to_string(), "0".to_string())));
        assert!(root.contains(&("failures".to_string(), "0".to_string())));
        assert!(root.contains(&("errors".to_string(), "0".to_string())));
        assert!(root.contains(&("time".to_string(), "0.000".to_string())));
    }

    #[test]
    fn secrets_never_reach_the_report() {
        let run = run_info();
        let mut o = outcome(
            &format!("leak::{SECRET}"),
            "leak",
            Verdict::Failure(vec![Finding::new(
                "auth.no-echo",
                "/errors/0/message",
                "no credential in the body",
                format!("\"token {SECRET} rejected\""),
                format!("the API echoed {SECRET} and ops@example.com"),
            )]),
            5,
        );
        let mut ex = exchange(
            403,
            format!(
                "{{\"errors\":[{{\"message\":\"bad token {SECRET}\"}}],\"email\":\"ops%40example.com\",\"split\":\"tok_Sup3r\u{1b}[0m-S3cret_value\"}}"
            )
            .as_bytes(),
        );
        ex.request.query = vec![("email".into(), "ops@example.com".into())];
        o.exchanges = vec![ex];
        let outcomes = vec![
            o,
            outcome("e", "leak", Verdict::Error(format!("401 for {SECRET}")), 1),
        ];

        let xml = write_and_validate("secrets", &outcomes, &run);
        for needle in [
            SECRET,
            "Sup3r",
            "ops@example.com",
            "ops%40example.com",
            "ops&#64;",
        ] {
            assert!(!xml.contains(needle), "{needle} leaked:\n{xml}");
        }
        // Name, message, actual, excerpt, request line, curl URL, error message, split secret.
        assert!(xml.matches(REDACTED).count() >= 8, "{xml}");
        assert!(xml.contains("leak::[REDACTED]"), "{xml}");
        // The token split by an escape sequence is reassembled by stripping, then redacted.
        assert!(xml.contains(r#""split":"[REDACTED]""#), "{xml}");
    }

    #[test]
    fn hostile_response_bytes_keep_the_file_well_formed() {
        let mut body =
            b"{\"m\":\"\x1b[31mred\x1b[0m \x1b]0;title\x07 nul\x00 bell\x07 ff\x0c del\x7f "
                .to_vec();
        body.extend_from_slice(&[0xff, 0xfe, 0xc3]); // invalid UTF-8, decoded lossily
        body.extend_from_slice("\u{fffe} \u{9b}2J ]]> <x> &amp; tab\there\r\n\"}".as_bytes());
        let mut failing = outcome(
            "hostile\u{1b}[1m::case\u{0}",
            "hostile\u{8}",
            Verdict::Failure(vec![Finding::new(
                "r\u{1}",
                "/m",
                "text",
                String::from_utf8_lossy(&body).into_owned(),
                "bad\u{1b}[2K body",
            )]),
            3,
        );
        failing.exchanges = vec![exchange(500, &body)];
        failing.exchanges[0].request.query = vec![("q".into(), "a\u{1b}[0mb\rc".into())];
        let erroring = outcome(
            "err",
            "hostile",
            Verdict::Error("read \u{1b}[1mfailed\u{7}".into()),
            1,
        );
        let xml = write_and_validate("hostile", &[failing, erroring], &run_info());

        let (_, suites, texts) = parse(&xml);
        assert_eq!(suites.len(), 1);
        assert_eq!(suites[0].attr("name"), "hostile");
        assert_eq!(suites[0].cases, ["hostile::case", "err"]);
        for c in xml.chars() {
            assert!(
                !c.is_control() || matches!(c, '\n' | '\t'),
                "control char U+{:04X} in output",
                c as u32
            );
            assert!(c != '\u{fffe}', "U+FFFE in output");
        }
        for gone in ["[31m", "[0m", "title", "[2K", "[1m"] {
            assert!(!xml.contains(gone), "{gone} survived:\n{xml}");
        }
        assert!(
            xml.contains(r#"<failure message="1 finding: r" type="contract">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="error: read failed" type="error">"#),
            "{xml}"
        );
        let text: String = texts.concat();
        assert!(
            text.contains("red  nul bell ff del \u{fffd}\u{fffd}\u{fffd} 2J ]]&gt; &lt;x&gt; &amp;amp; tab\there"),
            "{text}"
        );
        assert!(text.contains("  message:  bad body\n"), "{text}");
        // The carriage return in the query survives as a character reference in <system-out>.
        assert!(xml.contains("?q=ab&#13;c -&gt; 500 (15 ms)"), "{xml}");
    }

    #[test]
    fn file_write_creates_dirs_and_leaves_no_temp_file() {
        let dir = scratch("atomic");
        let path = dir.join("a/b/junit.xml");
        write_junit_file(&mixed(), &run_info(), &path).unwrap();
        // A second run replaces the first report whole.
        write_junit_file(&[], &run_info(), &path).unwrap();
        let entries: Vec<String> = fs::read_dir(dir.join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries, ["junit.xml"]);
        let xml = fs::read_to_string(&path).unwrap();
        assert!(xml.contains("tests=\"0\""), "{xml}");
        assert!(!xml.contains("<testcase "), "{xml}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn strip_for_xml_cases() {
        assert_eq!(strip_for_xml("a\u{1b}[1;31mb\u{1b}[0mc"), "abc");
        assert_eq!(strip_for_xml("a\u{1b}]8;;http://x\u{1b}\\b"), "ab");
        assert_eq!(
            strip_for_xml("a\u{1b}cb\u{0}\u{1f}\u{7f}\u{85}\u{ffff}"),
            "ab"
        );
        assert_eq!(strip_for_xml("t\tn\nr\ré"), "t\tn\nr\ré");
    }

    #[test]
    fn attribute_line_breaks_survive() {
        let run = run_info();
        let o = outcome("x", "s", Verdict::Skipped("one\ntwo\tthree".into()), 0);
        let xml = render(&[o], &run);
        assert!(
            xml.contains(r#"<skipped message="one&#10;two&#9;three"/>"#),
            "{xml}"
        );
    }
}
