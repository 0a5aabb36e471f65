//! The envelope every answer shares: JSON, `success` agreeing with the status, typed
//! `errors`/`messages`/`result`, error entries with codes ≥ 1000, and no echoed credential.

use serde_json::Value;

use crate::model::{Exchange, Finding};

/// Checks one exchange. `secrets` are the credential values that were sent with it.
pub fn check(ex: &Exchange, secrets: &[&str]) -> Vec<Finding> {
    let mut out = Vec::new();
    let status = ex.response.status;
    let ok = (200..300).contains(&status);

    let ct = ex.response.header("content-type").unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        out.push(Finding::new(
            "envelope.content-type",
            "header:content-type",
            "application/json",
            if ct.is_empty() { "(none)" } else { ct },
            "every answer must be application/json",
        ));
    }

    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        let in_body = contains(&ex.response.body, secret.as_bytes());
        let in_headers = ex.response.headers.iter().any(|(_, v)| v.contains(secret));
        if in_body || in_headers {
            out.push(Finding::new(
                "envelope.no-credential-echo",
                if in_body { "" } else { "headers" },
                "no credential value in the answer",
                "a credential value that was sent",
                "the answer repeats a credential the request carried",
            ));
        }
    }

    let body: &Value = match ex.response.body_json() {
        Some(v) => v,
        None => {
            // Parsed again only to say why it is not JSON.
            let e = serde_json::from_slice::<Value>(&ex.response.body)
                .err()
                .map_or_else(String::new, |e| e.to_string());
            out.push(Finding::new(
                "envelope.json",
                "",
                "a JSON object",
                ex.response.excerpt(80),
                format!("the body is not JSON: {e}"),
            ));
            return out;
        }
    };
    let Some(obj) = body.as_object() else {
        out.push(Finding::new(
            "envelope.json",
            "",
            "a JSON object",
            kind(body),
            "the body must be a JSON object",
        ));
        return out;
    };

    match obj.get("success") {
        Some(Value::Bool(s)) if *s != ok => out.push(Finding::new(
            "envelope.success-matches-status",
            "/success",
            ok.to_string(),
            s.to_string(),
            format!("`success` must be {ok} on a {status} answer"),
        )),
        Some(Value::Bool(_)) => {}
        other => out.push(missing_or_typed("/success", "a boolean", other)),
    }

    // Gateway failures may leave out `messages` and `result`; successes carry all four.
    match obj.get("errors") {
        Some(Value::Array(errors)) => {
            if ok && !errors.is_empty() {
                out.push(Finding::new(
                    "envelope.errors",
                    "/errors",
                    "[]",
                    format!("{} entries", errors.len()),
                    "a successful answer must carry no errors",
                ));
            }
            if !ok {
                check_error_entries(errors, &mut out);
            }
        }
        other => out.push(missing_or_typed("/errors", "an array", other)),
    }
    match obj.get("messages") {
        Some(Value::Array(_)) => {}
        None if !ok => {}
        other => out.push(missing_or_typed("/messages", "an array", other)),
    }
    match obj.get("result") {
        Some(Value::Null) if !ok => {}
        None if !ok => {}
        Some(other) if !ok => out.push(Finding::new(
            "envelope.result",
            "/result",
            "null",
            kind(other),
            "a failure must carry `result: null`",
        )),
        Some(Value::Object(_) | Value::Array(_)) => {}
        other => out.push(missing_or_typed("/result", "an object or an array", other)),
    }
    out
}

fn check_error_entries(errors: &[Value], out: &mut Vec<Finding>) {
    if errors.is_empty() {
        out.push(Finding::new(
            "envelope.error-entries",
            "/errors",
            "at least one error",
            "[]",
            "a failure must say what went wrong in `errors`",
        ));
    }
    for (i, e) in errors.iter().enumerate() {
        let at = format!("/errors/{i}");
        match e.get("code") {
            Some(Value::Number(n)) if n.as_u64().is_some_and(|c| c >= 1000) => {}
            other => out.push(Finding::new(
                "envelope.error-entries",
                format!("{at}/code"),
                "an integer ≥ 1000",
                other.map_or("(missing)".to_string(), Value::to_string),
                "every error needs an integer `code` of at least 1000",
            )),
        }
        match e.get("message") {
            Some(Value::String(_)) => {}
            other => out.push(Finding::new(
                "envelope.error-entries",
                format!("{at}/message"),
                "a string",
                other.map_or("(missing)".to_string(), Value::to_string),
                "every error needs a `message` string",
            )),
        }
    }
}

fn missing_or_typed(pointer: &str, expected: &str, got: Option<&Value>) -> Finding {
    let field = pointer.trim_start_matches('/');
    match got {
        None => Finding::new(
            format!("envelope.{field}"),
            pointer,
            expected,
            "(missing)",
            format!("the envelope has no `{field}`"),
        ),
        Some(v) => Finding::new(
            format!("envelope.{field}"),
            pointer,
            expected,
            kind(v),
            format!("`{field}` must be {expected}"),
        ),
    }
}

pub(crate) fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("a string {:?}", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Request, canned_exchange};

    fn ex(status: u16, ct: &str, body: &str) -> Exchange {
        let request = Request::new("GET", "/zones/z/custom_csrs");
        canned_exchange(request, status, Some(ct), body, 0)
    }

    fn rules(f: Vec<Finding>) -> Vec<String> {
        f.into_iter().map(|f| f.rule).collect()
    }

    const OK: &str = r#"{"success":true,"errors":[],"messages":[],"result":[]}"#;
    const FAIL: &str =
        r#"{"success":false,"errors":[{"code":1419,"message":"m"}],"messages":[],"result":null}"#;

    #[test]
    fn good_envelopes_pass() {
        assert_eq!(
            rules(check(&ex(200, "application/json; charset=utf-8", OK), &[])),
            Vec::<String>::new()
        );
        assert_eq!(
            rules(check(&ex(404, "application/json", FAIL), &[])),
            Vec::<String>::new()
        );
        // A gateway failure without messages and result is still a good failure.
        let gw = r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}"#;
        assert_eq!(
            rules(check(&ex(403, "application/json", gw), &[])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn success_must_match_status() {
        let prism_401 = r#"{"success":true,"errors":[],"messages":[],"result":[]}"#;
        let got = rules(check(&ex(401, "application/json", prism_401), &[]));
        assert!(
            got.contains(&"envelope.success-matches-status".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(&"envelope.error-entries".to_string()),
            "{got:?}"
        );
        let got = rules(check(&ex(200, "application/json", FAIL), &[]));
        assert!(
            got.contains(&"envelope.success-matches-status".to_string()),
            "{got:?}"
        );
    }

    #[test]
    fn content_type_and_json() {
        assert_eq!(
            rules(check(&ex(404, "application/problem+json", FAIL), &[])),
            vec!["envelope.content-type"]
        );
        assert_eq!(
            rules(check(&ex(404, "application/json", "<html>"), &[])),
            vec!["envelope.json"]
        );
        assert_eq!(
            rules(check(&ex(404, "application/json", "[1]"), &[])),
            vec!["envelope.json"]
        );
    }

    #[test]
    fn typed_fields_and_error_entries() {
        let bad = r#"{"success":false,"errors":[{"code":99},{"code":"1000","message":"m"}],"messages":{},"result":{}}"#;
        let got = rules(check(&ex(400, "application/json", bad), &[]));
        assert_eq!(
            got,
            vec![
                "envelope.error-entries",
                "envelope.error-entries",
                "envelope.error-entries",
                "envelope.messages",
                "envelope.result"
            ]
        );
        let missing = r#"{"success":true,"errors":[]}"#;
        assert_eq!(
            rules(check(&ex(200, "application/json", missing), &[])),
            vec!["envelope.messages", "envelope.result"]
        );
        let empty = r#"{"success":false,"errors":[],"messages":[],"result":null}"#;
        assert_eq!(
            rules(check(&ex(400, "application/json", empty), &[])),
            vec!["envelope.error-entries"]
        );
    }

    #[test]
    fn echoed_credentials_are_caught() {
        let body = r#"{"success":false,"errors":[{"code":10000,"message":"bad token s3cr3t-token"}],"messages":[],"result":null}"#;
        assert_eq!(
            rules(check(&ex(403, "application/json", body), &["s3cr3t-token"])),
            vec!["envelope.no-credential-echo"]
        );
        assert_eq!(
            rules(check(&ex(403, "application/json", body), &["other-token"])),
            Vec::<String>::new()
        );
    }
}
