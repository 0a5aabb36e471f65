//! The data that flows through a run: requests as data, exchanges as records, findings and
//! outcomes as values. Nothing here touches the network, so loaders, checks and reporters can
//! be tested without a socket.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;

use crate::near_miss::{self, Edit};

/// Where a CSR lives: under an account or under a zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Account(String),
    Zone(String),
}

impl Scope {
    /// The path segment that selects the scope kind (`accounts` or `zones`).
    pub fn segment(&self) -> &'static str {
        match self {
            Scope::Account(_) => "accounts",
            Scope::Zone(_) => "zones",
        }
    }

    /// The label used in trial names and reports (`account` or `zone`).
    pub fn label(&self) -> &'static str {
        match self {
            Scope::Account(_) => "account",
            Scope::Zone(_) => "zone",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Scope::Account(id) | Scope::Zone(id) => id,
        }
    }

    /// `/accounts/{id}` or `/zones/{id}`, relative to the target's base URL.
    pub fn prefix(&self) -> String {
        format!("/{}/{}", self.segment(), self.id())
    }

    /// The same kind of scope under another id.
    pub fn with_id(&self, id: impl Into<String>) -> Scope {
        match self {
            Scope::Account(_) => Scope::Account(id.into()),
            Scope::Zone(_) => Scope::Zone(id.into()),
        }
    }
}

/// The credentials a run may use. Their values never leave the process: requests carry an
/// [`Auth`] that names them, and only the executor puts the values on the wire.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub token: Option<String>,
    pub email: Option<String>,
    pub api_key: Option<String>,
}

impl Credentials {
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn has_email_key(&self) -> bool {
        self.email.is_some() && self.api_key.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.has_token() && !self.has_email_key()
    }

    /// Every secret value, for the no-echo and redaction rules.
    pub fn secrets(&self) -> Vec<&str> {
        [&self.token, &self.email, &self.api_key]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Every near miss of the configured token and API key (see [`crate::near_miss`]), for
    /// the redaction passes: an echo of one gives away all but a character of the secret.
    pub fn near_misses(&self) -> Vec<String> {
        [&self.token, &self.api_key]
            .into_iter()
            .flatten()
            .flat_map(|v| near_miss::near_misses(v))
            .collect()
    }
}

impl fmt::Debug for Credentials {
    // Secrets must not reach logs through a stray `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The value of one request header: either literal text (safe to print) or a reference to a
/// configured secret, which is printed as its environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Literal(String),
    /// `prefix` + the secret's value, e.g. `Bearer ` + token.
    Secret {
        prefix: String,
        secret: SecretRef,
    },
    /// `prefix` + the secret's value after one edit: a near miss of the configured
    /// credential. Only the executor builds the value; reports describe it in words.
    Derived {
        prefix: String,
        secret: SecretRef,
        edit: Edit,
    },
}

impl HeaderValue {
    /// The text sent on the wire, or `None` when the secret it names is not configured (or
    /// the edit would not change it). Only the executor and the no-echo check call this.
    pub fn resolve(&self, creds: &Credentials) -> Option<String> {
        match self {
            HeaderValue::Literal(v) => Some(v.clone()),
            HeaderValue::Secret { prefix, secret } => {
                secret.value(creds).map(|v| format!("{prefix}{v}"))
            }
            HeaderValue::Derived {
                prefix,
                secret,
                edit,
            } => secret
                .value(creds)
                .and_then(|v| edit.apply(v))
                .map(|v| format!("{prefix}{v}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretRef {
    Token,
    Email,
    ApiKey,
}

impl SecretRef {
    /// The environment variable a reproduction line names instead of the value.
    pub fn env_var(self) -> &'static str {
        match self {
            SecretRef::Token => "CLOUDFLARE_API_TOKEN",
            SecretRef::Email => "CLOUDFLARE_EMAIL",
            SecretRef::ApiKey => "CLOUDFLARE_API_KEY",
        }
    }

    /// What the secret is, in a sentence: "the configured token".
    pub fn noun(self) -> &'static str {
        match self {
            SecretRef::Token => "token",
            SecretRef::Email => "email",
            SecretRef::ApiKey => "API key",
        }
    }

    pub fn value(self, creds: &Credentials) -> Option<&str> {
        match self {
            SecretRef::Token => creds.token.as_deref(),
            SecretRef::Email => creds.email.as_deref(),
            SecretRef::ApiKey => creds.api_key.as_deref(),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Value),
    /// Bytes sent as they are, for malformed-input cases.
    Raw {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
}

/// One HTTP request, fully resolved (no templates left), with secrets still symbolic.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    /// Path relative to the target's base URL, starting with `/`, already percent-encoded
    /// where needed.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, HeaderValue)>,
    pub body: Option<Body>,
}

impl Request {
    /// A request with no query, headers or body.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// The same request sending the configured token as `Authorization: Bearer …`.
    pub fn with_bearer_token(mut self) -> Request {
        self.headers.push((
            "Authorization".into(),
            HeaderValue::Secret {
                prefix: "Bearer ".into(),
                secret: SecretRef::Token,
            },
        ));
        self
    }

    /// `GET /zones/…/custom_csrs?page=2`, the request line shown in reports.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}", self.method, self.path);
        for (i, (k, v)) in self.query.iter().enumerate() {
            line.push(if i == 0 { '?' } else { '&' });
            line.push_str(k);
            line.push('=');
            line.push_str(v);
        }
        line
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body parsed as JSON, once, by whichever check asks first.
    parsed: ParsedBody,
}

/// A parse of a response body shared by the clones of its exchange. Every check of an answer
/// reads its JSON, and a create answer with 150 SANs is tens of kilobytes: parsing it once
/// instead of once per check was a large part of a generated run's CPU.
#[derive(Clone, Default)]
struct ParsedBody(Arc<OnceLock<Option<Value>>>);

impl fmt::Debug for ParsedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ParsedBody")
    }
}

impl PartialEq for ParsedBody {
    /// It follows from the body, which the response compares.
    fn eq(&self, _: &ParsedBody) -> bool {
        true
    }
}

impl Response {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Response {
        Response {
            status,
            headers,
            body,
            parsed: ParsedBody::default(),
        }
    }

    /// The body as JSON, if it is JSON; parsed on the first call only.
    pub fn body_json(&self) -> Option<&Value> {
        self.parsed
            .0
            .get_or_init(|| serde_json::from_slice(&self.body).ok())
            .as_ref()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first `max` characters of the body, for reports.
    pub fn excerpt(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut out: String = text.chars().take(max).collect();
        if text.chars().count() > max {
            out.push('…');
        }
        out
    }
}

/// A request and what the target answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub request: Request,
    pub response: Response,
    pub elapsed: Duration,
}

impl Exchange {
    /// The values of the credentials this request carried, to be sure none comes back.
    pub fn secrets_sent(&self, creds: &Credentials) -> Vec<String> {
        self.request
            .headers
            .iter()
            .filter_map(|(name, value)| match value {
                HeaderValue::Secret { secret, .. } => secret.value(creds).map(String::from),
                HeaderValue::Derived { secret, edit, .. } => secret
                    .value(creds)
                    .and_then(|v| edit.apply(v))
                    .map(|v| v.trim().to_string()),
                HeaderValue::Literal(v) => {
                    let n = name.to_ascii_lowercase();
                    (n == "authorization" || n.starts_with("x-auth-"))
                        .then(|| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_string())
                }
            })
            .filter(|v| v.len() >= 8)
            .collect()
    }
}

/// An exchange as tests need one: `request` answered with `status`, an optional content type
/// and `body`.
#[cfg(test)]
pub(crate) fn canned_exchange(
    request: Request,
    status: u16,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
    elapsed_ms: u64,
) -> Exchange {
    Exchange {
        request,
        response: Response::new(
            status,
            content_type
                .map(|ct| ("content-type".to_string(), ct.to_string()))
                .into_iter()
                .collect(),
            body.into(),
        ),
        elapsed: Duration::from_millis(elapsed_ms),
    }
}

/// One broken rule: which rule, where, what was expected and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's name, e.g. `envelope.success-matches-status`.
    pub rule: String,
    /// JSON pointer into the response body (`""` for the whole body, or a header/status marker).
    pub pointer: String,
    pub expected: String,
    pub actual: String,
    /// A sentence a person reads first.
    pub message: String,
}

impl Finding {
    pub fn new(
        rule: impl Into<String>,
        pointer: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule: rule.into(),
            pointer: pointer.into(),
            expected: expected.into(),
            actual: actual.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {} (at {:?}: expected {}, got {})",
            self.rule, self.message, self.pointer, self.expected, self.actual
        )
    }
}

/// What running a case produced.
#[derive(Debug, Default)]
pub struct CaseRun {
    pub exchanges: Vec<Exchange>,
    pub findings: Vec<Finding>,
    pub error: Option<String>,
    pub skipped: Option<String>,
    pub vars: HashMap<String, Value>,
    /// Every wait for a 429's Retry-After, one line each.
    pub waits: Vec<String>,
    /// The last answer could not be judged at all (a redirect, a success that is not JSON):
    /// `error` says why, for every check family.
    pub unjudgeable: bool,
}

/// How a trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// The target broke the contract.
    Failure(Vec<Finding>),
    /// The run could not judge (connection refused, timeout, bad case file, ...).
    Error(String),
    Skipped(String),
}

/// The record of one trial, consumed by reporters.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The trial's full name, e.g. `pem::account::fixtures.rsa_full`.
    pub name: String,
    /// The JUnit testsuite it belongs to (check family or case file).
    pub suite: String,
    pub verdict: Verdict,
    /// The exchanges the verdict was based on (the last one is the one a failure is about).
    pub exchanges: Vec<Exchange>,
    pub duration: Duration,
    /// The seed of a property-generated trial.
    pub seed: Option<u64>,
    /// Labelled texts a report shows beside the findings, e.g. a generated trial's minimal
    /// and original inputs and how many cases it ran.
    pub notes: Vec<(String, String)>,
    /// Earlier attempts that did not pass, when `--retries` ran the trial again: with a pass
    /// as the verdict, the trial is flaky.
    pub retries: Vec<Attempt>,
    /// Every wait for a 429's Retry-After, one line each.
    pub waits: Vec<String>,
}

impl Outcome {
    /// Passed, but only after failing: reported apart from a plain pass.
    pub fn is_flaky(&self) -> bool {
        matches!(self.verdict, Verdict::Pass) && !self.retries.is_empty()
    }
}

/// An attempt at a trial that did not pass and was run again (`--retries`).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// An error (could not judge) rather than a failure (contract broken).
    pub error: bool,
    /// One line: what went wrong.
    pub summary: String,
    /// The attempt's whole report text: findings, exchange, curl line.
    pub details: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_miss_sent_is_a_secret_that_must_not_come_back() {
        let creds = Credentials {
            token: Some("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY".into()),
            email: None,
            api_key: None,
        };
        let mut request = Request::new("GET", "/x");
        request.headers.push((
            "Authorization".into(),
            HeaderValue::Derived {
                prefix: "Bearer ".into(),
                secret: SecretRef::Token,
                edit: Edit::OtherCase,
            },
        ));
        let ex = canned_exchange(request, 403, None, "", 1);
        let lower = "sN3Lzjtbx6KKG7oDCbuaXoo963geiYgqQNftofyy";
        assert_eq!(ex.secrets_sent(&creds), vec![lower.to_string()]);
        assert_eq!(
            ex.request.headers[0].1.resolve(&creds).unwrap(),
            format!("Bearer {lower}")
        );
        assert!(creds.near_misses().contains(&lower.to_string()));
        let shown = format!("{:?}", ex.request);
        assert!(
            !shown.contains("Sn3lZJ") && !shown.contains("sN3Lzj"),
            "{shown}"
        );
        assert_eq!(
            HeaderValue::Derived {
                prefix: String::new(),
                secret: SecretRef::ApiKey,
                edit: Edit::Truncated,
            }
            .resolve(&creds),
            None,
            "no API key configured"
        );
    }
}
