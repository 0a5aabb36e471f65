//! The one redaction pass. Whatever a source holds (a run's exchanges, a HAR capture) enters as a
//! [`RawExchange`]; the recorder only works on [`Clean`] exchanges, and [`scrub`] is the only way
//! to make one. Scrubbing drops every request header (keeping only the *shape* of the
//! credentials, so a replay knows which auth mode to send), and replaces configured credentials
//! and email addresses wherever they appear: path, query, bodies both ways.

use std::sync::LazyLock;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use regex::Regex;
use serde_json::Value;

use crate::model::{Body, Credentials, SecretRef};

/// What a URL component escapes: all but RFC 3986 unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What a configured credential becomes.
pub const REDACTED: &str = "[REDACTED]";
/// What an email address becomes.
pub const REDACTED_EMAIL: &str = "[REDACTED-EMAIL]";

/// A request header as the source had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawHeader {
    Text(String),
    /// A configured credential the run sent (its value never left the executor).
    Configured(SecretRef),
}

/// One exchange as its source had it, nothing redacted yet.
#[derive(Debug, Clone, PartialEq)]
pub struct RawExchange {
    pub method: String,
    /// From the scope on (`/zones/…/custom_csrs/…`), percent-encoded as sent.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, RawHeader)>,
    pub body: Option<Body>,
    pub status: u16,
    /// The answer's body; `None` when the source did not keep it.
    pub response: Option<Vec<u8>>,
}

/// The credentials a request carried, with their values gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthShape {
    /// An `Authorization` header: whether it is `Bearer <token>`.
    pub bearer: Option<bool>,
    /// An `X-Auth-Email` header: whether it holds an email address.
    pub email: Option<bool>,
    /// An `X-Auth-Key` header.
    pub key: bool,
}

impl AuthShape {
    pub fn is_empty(&self) -> bool {
        self.bearer.is_none() && self.email.is_none() && !self.key
    }
}

/// An exchange after [`scrub`]: no header, credential or email address left.
// A private field rather than `#[non_exhaustive]`, which would still let the rest of the
// crate build one without scrubbing.
#[allow(clippy::manual_non_exhaustive)]
#[derive(Debug, Clone, PartialEq)]
pub struct Clean {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub auth: AuthShape,
    pub body: Option<Body>,
    pub status: u16,
    /// The answer as JSON; `None` when it was not kept or is not JSON.
    pub response: Option<Value>,
    /// Only [`scrub`] makes a `Clean`.
    _scrubbed: (),
}

/// The credential values to scrub, each with what it is (named, never printed).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<(String, String)>,
}

impl Secrets {
    pub fn from_credentials(creds: &Credentials) -> Secrets {
        let mut s = Secrets::default();
        for (what, v) in [
            (
                "the configured API token (CLOUDFLARE_API_TOKEN)",
                &creds.token,
            ),
            ("the configured email (CLOUDFLARE_EMAIL)", &creds.email),
            (
                "the configured API key (CLOUDFLARE_API_KEY)",
                &creds.api_key,
            ),
        ] {
            if let Some(v) = v {
                s.add(what, v);
            }
        }
        for (what, v) in [
            ("a near miss of the configured API token", &creds.token),
            ("a near miss of the configured API key", &creds.api_key),
        ] {
            for near in v.iter().flat_map(|v| crate::near_miss::near_misses(v)) {
                s.add(what, &near);
            }
        }
        s
    }

    /// Adds a value to scrub. Values under 4 characters would scrub ordinary text and are
    /// not credentials anyone uses.
    pub fn add(&mut self, what: &str, value: &str) {
        let value = value.trim();
        // A value a HAR export already redacted is no credential to learn.
        if value == REDACTED || value == REDACTED_EMAIL {
            return;
        }
        if value.chars().count() >= 4 && !self.values.iter().any(|(_, v)| v == value) {
            self.values.push((what.to_string(), value.to_string()));
            self.values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        }
    }

    /// Adds the credentials a source's own headers carry (a HAR's `Authorization`, keys,
    /// emails and cookies), so that an echo of them anywhere else is scrubbed too.
    pub fn learn_from_headers(&mut self, headers: &[(String, RawHeader)]) {
        for (name, value) in headers {
            let RawHeader::Text(value) = value else {
                continue;
            };
            match name.to_ascii_lowercase().as_str() {
                "authorization" | "proxy-authorization" => {
                    let v = value.trim();
                    let token = v.split_once(' ').map_or(v, |(scheme, rest)| {
                        if scheme.eq_ignore_ascii_case("bearer") {
                            rest
                        } else {
                            v
                        }
                    });
                    self.add("a token from an Authorization header", token);
                }
                "x-auth-key" => self.add("a key from an X-Auth-Key header", value),
                "x-auth-email" => self.add("an email from an X-Auth-Email header", value),
                "cookie" => {
                    for pair in value.split(';') {
                        if let Some((_, v)) = pair.split_once('=')
                            && v.trim().len() >= 8
                        {
                            self.add("a cookie value", v);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Each secret with the spellings it could take in text: as is, percent-encoded, and
    /// JSON- or TOML-escaped.
    pub(crate) fn spellings(&self) -> impl Iterator<Item = (&str, Vec<String>)> {
        self.values.iter().map(|(what, v)| {
            let mut all = vec![v.clone()];
            let encoded = utf8_percent_encode(v, COMPONENT).to_string();
            let json = serde_json::to_string(v).unwrap_or_default();
            let json = json.trim_matches('"').to_string();
            let toml = toml::Value::String(v.clone()).to_string();
            let toml = toml.trim_matches(|c| c == '"' || c == '\'').to_string();
            for s in [encoded, json, toml] {
                if !all.contains(&s) {
                    all.push(s);
                }
            }
            (what.as_str(), all)
        })
    }

    /// `text` with every configured credential (in any spelling) and email address replaced.
    pub(crate) fn scrub_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (_, spellings) in self.spellings() {
            for s in spellings {
                if out.contains(&s) {
                    out = out.replace(&s, REDACTED);
                }
            }
        }
        EMAIL.replace_all(&out, REDACTED_EMAIL).into_owned()
    }

    fn scrub_value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.scrub_text(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.scrub_value(x)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (self.scrub_text(k), self.scrub_value(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// [`Secrets::scrub_text`] for bytes that may not be UTF-8.
    pub(crate) fn scrub_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.scrub_text(text).into_bytes(),
            Err(_) => {
                let mut out = bytes.to_vec();
                for (_, spellings) in self.spellings() {
                    for s in spellings {
                        out = crate::report::junit::replace_bytes(
                            &out,
                            s.as_bytes(),
                            REDACTED.as_bytes(),
                        );
                    }
                }
                out
            }
        }
    }
}

/// An email address, also with its `@` percent-encoded as in a URL.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[a-z0-9._%+-]+(?:@|%40)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}",
    )
    .expect("the email pattern compiles")
});

/// Whether a text holds an email address.
pub fn holds_email(text: &str) -> bool {
    EMAIL.is_match(text)
}

/// The one redaction pass: every header dropped (credentials kept as a shape only), configured
/// credentials and email addresses replaced wherever they appear.
pub fn scrub(raw: &RawExchange, secrets: &Secrets) -> Clean {
    let mut auth = AuthShape::default();
    for (name, value) in &raw.headers {
        match (name.to_ascii_lowercase().as_str(), value) {
            ("authorization", RawHeader::Configured(_)) => auth.bearer = Some(true),
            ("authorization", RawHeader::Text(v)) => auth.bearer = Some(well_formed_bearer(v)),
            ("x-auth-email", RawHeader::Configured(_)) => auth.email = Some(true),
            ("x-auth-email", RawHeader::Text(v)) => {
                auth.email = Some(v == REDACTED_EMAIL || (v.contains('@') && holds_email(v)))
            }
            ("x-auth-key", _) => auth.key = true,
            _ => {}
        }
    }
    let body = raw.body.as_ref().map(|b| match b {
        Body::Json(v) => Body::Json(secrets.scrub_value(v)),
        Body::Raw {
            content_type,
            bytes,
        } => Body::Raw {
            content_type: content_type.clone(),
            bytes: secrets.scrub_bytes(bytes),
        },
    });
    let response = raw
        .response
        .as_ref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .map(|v| secrets.scrub_value(&v));
    Clean {
        method: raw.method.to_ascii_uppercase(),
        path: secrets.scrub_text(&raw.path),
        query: raw
            .query
            .iter()
            .map(|(k, v)| (secrets.scrub_text(k), secrets.scrub_text(v)))
            .collect(),
        auth,
        body,
        status: raw.status,
        response,
        _scrubbed: (),
    }
}

/// `Bearer <token>`, the token of characters a token can hold (or redacted by a HAR export,
/// which writes a well-formed bearer as `Bearer [REDACTED]`).
fn well_formed_bearer(value: &str) -> bool {
    let Some(token) = value.strip_prefix("Bearer ") else {
        return false;
    };
    token == REDACTED
        || !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
    const KEY: &str = "144c9defac04969c7bfad8efaa8ea194";

    fn secrets() -> Secrets {
        Secrets::from_credentials(&Credentials {
            token: Some(TOKEN.into()),
            email: Some("ops@corp.example".into()),
            api_key: Some(KEY.into()),
        })
    }

    fn raw(headers: Vec<(&str, RawHeader)>) -> RawExchange {
        RawExchange {
            method: "post".into(),
            path: format!("/zones/z/custom_csrs/{TOKEN}"),
            query: vec![("who".into(), "ops@corp.example".into())],
            headers: headers
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            body: Some(Body::Json(
                json!({"organization": format!("key {KEY}"), "contact": "a.b@c.io"}),
            )),
            status: 400,
            response: Some(
                json!({"errors": [{"code": 6003, "message": format!("bad token {TOKEN}, mail to x%40y.org")}]})
                    .to_string()
                    .into_bytes(),
            ),
        }
    }

    #[test]
    fn credentials_and_emails_go_everywhere_headers_leave_a_shape() {
        let r = raw(vec![
            ("Authorization", RawHeader::Text(format!("Bearer {TOKEN}"))),
            ("X-Auth-Email", RawHeader::Configured(SecretRef::Email)),
            ("X-Auth-Key", RawHeader::Text(KEY.into())),
            ("Cookie", RawHeader::Text("session=abcdefgh12345678".into())),
        ]);
        let clean = scrub(&r, &secrets());
        let text = format!("{clean:?}");
        for leaked in [
            TOKEN,
            KEY,
            "ops@corp.example",
            "a.b@c.io",
            "x%40y.org",
            "abcdefgh",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert_eq!(
            clean.auth,
            AuthShape {
                bearer: Some(true),
                email: Some(true),
                key: true
            }
        );
        assert_eq!(clean.method, "POST");
        assert_eq!(clean.path, "/zones/z/custom_csrs/[REDACTED]");
        assert_eq!(
            clean.query[0].1, REDACTED,
            "the configured email is a credential first"
        );
        assert_eq!(
            clean.body,
            Some(Body::Json(
                json!({"organization": "key [REDACTED]", "contact": REDACTED_EMAIL})
            ))
        );
    }

    #[test]
    fn auth_shapes() {
        let shape = |h: Vec<(&str, RawHeader)>| scrub(&raw(h), &Secrets::default()).auth;
        let text = |s: &str| RawHeader::Text(s.into());
        assert!(shape(vec![]).is_empty());
        assert_eq!(
            shape(vec![("authorization", text("Bearer not a token!"))]).bearer,
            Some(false)
        );
        assert_eq!(
            shape(vec![("X-Auth-Email", text("not-an-email-address"))]).email,
            Some(false)
        );
    }

    #[test]
    fn a_source_teaches_its_own_credentials() {
        let mut s = Secrets::default();
        s.learn_from_headers(&[
            (
                "authorization".into(),
                RawHeader::Text(format!("Bearer {TOKEN}")),
            ),
            (
                "cookie".into(),
                RawHeader::Text("a=1; __cf=zzzzzzzzzzzz".into()),
            ),
        ]);
        let clean = scrub(&raw(vec![]), &s);
        assert!(!format!("{clean:?}").contains(TOKEN));
        assert_eq!(
            s.scrub_text("zzzzzzzzzzzz and 1"),
            "[REDACTED] and 1",
            "a short cookie value is not a secret worth scrubbing"
        );
    }

    #[test]
    fn binary_bodies_are_scrubbed_bytewise() {
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend_from_slice(KEY.as_bytes());
        let mut r = raw(vec![]);
        r.body = Some(Body::Raw {
            content_type: None,
            bytes,
        });
        let Some(Body::Raw { bytes, .. }) = scrub(&r, &secrets()).body else {
            panic!()
        };
        assert_eq!(&bytes[2..], REDACTED.as_bytes());
    }
}
