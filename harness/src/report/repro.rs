//! Reproduction lines: a `curl` command a person can paste into a shell to send a request again.
//!
//! Secrets stay symbolic: a secret header is printed as a reference to the environment variable
//! that holds it, in double quotes so the shell expands it, and everything else is single-quoted
//! so nothing a target or a case file chose (a `$`, a backtick, a quote) is ever interpreted.

use crate::model::{Body, HeaderValue, Request};

/// A single-line `curl` command that sends `request` to `base_url` again.
///
/// Raw bodies that are not printable text go through `printf '\xNN…' | curl … --data-binary @-`
/// because a shell argument can't carry NUL bytes, and newlines would break the single line.
pub fn curl_line(base_url: &str, request: &Request) -> String {
    let mut args: Vec<String> = vec![
        "curl".into(),
        "-sS".into(),
        "-X".into(),
        shell_quote_if_needed(&request.method),
        shell_quote(&url(base_url, request)),
    ];

    for (name, value) in &request.headers {
        args.push("-H".into());
        args.push(match value {
            HeaderValue::Literal(v) => shell_quote(&format!("{name}: {v}")),
            HeaderValue::Secret { prefix, secret } => secret_header(
                &format!("{name}: {prefix}"),
                &format!("${}", secret.env_var()),
            ),
            // The near miss is derived from the variable by the shell, never written out.
            HeaderValue::Derived {
                prefix,
                secret,
                edit,
            } => secret_header(&format!("{name}: {prefix}"), &edit.shell(secret.env_var())),
        });
    }

    let has_content_type = request
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    let mut stdin_bytes = None;
    let mut stdin_command = None;
    match &request.body {
        None => {}
        Some(Body::Json(value)) => {
            if !has_content_type {
                args.push("-H".into());
                args.push(shell_quote("Content-Type: application/json"));
            }
            // Compact serde_json output escapes every control character, so it stays one line.
            let text = value.to_string();
            match with_long_runs(&text) {
                Some(pieces) => {
                    args.push("--data-binary".into());
                    args.push("@-".into());
                    stdin_command = Some(pieces_command(&pieces));
                }
                None => {
                    args.push("--data-raw".into());
                    args.push(shell_quote(&text));
                }
            }
        }
        Some(Body::Raw {
            content_type,
            bytes,
        }) => {
            if !has_content_type {
                args.push("-H".into());
                // Without a type the original request had no Content-Type header, but curl would
                // add `application/x-www-form-urlencoded` to --data-binary; an empty value makes
                // curl drop the header instead.
                args.push(shell_quote(&format!(
                    "Content-Type:{}",
                    content_type
                        .as_deref()
                        .map(|ct| format!(" {ct}"))
                        .unwrap_or_default()
                )));
            }
            args.push("--data-binary".into());
            match printable_text(bytes) {
                Some(text) => match with_long_runs(text) {
                    Some(pieces) => {
                        args.push("@-".into());
                        stdin_command = Some(pieces_command(&pieces));
                    }
                    None => args.push(shell_quote(text)),
                },
                None => {
                    args.push("@-".into());
                    stdin_bytes = Some(bytes.as_slice());
                }
            }
        }
    }

    let curl = args.join(" ");
    match (stdin_bytes, stdin_command) {
        (Some(bytes), _) => format!("printf {} | {curl}", shell_quote(&printf_format(bytes))),
        (None, Some(feed)) => format!("{feed} | {curl}"),
        (None, None) => curl,
    }
}

/// Runs of one character at least this long are written as a command that makes them, not
/// spelt out: a case's 3 MB body of one repeated letter would otherwise be a 3 MB line in
/// every report that quotes it, and held in memory as many times.
const LONG_RUN: usize = 512;

/// A stretch of a body: text as it is, or one character `count` times.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Run(char, usize),
}

/// `text` cut into plain stretches and runs of [`LONG_RUN`] or more of one ASCII letter or
/// digit; `None` when it has no such run.
fn with_long_runs(text: &str) -> Option<Vec<Piece<'_>>> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let (mut i, mut plain_from) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let mut j = i + 1;
        while j < bytes.len() && bytes[j] == b {
            j += 1;
        }
        if b.is_ascii_alphanumeric() && j - i >= LONG_RUN {
            if plain_from < i {
                pieces.push(Piece::Text(&text[plain_from..i]));
            }
            pieces.push(Piece::Run(b as char, j - i));
            plain_from = j;
        }
        i = j;
    }
    if pieces.is_empty() {
        return None;
    }
    if plain_from < text.len() {
        pieces.push(Piece::Text(&text[plain_from..]));
    }
    Some(pieces)
}

/// A shell command group that prints exactly the pieces: plain stretches with `printf '%s'`,
/// runs with `head -c N /dev/zero | tr '\0' C`.
fn pieces_command(pieces: &[Piece<'_>]) -> String {
    let parts: Vec<String> = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => format!("printf '%s' {}", shell_quote(t)),
            Piece::Run(c, n) => format!("head -c {n} /dev/zero | tr '\\0' '{c}'"),
        })
        .collect();
    format!("{{ {}; }}", parts.join("; "))
}

/// `base_url` joined with the request's path and its percent-encoded query.
pub fn url(base_url: &str, request: &Request) -> String {
    let mut url = format!("{}{}", base_url.trim_end_matches('/'), request.path);
    for (i, (k, v)) in request.query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&percent_encode(k));
        url.push('=');
        url.push_str(&percent_encode(v));
    }
    url
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, so a query value can
/// never smuggle in another parameter (`&`, `=`) or a fragment (`#`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// POSIX single-quoting: nothing inside single quotes is special except the closing quote,
/// which is written as `'\''` (close, escaped quote, reopen).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Leaves plain words (methods such as `GET`) bare so the line reads like one typed by hand.
fn shell_quote_if_needed(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        s.to_string()
    } else {
        shell_quote(s)
    }
}

/// `"Authorization: Bearer $CLOUDFLARE_API_TOKEN"`: the shell substitutes the variable (or
/// `expansion`, an expression of it, for a near miss), so the value never appears in a report.
/// If the fixed part holds a character that double quotes would interpret, it is single-quoted
/// and only the expansion is double-quoted.
fn secret_header(fixed: &str, expansion: &str) -> String {
    let double_quote_safe = fixed
        .chars()
        .all(|c| !c.is_control() && !matches!(c, '"' | '$' | '`' | '\\' | '!'));
    if double_quote_safe {
        format!("\"{fixed}{expansion}\"")
    } else {
        format!("{}\"{expansion}\"", shell_quote(fixed))
    }
}

/// A word of a command line as typed: bare when it holds nothing a shell would interpret,
/// single-quoted otherwise.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b));
    if plain { s.to_string() } else { shell_quote(s) }
}

/// A command line of `words`, each as [`shell_word`] writes it.
pub fn command_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_word(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The command that runs one trial again: `csr-conformance OPTIONS --seed S --exact 'TRIAL'`,
/// where `options` are the run's target and scope flags (`--target … --zone-id …`), each
/// already a shell word, and the seed makes a generated trial send the same inputs.
pub fn rerun_line(options: &[String], seed: u64, trial: &str) -> String {
    let mut line = String::from("csr-conformance");
    for o in options {
        line.push(' ');
        line.push_str(o);
    }
    line.push_str(&format!(" --seed {seed} --exact {}", shell_quote(trial)));
    line
}

/// The body as text if it can travel as one single-quoted argument: valid UTF-8 without control
/// characters, and not starting with `@`, which `--data-binary` would read as a file name.
fn printable_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.starts_with('@') || text.chars().any(char::is_control) {
        return None;
    }
    Some(text)
}

/// A `printf` format that prints exactly `bytes`: printable ASCII stays readable, everything
/// else (and the format's own metacharacters `%` and `\`, and the quote) becomes `\xNN`.
fn printf_format(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && !matches!(b, b'%' | b'\\' | b'\'') {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::SecretRef;

    const BASE: &str = "https://api.cloudflare.com/client/v4";

    fn request(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: vec![],
            headers: vec![],
            body: None,
        }
    }

    #[test]
    fn get_with_query_is_percent_encoded() {
        let mut req = request("GET", "/zones/023e105f4ecef8ad9ca31a8372d0c353/custom_csrs");
        req.query = vec![
            ("page".into(), "2".into()),
            ("name".into(), "a b&c=d/é".into()),
        ];
        req.headers = vec![(
            "Accept".into(),
            HeaderValue::Literal("application/json".into()),
        )];
        assert_eq!(
            curl_line(&format!("{BASE}/"), &req),
            "curl -sS -X GET 'https://api.cloudflare.com/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/custom_csrs?page=2&name=a%20b%26c%3Dd%2F%C3%A9' -H 'Accept: application/json'"
        );
    }

    #[test]
    fn json_body_with_quote_and_dollar_stays_literal() {
        let mut req = request("POST", "/zones/z1/custom_csrs");
        req.headers = vec![(
            "X-Note".into(),
            HeaderValue::Literal("costs $HOME's `x`".into()),
        )];
        req.body = Some(Body::Json(
            json!({"name": "O'Brien $PATH", "sans": ["a.example"]}),
        ));
        assert_eq!(
            curl_line(BASE, &req),
            r#"curl -sS -X POST 'https://api.cloudflare.com/client/v4/zones/z1/custom_csrs' -H 'X-Note: costs $HOME'\''s `x`' -H 'Content-Type: application/json' --data-raw '{"name":"O'\''Brien $PATH","sans":["a.example"]}'"#
        );
    }

    #[test]
    fn explicit_content_type_is_not_duplicated() {
        let mut req = request("POST", "/x");
        req.headers = vec![(
            "content-type".into(),
            HeaderValue::Literal("application/json; charset=utf-8".into()),
        )];
        req.body = Some(Body::Json(json!({})));
        assert_eq!(
            curl_line(BASE, &req),
            "curl -sS -X POST 'https://api.cloudflare.com/client/v4/x' -H 'content-type: application/json; charset=utf-8' --data-raw '{}'"
        );
    }

    #[test]
    fn secret_headers_name_env_vars() {
        let mut req = request("DELETE", "/accounts/acc/custom_csrs/7");
        req.headers = vec![
            (
                "Authorization".into(),
                HeaderValue::Secret {
                    prefix: "Bearer ".into(),
                    secret: SecretRef::Token,
                },
            ),
            (
                "X-Auth-Email".into(),
                HeaderValue::Secret {
                    prefix: String::new(),
                    secret: SecretRef::Email,
                },
            ),
            (
                "X-Odd".into(),
                HeaderValue::Secret {
                    prefix: "a\"$b ".into(),
                    secret: SecretRef::ApiKey,
                },
            ),
        ];
        assert_eq!(
            curl_line(BASE, &req),
            r#"curl -sS -X DELETE 'https://api.cloudflare.com/client/v4/accounts/acc/custom_csrs/7' -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" -H "X-Auth-Email: $CLOUDFLARE_EMAIL" -H 'X-Odd: a"$b '"$CLOUDFLARE_API_KEY""#
        );
    }

    #[test]
    fn near_misses_are_derived_by_the_shell() {
        let mut req = request("GET", "/accounts/acc/custom_csrs");
        req.headers = vec![(
            "Authorization".into(),
            HeaderValue::Derived {
                prefix: "Bearer ".into(),
                secret: SecretRef::Token,
                edit: crate::near_miss::Edit::Truncated,
            },
        )];
        assert_eq!(
            curl_line(BASE, &req),
            r#"curl -sS -X GET 'https://api.cloudflare.com/client/v4/accounts/acc/custom_csrs' -H "Authorization: Bearer ${CLOUDFLARE_API_TOKEN%?}""#
        );
        // Every edit's header, as bash reads the line, is the near miss of the variable.
        let token = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
        for edit in crate::near_miss::Edit::ALL {
            req.headers[0].1 = HeaderValue::Derived {
                prefix: "Bearer ".into(),
                secret: SecretRef::Token,
                edit,
            };
            let line = curl_line(BASE, &req);
            assert!(!line.contains(&token[..20]), "{line}");
            let header = line.split(" -H ").nth(1).expect("a header");
            let out = std::process::Command::new("bash")
                .args(["-c", &format!("printf %s {header}")])
                .env("CLOUDFLARE_API_TOKEN", token)
                .output()
                .expect("run bash");
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                format!("Authorization: Bearer {}", edit.apply(token).unwrap()),
                "{edit:?}: {line}"
            );
        }
    }

    /// What the shell command before `| curl` prints, run by bash.
    fn stdin_of(line: &str) -> Vec<u8> {
        let (feed, curl) = line
            .rsplit_once(" | curl ")
            .expect("a command piped into curl");
        assert!(curl.ends_with("--data-binary @-"), "{curl}");
        let out = std::process::Command::new("bash")
            .args(["-c", feed])
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "{feed}");
        out.stdout
    }

    #[test]
    fn long_runs_of_one_character_are_made_not_spelt_out() {
        let body = serde_json::json!({
            "common_name": "a".repeat(3_000_000),
            "sans": ["x'$y.net", "7".repeat(600)],
        });
        let mut req = request("POST", "/zones/z1/custom_csrs");
        req.body = Some(Body::Json(body.clone()));
        let line = curl_line(BASE, &req);
        assert!(line.len() < 400, "{} characters: {line}", line.len());
        assert!(
            line.contains("head -c 3000000 /dev/zero | tr '\\0' 'a'"),
            "{line}"
        );
        assert_eq!(stdin_of(&line), body.to_string().into_bytes());

        let raw = format!("{{\"common_name\": \"{}\"}}", "b".repeat(4000));
        req.body = Some(Body::Raw {
            content_type: Some("application/json".into()),
            bytes: raw.clone().into_bytes(),
        });
        let line = curl_line(BASE, &req);
        assert!(line.len() < 300, "{line}");
        assert_eq!(stdin_of(&line), raw.into_bytes());

        // Short runs, and long runs of punctuation, are spelt out as before.
        req.body = Some(Body::Json(
            serde_json::json!({"a": "c".repeat(511), "b": "-".repeat(900)}),
        ));
        assert!(curl_line(BASE, &req).contains("--data-raw '"));
    }

    #[test]
    fn binary_body_goes_through_printf() {
        let mut req = request("POST", "/zones/z1/custom_csrs");
        req.body = Some(Body::Raw {
            content_type: Some("application/json".into()),
            bytes: vec![b'{', 0x00, 0xff, b'%', b'\\', b'\'', b'\n', b'}'],
        });
        assert_eq!(
            curl_line(BASE, &req),
            r#"printf '{\x00\xff\x25\x5c\x27\x0a}' | curl -sS -X POST 'https://api.cloudflare.com/client/v4/zones/z1/custom_csrs' -H 'Content-Type: application/json' --data-binary @-"#
        );
    }

    #[test]
    fn printable_raw_body_is_quoted_and_untyped_body_drops_curl_default() {
        let mut req = request("PUT", "/x");
        req.body = Some(Body::Raw {
            content_type: None,
            bytes: b"not json, it's $1".to_vec(),
        });
        assert_eq!(
            curl_line(BASE, &req),
            r#"curl -sS -X PUT 'https://api.cloudflare.com/client/v4/x' -H 'Content-Type:' --data-binary 'not json, it'\''s $1'"#
        );
    }

    #[test]
    fn raw_body_starting_with_at_is_not_read_as_a_file() {
        let mut req = request("POST", "/x");
        req.body = Some(Body::Raw {
            content_type: Some("text/plain".into()),
            bytes: b"@/etc/passwd".to_vec(),
        });
        assert_eq!(
            curl_line(BASE, &req),
            "printf '@/etc/passwd' | curl -sS -X POST 'https://api.cloudflare.com/client/v4/x' -H 'Content-Type: text/plain' --data-binary @-"
        );
    }

    #[test]
    fn odd_method_is_quoted() {
        let req = request("GET;rm", "/x");
        assert_eq!(
            curl_line(BASE, &req),
            "curl -sS -X 'GET;rm' 'https://api.cloudflare.com/client/v4/x'"
        );
    }
}
