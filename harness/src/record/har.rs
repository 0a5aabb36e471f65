//! HAR 1.2 captures (browser devtools, mitmproxy, Postman) as raw exchanges. Only Custom CSR
//! requests are kept (`…/{accounts|zones}/{id}/custom_csrs[/{id}]`, under any prefix such as
//! `/client/v4`); the rest is counted by why it was left. Bodies may be missing, base64-encoded
//! or still compressed (gzip, deflate).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde_json::Value;

use super::redact::{RawExchange, RawHeader};
use crate::model::Body;

/// Why a file could not be imported. Nothing is written when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HarError {
    /// Not JSON at all.
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON that stops before it is complete.
    Truncated { line: usize, column: usize },
    /// JSON, but not a HAR log.
    NotHar(String),
}

impl fmt::Display for HarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarError::NotJson {
                line,
                column,
                message,
            } => write!(
                f,
                "not a HAR file: not JSON at line {line}, column {column} ({message})"
            ),
            HarError::Truncated { line, column } => write!(
                f,
                "the HAR file is truncated: its JSON ends at line {line}, column {column} before the log is complete"
            ),
            HarError::NotHar(why) => write!(f, "not a HAR 1.2 file: {why}"),
        }
    }
}

impl std::error::Error for HarError {}

/// What a capture held.
#[derive(Debug, Default)]
pub struct Imported {
    /// The Custom CSR exchanges, in the file's order.
    pub exchanges: Vec<RawExchange>,
    /// Entries left out, counted by reason.
    pub skipped: BTreeMap<String, usize>,
    /// The tool that wrote the file (`log.creator.name`), if it says.
    pub creator: Option<String>,
    /// Bodies that could not be read (an unknown compression), by entry.
    pub notes: Vec<String>,
    /// Each exchange's page (`pageref`), when the entry names one.
    pub pages: Vec<Option<String>>,
}

impl Imported {
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

pub fn parse(bytes: &[u8]) -> Result<Imported, HarError> {
    let har: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            HarError::Truncated {
                line: e.line(),
                column: e.column(),
            }
        } else {
            HarError::NotJson {
                line: e.line(),
                column: e.column(),
                message: e
                    .to_string()
                    .split(" at line")
                    .next()
                    .unwrap_or("")
                    .to_string(),
            }
        }
    })?;
    let log = har
        .get("log")
        .filter(|l| l.is_object())
        .ok_or_else(|| HarError::NotHar("it has no \"log\" object".into()))?;
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| HarError::NotHar("its log has no \"entries\" array".into()))?;
    if let Some(v) = log.get("version").and_then(Value::as_str)
        && !v.starts_with('1')
    {
        return Err(HarError::NotHar(format!("unknown HAR version {v:?}")));
    }
    let mut imported = Imported {
        creator: log
            .pointer("/creator/name")
            .and_then(Value::as_str)
            .map(String::from),
        ..Imported::default()
    };
    for (i, entry) in entries.iter().enumerate() {
        let n = i + 1;
        let request = entry
            .get("request")
            .filter(|r| r.is_object())
            .ok_or_else(|| HarError::NotHar(format!("entry {n} has no request")))?;
        let url = request
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| HarError::NotHar(format!("entry {n} has no request.url")))?;
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| HarError::NotHar(format!("entry {n} has no request.method")))?
            .to_ascii_uppercase();
        let response = entry
            .get("response")
            .filter(|r| r.is_object())
            .ok_or_else(|| HarError::NotHar(format!("entry {n} has no response")))?;
        let mut skip = |why: &str| *imported.skipped.entry(why.to_string()).or_default() += 1;
        let Ok(url) = url::Url::parse(url) else {
            skip("not an absolute http(s) URL");
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            skip("not an absolute http(s) URL");
            continue;
        }
        let Some(path) = custom_csr_path(url.path()) else {
            skip("not the Custom CSR API");
            continue;
        };
        if method == "OPTIONS" {
            skip("CORS preflight");
            continue;
        }
        let withheld = |v: Option<&Value>| {
            v.and_then(|v| v.get("text")).and_then(Value::as_str) == Some(super::har_out::WITHHELD)
        };
        if withheld(request.get("postData")) || withheld(response.get("content")) {
            skip("bodies withheld by csr-conformance's credential scan");
            continue;
        }
        let status = response.get("status").and_then(Value::as_u64).unwrap_or(0);
        let Ok(status) = u16::try_from(status) else {
            skip("no answer (failed or blocked)");
            continue;
        };
        if !(100..=599).contains(&status) {
            skip("no answer (failed or blocked)");
            continue;
        }
        let headers = name_values(request.get("headers"))
            .into_iter()
            .filter(|(name, _)| !name.starts_with(':'))
            .map(|(name, value)| (name, RawHeader::Text(value)))
            .collect();
        let query = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let body = request.get("postData").and_then(|p| post_data(p, request));
        let response_body = match content(response) {
            Ok(b) => b,
            Err(note) => {
                imported.notes.push(format!("entry {n}: {note}"));
                None
            }
        };
        imported.pages.push(
            entry
                .get("pageref")
                .and_then(Value::as_str)
                .map(String::from),
        );
        imported.exchanges.push(RawExchange {
            method,
            path,
            query,
            headers,
            body,
            status,
            response: response_body,
        });
    }
    Ok(imported)
}

/// The part of a URL path from `/{accounts|zones}/{id}/custom_csrs` on, if it is one.
fn custom_csr_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.windows(3).position(|w| {
        matches!(w[0], "accounts" | "zones") && !w[1].is_empty() && w[2] == "custom_csrs"
    })?;
    let rest = &segments[at..];
    if rest.len() > 4 {
        return None;
    }
    Some(format!("/{}", rest.join("/")))
}

fn name_values(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|h| {
                    Some((
                        h.get("name")?.as_str()?.to_string(),
                        h.get("value")?.as_str().unwrap_or("").to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A request body: JSON when it parses as JSON, else the bytes with their type.
fn post_data(post: &Value, request: &Value) -> Option<Body> {
    let text = post.get("text").and_then(Value::as_str)?;
    let bytes = if post.get("encoding").and_then(Value::as_str) == Some("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()?
    } else {
        text.as_bytes().to_vec()
    };
    let content_type = post
        .get("mimeType")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(String::from)
        .or_else(|| header(&name_values(request.get("headers")), "content-type").map(String::from));
    let json_type = content_type.as_deref().is_none_or(|t| t.contains("json"));
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if json_type && v.is_object() => Some(Body::Json(v)),
        _ => Some(Body::Raw {
            content_type,
            bytes,
        }),
    }
}

/// The answer's body as the server meant it: base64 decoded, decompressed. `Ok(None)` when
/// the capture did not keep it.
fn content(response: &Value) -> Result<Option<Vec<u8>>, String> {
    let Some(content) = response.get("content") else {
        return Ok(None);
    };
    let Some(text) = content.get("text").and_then(Value::as_str) else {
        return Ok(None);
    };
    let mut bytes = if content.get("encoding").and_then(Value::as_str) == Some("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("the answer's base64 body does not decode ({e})"))?
    } else {
        text.as_bytes().to_vec()
    };
    let headers = name_values(response.get("headers"));
    let encoding = header(&headers, "content-encoding")
        .unwrap_or("")
        .to_ascii_lowercase();
    // Most tools store the decoded body and keep the Content-Encoding header; only bytes that
    // are still compressed are inflated.
    if bytes.starts_with(&[0x1f, 0x8b]) {
        bytes = inflate(flate2::read::GzDecoder::new(&bytes[..]))?;
    } else if encoding.contains("deflate") && std::str::from_utf8(&bytes).is_err() {
        bytes = inflate(flate2::read::ZlibDecoder::new(&bytes[..]))
            .or_else(|_| inflate(flate2::read::DeflateDecoder::new(&bytes[..])))?;
    } else if encoding.contains("br") && std::str::from_utf8(&bytes).is_err() {
        return Err("the answer is still brotli-compressed, which the import does not read; its body is left out".into());
    }
    Ok(Some(bytes))
}

fn inflate(mut reader: impl std::io::Read) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .read_to_end(&mut out)
        .map_err(|e| format!("the answer's compressed body does not inflate ({e})"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write as _;

    fn har(entries: Value) -> Vec<u8> {
        json!({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "entries": entries}})
            .to_string()
            .into_bytes()
    }

    fn entry(method: &str, url: &str, status: u16, content: Value) -> Value {
        json!({
            "request": {"method": method, "url": url, "httpVersion": "h2", "headers": [
                {"name": ":authority", "value": "api.cloudflare.com"},
                {"name": "authorization", "value": "Bearer abc"}], "queryString": [], "cookies": []},
            "response": {"status": status, "headers": [], "content": content},
        })
    }

    #[test]
    fn keeps_custom_csr_traffic_under_any_prefix_and_counts_the_rest() {
        let bytes = har(json!([
            entry(
                "GET",
                "https://api.cloudflare.com/client/v4/zones/z1/custom_csrs?page=2&per_page=5",
                200,
                json!({"text": "{\"result\": []}"})
            ),
            entry(
                "GET",
                "https://dash.cloudflare.com/static/app.js",
                200,
                json!({})
            ),
            entry(
                "GET",
                "https://api.cloudflare.com/client/v4/zones/z1/dns_records",
                200,
                json!({})
            ),
            entry(
                "OPTIONS",
                "https://api.cloudflare.com/client/v4/zones/z1/custom_csrs",
                204,
                json!({})
            ),
            entry(
                "GET",
                "https://api.cloudflare.com/client/v4/zones/z1/custom_csrs/x",
                0,
                json!({})
            ),
            entry(
                "DELETE",
                "http://127.0.0.1:4010/accounts/a1/custom_csrs/x",
                200,
                json!({})
            ),
        ]));
        let got = parse(&bytes).unwrap();
        assert_eq!(got.creator.as_deref(), Some("WebInspector"));
        assert_eq!(got.exchanges.len(), 2);
        let e = &got.exchanges[0];
        assert_eq!(e.path, "/zones/z1/custom_csrs");
        assert_eq!(
            e.query,
            vec![("page".into(), "2".into()), ("per_page".into(), "5".into())]
        );
        assert_eq!(e.headers.len(), 1, "pseudo-headers are not headers");
        assert_eq!(e.response.as_deref(), Some(&b"{\"result\": []}"[..]));
        assert_eq!(got.exchanges[1].path, "/accounts/a1/custom_csrs/x");
        assert_eq!(got.exchanges[1].response, None, "no body kept");
        assert_eq!(got.skipped_total(), 4);
        assert_eq!(got.skipped["not the Custom CSR API"], 2);
    }

    #[test]
    fn base64_and_compressed_bodies_are_decoded() {
        let body = br#"{"success": true}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(body).unwrap();
        let gz = gz.finish().unwrap();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zl.write_all(body).unwrap();
        let zl = zl.finish().unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut deflated = entry(
            "GET",
            "https://h/zones/z/custom_csrs",
            200,
            json!({"text": b64(&zl), "encoding": "base64"}),
        );
        deflated["response"]["headers"] = json!([{"name": "Content-Encoding", "value": "deflate"}]);
        let mut post = entry(
            "POST",
            "https://h/zones/z/custom_csrs",
            201,
            json!({"text": b64(body), "encoding": "base64"}),
        );
        post["request"]["postData"] = json!({"mimeType": "application/json", "text": b64(br#"{"a": 1}"#), "encoding": "base64"});
        let bytes = har(json!([
            entry(
                "GET",
                "https://h/zones/z/custom_csrs",
                200,
                json!({"text": b64(body), "encoding": "base64"})
            ),
            entry(
                "GET",
                "https://h/zones/z/custom_csrs",
                200,
                json!({"text": b64(&gz), "encoding": "base64"})
            ),
            deflated,
            post,
        ]));
        let got = parse(&bytes).unwrap();
        for e in &got.exchanges {
            assert_eq!(e.response.as_deref(), Some(&body[..]));
        }
        assert_eq!(got.exchanges[3].body, Some(Body::Json(json!({"a": 1}))));
    }

    #[test]
    fn not_har_and_truncated_files_are_clear_errors() {
        let e = parse(b"<html>not json</html>").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("not a HAR file: not JSON at line 1"),
            "{e}"
        );
        let full = har(json!([entry(
            "GET",
            "https://h/zones/z/custom_csrs",
            200,
            json!({})
        )]));
        let e = parse(&full[..full.len() / 2]).unwrap_err();
        assert!(matches!(e, HarError::Truncated { .. }), "{e}");
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = parse(br#"{"entries": []}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a HAR 1.2 file: it has no \"log\" object"
        );
        let e = parse(br#"{"log": {"entries": [{"response": {}}]}}"#).unwrap_err();
        assert_eq!(e.to_string(), "not a HAR 1.2 file: entry 1 has no request");
    }
}
