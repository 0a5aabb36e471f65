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
            HeaderValue::Secret { prefix, secret } => {
                secret_header(&format!("{name}: {prefix}"), secret.env_var())
            }
        });
    }

    let has_content_type = request
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    let mut stdin_bytes = None;
    match &request.body {
        None => {}
        Some(Body::Json(value)) => {
            if !has_content_type {
                args.push("-H".into());
                args.push(shell_quote("Content-Type: application/json"));
            }
            args.push("--data-raw".into());
            // Compact serde_json output escapes every control character, so it stays one line.
            args.push(shell_quote(&value.to_string()));
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
                Some(text) => args.push(shell_quote(text)),
                None => {
                    args.push("@-".into());
                    stdin_bytes = Some(bytes.as_slice());
                }
            }
        }
    }

    let curl = args.join(" ");
    match stdin_bytes {
        Some(bytes) => format!("printf {} | {curl}", shell_quote(&printf_format(bytes))),
        None => curl,
    }
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

/// `"Authorization: Bearer $CLOUDFLARE_API_TOKEN"`: the shell substitutes the variable, so the
/// value never appears in a report. If the fixed part holds a character that double quotes
/// would interpret, it is single-quoted and only the variable reference is double-quoted.
fn secret_header(fixed: &str, env_var: &str) -> String {
    let double_quote_safe = fixed
        .chars()
        .all(|c| !c.is_control() && !matches!(c, '"' | '$' | '`' | '\\' | '!'));
    if double_quote_safe {
        format!("\"{fixed}${env_var}\"")
    } else {
        format!("{}\"${env_var}\"", shell_quote(fixed))
    }
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
