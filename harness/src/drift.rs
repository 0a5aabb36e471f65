//! Drift notices: what the target said that the contract does not. A field of a CustomCsr,
//! of `result_info` or of the envelope that our schemas do not name, an error code the
//! documented table does not hold, a response header no documentation mentions. None of these
//! is a failure (the contract lets a server add them); each is noted with where it was first
//! seen and how often, so a nightly run shows the day the API grew a field.
//!
//! [`Drift`] is a [`crate::traffic::Observer`]: it sees every exchange the executor completes.
//! It also counts how the requests that carried the run's own credentials were answered, so a
//! report can say when every one of them was refused (credentials without permission).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use crate::model::{Exchange, HeaderValue};
use crate::traffic::Observer;

/// The documented error codes (the table in `cases/README.md` and the API notes): field
/// validation 1400–1420, internal 1500, auth 6003 (with 6102, 6103, 6111 in its chain), 9106,
/// 9109, 10000, routing 7000 and 7003.
pub const DOCUMENTED_CODES: &[u64] = &[
    1400, 1405, 1406, 1407, 1408, 1409, 1410, 1411, 1412, 1413, 1414, 1416, 1417, 1418, 1419, 1420,
    1500, 6003, 6102, 6103, 6111, 7000, 7003, 9106, 9109, 10000,
];

/// Response headers no notice is raised for: HTTP's own, those of Cloudflare's edge and of
/// common proxies, and the documented rate-limit families.
const KNOWN_HEADERS: &[&str] = &[
    "accept-ranges",
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "access-control-max-age",
    "age",
    "allow",
    "alt-svc",
    "cache-control",
    "cf-cache-status",
    "cf-ray",
    "connection",
    "content-encoding",
    "content-language",
    "content-length",
    "content-security-policy",
    "content-type",
    "date",
    "etag",
    "expect-ct",
    "expires",
    "keep-alive",
    "last-modified",
    "location",
    "nel",
    "pragma",
    "ratelimit",
    "ratelimit-limit",
    "ratelimit-policy",
    "ratelimit-remaining",
    "ratelimit-reset",
    "referrer-policy",
    "report-to",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "vary",
    "via",
    "x-content-type-options",
    "x-frame-options",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-xss-protection",
];

/// At most this many distinct notices are kept: a target that invents a new field name in every
/// answer must not grow the report without bound. Later ones are counted in [`Drift::dropped`].
pub const MAX_NOTICES: usize = 40;

/// Names longer than this are cut (a field name is the target's to choose).
const MAX_NAME: usize = 80;

/// What kind of thing the target said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A field of a CustomCsr our schemas do not name.
    CsrField,
    /// A field of `result_info`.
    ResultInfoField,
    /// A top-level field of the envelope.
    EnvelopeField,
    /// An error code not in the documented table.
    ErrorCode,
    /// A response header.
    Header,
}

impl Kind {
    /// The word used in properties and on the terminal.
    pub fn word(self) -> &'static str {
        match self {
            Kind::CsrField => "field",
            Kind::ResultInfoField => "result_info-field",
            Kind::EnvelopeField => "envelope-field",
            Kind::ErrorCode => "error-code",
            Kind::Header => "header",
        }
    }

    fn from_word(w: &str) -> Option<Kind> {
        [
            Kind::CsrField,
            Kind::ResultInfoField,
            Kind::EnvelopeField,
            Kind::ErrorCode,
            Kind::Header,
        ]
        .into_iter()
        .find(|k| k.word() == w)
    }

    /// The page's short label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::CsrField => "CustomCsr field",
            Kind::ResultInfoField => "result_info field",
            Kind::EnvelopeField => "envelope field",
            Kind::ErrorCode => "error code",
            Kind::Header => "response header",
        }
    }

    /// A sentence's subject: `a CustomCsr field`, `an error code`...
    pub fn describe(self) -> &'static str {
        match self {
            Kind::CsrField => "a CustomCsr field our schemas do not name",
            Kind::ResultInfoField => "a result_info field our schemas do not name",
            Kind::EnvelopeField => "an envelope field our schemas do not name",
            Kind::ErrorCode => "an error code not in the documented table",
            Kind::Header => "a response header no documentation mentions",
        }
    }
}

/// One thing the target said that the contract does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: Kind,
    /// The field name, code or header name.
    pub name: String,
    /// How many answers said it.
    pub count: u64,
    /// The trial that first saw it (empty outside any trial, e.g. cleanup).
    pub trial: String,
    /// The request line of the first answer that said it.
    pub request: String,
}

/// The JUnit property prefix of a notice: `drift: field fingerprint`.
pub const PROPERTY_PREFIX: &str = "drift: ";

impl Notice {
    /// `(drift: KIND NAME, seen N times, first in TRIAL: REQUEST)`.
    pub fn property(&self) -> (String, String) {
        (
            format!("{PROPERTY_PREFIX}{} {}", self.kind.word(), self.name),
            format!(
                "seen {} time(s), first in {}: {}",
                self.count,
                if self.trial.is_empty() {
                    "(no trial)"
                } else {
                    &self.trial
                },
                self.request
            ),
        )
    }

    /// Reads back what [`Notice::property`] wrote.
    pub fn from_property(name: &str, value: &str) -> Option<Notice> {
        let (kind, name) = name.strip_prefix(PROPERTY_PREFIX)?.split_once(' ')?;
        let rest = value.strip_prefix("seen ")?;
        let (count, rest) = rest.split_once(" time(s), first in ")?;
        let (trial, request) = rest.split_once(": ")?;
        Some(Notice {
            kind: Kind::from_word(kind)?,
            name: name.to_string(),
            count: count.parse().ok()?,
            trial: if trial == "(no trial)" {
                String::new()
            } else {
                trial.to_string()
            },
            request: request.to_string(),
        })
    }

    /// `field fingerprint (x12, first in property::account::valid_creates: POST /accounts/…)`.
    pub fn short(&self) -> String {
        format!(
            "{} {} (x{}, first in {}: {})",
            self.kind.word(),
            self.name,
            self.count,
            if self.trial.is_empty() {
                "no trial"
            } else {
                &self.trial
            },
            self.request
        )
    }
}

/// Adds shards' notices together: counts add up, the first shard's first sighting stays.
pub fn merge(into: &mut Vec<Notice>, more: Vec<Notice>) {
    for n in more {
        match into
            .iter_mut()
            .find(|m| m.kind == n.kind && m.name == n.name)
        {
            Some(m) => m.count += n.count,
            None => into.push(n),
        }
    }
}

/// The terminal's one line (after `csr-conformance: `), or `None` without notices.
pub fn line(notices: &[Notice]) -> Option<String> {
    (!notices.is_empty()).then(|| {
        format!(
            "drift: {} thing(s) the target said that the contract does not (not failures): {}",
            notices.len(),
            notices
                .iter()
                .map(Notice::short)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

/// JUnit properties: one per notice, how many more were not kept, and how the requests that
/// carried the run's credentials were answered.
pub fn properties(
    notices: &[Notice],
    dropped: u64,
    credentialed: Credentialed,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = notices.iter().map(Notice::property).collect();
    if dropped > 0 {
        out.push(("drift_dropped".into(), dropped.to_string()));
    }
    out.push((
        "credentialed_requests".into(),
        credentialed.sent.to_string(),
    ));
    out.push((
        "credentialed_refused".into(),
        credentialed.refused.to_string(),
    ));
    out
}

/// The field names the schemas give each object.
#[derive(Debug, Clone)]
pub struct Known {
    csr: BTreeSet<String>,
    result_info: BTreeSet<String>,
    envelope: BTreeSet<String>,
}

impl Known {
    /// Reads the names from `dir/common.json` (the shared definitions); the built-in names of
    /// the documented contract when it cannot be read.
    pub fn load(dir: &Path) -> Known {
        std::fs::read_to_string(dir.join("common.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|doc| Known::from_common(&doc))
            .unwrap_or_else(Known::builtin)
    }

    fn from_common(doc: &Value) -> Option<Known> {
        let names = |def: &str| -> Option<BTreeSet<String>> {
            Some(
                doc.pointer(&format!("/$defs/{def}/properties"))?
                    .as_object()?
                    .keys()
                    .cloned()
                    .collect(),
            )
        };
        let mut csr = names("custom_csr")?;
        csr.extend(names("custom_csr_account").unwrap_or_default());
        let mut envelope = names("success_envelope")?;
        envelope.extend(["result".to_string(), "result_info".to_string()]);
        Some(Known {
            csr,
            result_info: names("result_info")?,
            envelope,
        })
    }

    fn builtin() -> Known {
        let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        Known {
            csr: set(&[
                "id",
                "key_type",
                "created_at",
                "common_name",
                "country",
                "state",
                "locality",
                "organization",
                "organizational_unit",
                "csr",
                "sans",
                "account_tag",
                "name",
                "description",
            ]),
            result_info: set(&["page", "per_page", "count", "total_count", "total_pages"]),
            envelope: set(&["success", "errors", "messages", "result", "result_info"]),
        }
    }
}

/// The run's drift notices and how its credentialed requests were answered, as exchanges
/// arrive.
#[derive(Debug)]
pub struct Drift {
    known: Known,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    notices: Vec<Notice>,
    dropped: u64,
    credentialed: u64,
    refused: u64,
}

/// How the requests that carried the run's own credentials were answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Credentialed {
    pub sent: u64,
    /// Answered 401 or 403.
    pub refused: u64,
}

impl Drift {
    pub fn new(known: Known) -> Drift {
        Drift {
            known,
            state: Mutex::default(),
        }
    }

    /// The notices so far, in the order first seen.
    pub fn notices(&self) -> Vec<Notice> {
        self.lock().notices.clone()
    }

    /// Distinct notices beyond [`MAX_NOTICES`], not kept.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    pub fn credentialed(&self) -> Credentialed {
        let s = self.lock();
        Credentialed {
            sent: s.credentialed,
            refused: s.refused,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What `ex` said that the contract does not: (kind, name), each once.
    pub fn said(&self, ex: &Exchange) -> BTreeSet<(Kind, String)> {
        let mut out = BTreeSet::new();
        for (name, _) in &ex.response.headers {
            let name = name.to_ascii_lowercase();
            if !KNOWN_HEADERS.contains(&name.as_str()) {
                out.insert((Kind::Header, name));
            }
        }
        let Some(Value::Object(body)) = ex.response.body_json() else {
            return out;
        };
        // Only answers shaped like the envelope: a mock's problem+json is not the API growing.
        if !body.contains_key("success") {
            return out;
        }
        for key in body.keys() {
            if !self.known.envelope.contains(key) {
                out.insert((Kind::EnvelopeField, key.clone()));
            }
        }
        if let Some(Value::Object(info)) = body.get("result_info") {
            for key in info.keys() {
                if !self.known.result_info.contains(key) {
                    out.insert((Kind::ResultInfoField, key.clone()));
                }
            }
        }
        let csrs: Vec<&serde_json::Map<String, Value>> = match body.get("result") {
            Some(Value::Object(o)) if o.contains_key("id") && o.len() > 1 => vec![o],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        };
        for csr in csrs {
            for key in csr.keys() {
                if !self.known.csr.contains(key) {
                    out.insert((Kind::CsrField, key.clone()));
                }
            }
        }
        for list in ["errors", "messages"] {
            let Some(Value::Array(items)) = body.get(list) else {
                continue;
            };
            for item in items {
                let chain = item.get("error_chain").and_then(Value::as_array);
                for entry in std::iter::once(item).chain(chain.into_iter().flatten()) {
                    if let Some(code) = entry.get("code").and_then(Value::as_u64)
                        && list == "errors"
                        && !DOCUMENTED_CODES.contains(&code)
                    {
                        out.insert((Kind::ErrorCode, code.to_string()));
                    }
                }
            }
        }
        out
    }
}

/// The first `MAX_NAME` characters, with control characters shown as `?`.
fn tidy_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(MAX_NAME)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if name.chars().count() > MAX_NAME {
        out.push('…');
    }
    out
}

impl Observer for Drift {
    fn exchange(&self, trial: Option<&str>, ex: &Exchange) {
        let said = self.said(ex);
        let credentialed = ex
            .request
            .headers
            .iter()
            .any(|(_, v)| matches!(v, HeaderValue::Secret { .. }));
        let mut s = self.lock();
        if credentialed {
            s.credentialed += 1;
            if matches!(ex.response.status, 401 | 403) {
                s.refused += 1;
            }
        }
        for (kind, name) in said {
            let name = tidy_name(&name);
            if let Some(n) = s
                .notices
                .iter_mut()
                .find(|n| n.kind == kind && n.name == name)
            {
                n.count += 1;
            } else if s.notices.len() < MAX_NOTICES {
                s.notices.push(Notice {
                    kind,
                    name,
                    count: 1,
                    trial: trial.unwrap_or_default().to_string(),
                    request: ex.request.line(),
                });
            } else {
                s.dropped += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Request, canned_exchange};

    fn drift() -> Drift {
        Drift::new(Known::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"),
        ))
    }

    #[test]
    fn the_schemas_name_what_the_builtin_list_names() {
        let from_schemas = Known::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"));
        let builtin = Known::builtin();
        assert_eq!(from_schemas.csr, builtin.csr);
        assert_eq!(from_schemas.result_info, builtin.result_info);
        assert_eq!(from_schemas.envelope, builtin.envelope);
    }

    #[test]
    fn what_the_contract_does_not_name_is_noticed_once_per_answer() {
        let d = drift();
        let mut ex = canned_exchange(
            Request::new("GET", "/zones/z/custom_csrs"),
            200,
            Some("application/json"),
            r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"a","key_type":"p256v1","created_at":"x","fingerprint":"f"},{"id":"b","fingerprint":"g"}],"result_info":{"page":1,"per_page":5,"count":2,"total_count":2,"total_pages":1,"cursor":"c"}}"#,
            1,
        );
        ex.response
            .headers
            .push(("X-RateLimit-Policy-2".into(), "5".into()));
        in_trial_observe(&d, "schema::zone::list", &ex);
        in_trial_observe(&d, "schema::zone::again", &ex);
        let refused = canned_exchange(
            Request::new("GET", "/zones/z/custom_csrs/1").with_bearer_token(),
            403,
            Some("application/json"),
            r#"{"success":false,"errors":[{"code":1999,"message":"m","error_chain":[{"code":6102,"message":"x"}]}],"messages":[],"result":null}"#,
            1,
        );
        d.exchange(None, &refused);
        let notices = d.notices();
        let names: Vec<String> = notices.iter().map(Notice::short).collect();
        assert_eq!(
            names,
            vec![
                "field fingerprint (x2, first in schema::zone::list: GET /zones/z/custom_csrs)",
                "result_info-field cursor (x2, first in schema::zone::list: GET /zones/z/custom_csrs)",
                "header x-ratelimit-policy-2 (x2, first in schema::zone::list: GET /zones/z/custom_csrs)",
                "error-code 1999 (x1, first in no trial: GET /zones/z/custom_csrs/1)",
            ]
        );
        assert_eq!(
            d.credentialed(),
            Credentialed {
                sent: 1,
                refused: 1
            }
        );
        for n in &notices {
            let (k, v) = n.property();
            assert_eq!(Notice::from_property(&k, &v).as_ref(), Some(n));
        }
        let mut merged = notices.clone();
        merge(&mut merged, notices.clone());
        assert_eq!(merged[0].count, 4);
        assert!(line(&merged).unwrap().starts_with("drift: 4 thing(s)"));
        assert_eq!(line(&[]), None);
    }

    fn in_trial_observe(d: &Drift, trial: &str, ex: &Exchange) {
        d.exchange(Some(trial), ex);
    }

    #[test]
    fn documented_answers_raise_nothing() {
        let d = drift();
        let ex = canned_exchange(
            Request::new("POST", "/zones/z/custom_csrs"),
            400,
            Some("application/json"),
            r#"{"success":false,"errors":[{"code":1412,"message":"m"}],"messages":[],"result":null}"#,
            1,
        );
        assert!(d.said(&ex).is_empty());
        let mut many = Vec::new();
        for i in 0..(MAX_NOTICES + 3) {
            let mut ex = ex.clone();
            ex.response.headers.push((format!("x-new-{i}"), "1".into()));
            many.push(ex);
        }
        for ex in &many {
            d.exchange(None, ex);
        }
        assert_eq!(d.notices().len(), MAX_NOTICES);
        assert_eq!(d.dropped(), 3);
    }
}
