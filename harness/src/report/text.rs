//! The human-readable account of a trial that did not pass. The same text is libtest's failure
//! message and the body of the JUnit `<failure>`/`<error>` element, so a CI page and a terminal
//! show the same thing.

use std::fmt::Write as _;

use crate::model::{Exchange, Outcome, Verdict};
use crate::report::repro::curl_line;

/// How much of a response body a report quotes; enough for a Cloudflare error envelope, short
/// enough that a PEM-sized body doesn't drown the findings.
pub const EXCERPT_CHARS: usize = 600;

/// Every finding (rule, message, pointer, expected, actual), then the exchange it is about
/// (request line, status, response excerpt, curl line), then the seed if there is one.
pub fn failure_text(outcome: &Outcome, base_url: &str) -> String {
    let mut out = String::new();
    match &outcome.verdict {
        Verdict::Failure(findings) => {
            let _ = writeln!(out, "{}: {}", outcome.name, summary_line(outcome));
            for (i, f) in findings.iter().enumerate() {
                let _ = writeln!(out, "finding {} of {}: {}", i + 1, findings.len(), f.rule);
                field(&mut out, "message", &f.message);
                let pointer = if f.pointer.is_empty() {
                    "\"\" (whole body)"
                } else {
                    &f.pointer
                };
                field(&mut out, "pointer", pointer);
                field(&mut out, "expected", &f.expected);
                field(&mut out, "actual", &f.actual);
            }
        }
        Verdict::Error(msg) => {
            let _ = writeln!(out, "{}: could not be judged", outcome.name);
            field(&mut out, "error", msg);
        }
        Verdict::Skipped(reason) => {
            let _ = writeln!(out, "{}: skipped", outcome.name);
            field(&mut out, "reason", reason);
        }
        Verdict::Pass => {
            let _ = writeln!(out, "{}: passed", outcome.name);
        }
    }

    for (label, text) in &outcome.notes {
        field(&mut out, label, text);
    }

    if let Some((last, earlier)) = outcome.exchanges.split_last() {
        if !earlier.is_empty() {
            // A generated sequence is reproduced step by step, so every step gets its curl line.
            let generated = outcome.seed.is_some();
            out.push_str(if generated {
                "steps before the last:\n"
            } else {
                "earlier exchanges:\n"
            });
            for (i, ex) in earlier.iter().enumerate() {
                if generated {
                    let _ = writeln!(out, "  {}. {}", i + 1, exchange_line(ex));
                    let _ = writeln!(out, "     {}", curl_line(base_url, &ex.request));
                } else {
                    let _ = writeln!(out, "  {}", exchange_line(ex));
                }
            }
        }
        exchange_block(&mut out, last, base_url);
    }

    for wait in &outcome.waits {
        let _ = writeln!(out, "rate limited: {wait}");
    }
    if let Some(seed) = outcome.seed {
        let _ = writeln!(out, "seed: {seed}");
        let _ = writeln!(out, "{}", reproduce_line(seed, &outcome.name));
    }
    // A trailing newline would show up as an empty line in libtest's failure section.
    while out.ends_with('\n') {
        out.pop();
    }
    visible(&out)
}

/// How to run one generated trial again: the same seed gives the same inputs.
pub fn reproduce_line(seed: u64, trial: &str) -> String {
    format!(
        "reproduce with: csr-conformance --seed {seed} --exact {} (same target and scope options)",
        crate::report::repro::shell_quote(trial)
    )
}

/// One line naming what went wrong, for JUnit's `message` attribute and progress output:
/// `2 findings: pem.block, envelope.success-matches-status`.
pub fn summary_line(outcome: &Outcome) -> String {
    match &outcome.verdict {
        Verdict::Pass => "passed".to_string(),
        Verdict::Skipped(reason) => format!("skipped: {}", first_line(reason)),
        Verdict::Error(msg) => format!("error: {}", first_line(msg)),
        Verdict::Failure(findings) => {
            // A rule broken in many places (one schema error per array item) is listed once
            // with a count, so the line stays short.
            let mut rules: Vec<(&str, usize)> = Vec::new();
            for f in findings {
                match rules.iter_mut().find(|(rule, _)| *rule == f.rule) {
                    Some((_, n)) => *n += 1,
                    None => rules.push((&f.rule, 1)),
                }
            }
            let names: Vec<String> = rules
                .iter()
                .map(|(rule, n)| {
                    if *n > 1 {
                        format!("{rule} (x{n})")
                    } else {
                        rule.to_string()
                    }
                })
                .collect();
            let noun = if findings.len() == 1 {
                "finding"
            } else {
                "findings"
            };
            if names.is_empty() {
                format!("0 {noun}")
            } else {
                format!("{} {noun}: {}", findings.len(), names.join(", "))
            }
        }
    }
}

/// `POST /zones/…/custom_csrs -> 400 (12 ms)`.
pub fn exchange_line(ex: &Exchange) -> String {
    format!(
        "{} -> {} ({} ms)",
        ex.request.line(),
        ex.response.status,
        ex.elapsed.as_millis()
    )
}

fn exchange_block(out: &mut String, ex: &Exchange, base_url: &str) {
    field(out, "request", &ex.request.line());
    field(out, "status", &ex.response.status.to_string());
    let excerpt = if ex.response.body.is_empty() {
        "(empty body)".to_string()
    } else {
        ex.response.excerpt(EXCERPT_CHARS)
    };
    field(out, "response", &excerpt);
    field(out, "curl", &curl_line(base_url, &ex.request));
}

/// `label: value`, aligned, with continuation lines indented under the value so multi-line
/// expectations (PEM blocks, schema errors) stay readable.
fn field(out: &mut String, label: &str, value: &str) {
    let head = format!("  {:<9} ", format!("{label}:"));
    let indent = " ".repeat(head.len());
    let mut lines = value.split('\n');
    out.push_str(&head);
    out.push_str(lines.next().unwrap_or_default().trim_end_matches('\r'));
    out.push('\n');
    for line in lines {
        out.push_str(&indent);
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// Bodies, names and messages can carry whatever a target sent, and escape sequences would
/// restyle or rewrite the reader's terminal, so control characters (other than line feed and
/// tab) are shown as `\u{..}` instead of being passed through.
fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::model::{Body, Finding, Request, canned_exchange};

    fn exchange(method: &str, path: &str, status: u16, body: &[u8]) -> Exchange {
        let mut request = Request::new(method, path).with_bearer_token();
        request.body = Some(Body::Json(json!({"common_name": "a.example"})));
        canned_exchange(request, status, None, body, 12)
    }

    fn outcome(verdict: Verdict, exchanges: Vec<Exchange>, seed: Option<u64>) -> Outcome {
        Outcome {
            name: "pem::zone::fixtures.rsa_full".into(),
            suite: "pem".into(),
            verdict,
            exchanges,
            duration: Duration::from_millis(30),
            seed,
            notes: Vec::new(),
            retries: vec![],
            waits: vec![],
        }
    }

    #[test]
    fn failure_text_lists_findings_exchange_and_seed() {
        let o = outcome(
            Verdict::Failure(vec![
                Finding::new(
                    "pem.block",
                    "/result/csr",
                    "a PEM block\nlabelled CERTIFICATE REQUEST",
                    "\"garbage\"",
                    "csr is not PEM",
                ),
                Finding::new(
                    "envelope.success-matches-status",
                    "",
                    "success=false for 400",
                    "success=true",
                    "success flag contradicts status",
                ),
            ]),
            vec![
                exchange("GET", "/zones/z/custom_csrs", 200, b"{}"),
                exchange(
                    "POST",
                    "/zones/z/custom_csrs",
                    400,
                    b"{\"success\":true,\x1b[31m\"x\":1}",
                ),
            ],
            Some(42),
        );
        let expected = r#"pem::zone::fixtures.rsa_full: 2 findings: pem.block, envelope.success-matches-status
finding 1 of 2: pem.block
  message:  csr is not PEM
  pointer:  /result/csr
  expected: a PEM block
            labelled CERTIFICATE REQUEST
  actual:   "garbage"
finding 2 of 2: envelope.success-matches-status
  message:  success flag contradicts status
  pointer:  "" (whole body)
  expected: success=false for 400
  actual:   success=true
steps before the last:
  1. GET /zones/z/custom_csrs -> 200 (12 ms)
     curl -sS -X GET 'http://127.0.0.1:9/client/v4/zones/z/custom_csrs' -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" -H 'Content-Type: application/json' --data-raw '{"common_name":"a.example"}'
  request:  POST /zones/z/custom_csrs
  status:   400
  response: {"success":true,\u{1b}[31m"x":1}
  curl:     curl -sS -X POST 'http://127.0.0.1:9/client/v4/zones/z/custom_csrs' -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" -H 'Content-Type: application/json' --data-raw '{"common_name":"a.example"}'
seed: 42
reproduce with: csr-conformance --seed 42 --exact 'pem::zone::fixtures.rsa_full' (same target and scope options)"#;
        assert_eq!(failure_text(&o, "http://127.0.0.1:9/client/v4"), expected);
    }

    #[test]
    fn error_text_shows_message_and_last_exchange_only_when_present() {
        let o = outcome(
            Verdict::Error("connection refused\nwhile sending".into()),
            vec![],
            None,
        );
        assert_eq!(
            failure_text(&o, "http://x"),
            "pem::zone::fixtures.rsa_full: could not be judged\n  error:    connection refused\n            while sending"
        );
        assert_eq!(summary_line(&o), "error: connection refused");

        let o = outcome(
            Verdict::Error("body was not JSON".into()),
            vec![exchange("GET", "/zones/z/custom_csrs/1", 502, b"")],
            Some(7),
        );
        let text = failure_text(&o, "http://x");
        assert!(
            text.contains("  error:    body was not JSON\n  request:  GET /zones/z/custom_csrs/1\n  status:   502\n  response: (empty body)\n  curl:     curl -sS -X GET 'http://x/zones/z/custom_csrs/1'"),
            "{text}"
        );
        assert!(
            text.ends_with("seed: 7\nreproduce with: csr-conformance --seed 7 --exact 'pem::zone::fixtures.rsa_full' (same target and scope options)"),
            "{text}"
        );
    }

    #[test]
    fn response_excerpt_is_cut_at_600_chars() {
        let body = "a".repeat(EXCERPT_CHARS + 50);
        let o = outcome(
            Verdict::Failure(vec![Finding::new("r", "", "e", "a", "m")]),
            vec![exchange("GET", "/x", 200, body.as_bytes())],
            None,
        );
        let text = failure_text(&o, "http://x");
        let expected = format!("  response: {}…\n", "a".repeat(EXCERPT_CHARS));
        assert!(text.contains(&expected), "{text}");
        assert!(!text.contains(&"a".repeat(EXCERPT_CHARS + 1)));
    }

    #[test]
    fn summary_lines() {
        let one = outcome(
            Verdict::Failure(vec![Finding::new("pem.block", "", "", "", "")]),
            vec![],
            None,
        );
        assert_eq!(summary_line(&one), "1 finding: pem.block");

        let repeated = outcome(
            Verdict::Failure(vec![
                Finding::new("schema", "/a", "", "", ""),
                Finding::new("pem.block", "", "", "", ""),
                Finding::new("schema", "/b", "", "", ""),
            ]),
            vec![],
            None,
        );
        assert_eq!(
            summary_line(&repeated),
            "3 findings: schema (x2), pem.block"
        );
        assert_eq!(
            summary_line(&outcome(
                Verdict::Skipped("read-only run".into()),
                vec![],
                None
            )),
            "skipped: read-only run"
        );
        assert_eq!(
            summary_line(&outcome(Verdict::Pass, vec![], None)),
            "passed"
        );
        assert_eq!(
            summary_line(&outcome(Verdict::Failure(vec![]), vec![], None)),
            "0 findings"
        );
    }
}
