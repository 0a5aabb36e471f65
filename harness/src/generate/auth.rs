//! Credential variants: none, partial, malformed and wrong, near misses of the configured
//! credentials (one edit away), and the configured credentials themselves, on every operation.
//! Which headers each sends (secrets and near misses stay symbolic), which documented rule its
//! answer is compared with, and the fixed inputs that send every kind at least once per run.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::select;

use crate::cases::AuthMode;
use crate::model::{Credentials, Exchange, Finding, HeaderValue, SecretRef};
use crate::near_miss::Edit;
use crate::session::auth_headers;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOp {
    List,
    Get,
    Delete,
    Create,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// One of the broken modes hand-written cases also use.
    Mode(AuthMode),
    /// `Authorization: Bearer <random>`.
    Bearer(String),
    /// `X-Auth-Email` + `X-Auth-Key` that are well formed and wrong.
    EmailKey(String, String),
    /// An `Authorization` header that is not a bearer token.
    Header(&'static str),
    /// One edit away from the configured credentials.
    NearMiss(NearMiss),
    /// The configured credentials of one scheme: the baseline that makes a refusal mean
    /// something.
    Configured(Scheme),
}

/// An auth scheme the configured credentials may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    EmailKey,
}

/// A credential one edit away from the configured one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NearMiss {
    /// `Authorization: Bearer` + the configured token, edited.
    Token(Edit),
    /// The configured email + the configured API key, edited.
    Key(Edit),
    /// The configured token sent as `X-Auth-Key` (with the configured email).
    TokenAsKey,
    /// The configured API key with an email that is not the configured one.
    KeyWithOtherEmail,
}

impl NearMiss {
    pub const ALL: [NearMiss; 12] = [
        NearMiss::Token(Edit::LastChanged),
        NearMiss::Token(Edit::Truncated),
        NearMiss::Token(Edit::Extended),
        NearMiss::Token(Edit::OtherCase),
        NearMiss::Token(Edit::Padded),
        NearMiss::Key(Edit::LastChanged),
        NearMiss::Key(Edit::Truncated),
        NearMiss::Key(Edit::Extended),
        NearMiss::Key(Edit::OtherCase),
        NearMiss::Key(Edit::Padded),
        NearMiss::TokenAsKey,
        NearMiss::KeyWithOtherEmail,
    ];

    /// The documented rule the answer is compared with; `None` for a padded credential,
    /// which a correct server may accept (see [`Edit::Padded`]).
    pub fn rule(self) -> Option<&'static str> {
        match self {
            NearMiss::Token(e) | NearMiss::Key(e) if !e.must_be_refused() => None,
            NearMiss::Token(_) | NearMiss::TokenAsKey => Some("auth.near-miss-token"),
            NearMiss::Key(_) | NearMiss::KeyWithOtherEmail => Some("auth.near-miss-key"),
        }
    }
}

impl fmt::Display for NearMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NearMiss::Token(e) => write!(
                f,
                "Authorization: Bearer <the configured token {}>",
                e.phrase()
            ),
            NearMiss::Key(e) => write!(
                f,
                "X-Auth-Email: <the configured email>, X-Auth-Key: <the configured API key {}>",
                e.phrase()
            ),
            NearMiss::TokenAsKey => f.write_str(
                "X-Auth-Email: <the configured email, or a stand-in>, X-Auth-Key: <the configured token>",
            ),
            NearMiss::KeyWithOtherEmail => write!(
                f,
                "X-Auth-Email: {OTHER_EMAIL}, X-Auth-Key: <the configured API key>"
            ),
        }
    }
}

/// An address that is not the configured email, for the right key with another email.
const OTHER_EMAIL: &str = "someone-else@csr-conformance.invalid";
/// What `X-Auth-Email` holds beside the token as a key when no email is configured.
const STAND_IN_EMAIL: &str = "conformance@csr-conformance.invalid";

#[derive(Clone, PartialEq)]
pub struct AuthInput {
    pub op: AuthOp,
    pub credential: Credential,
    /// For get and delete: the (unknown) id asked for.
    pub id: u128,
}

impl fmt::Debug for AuthInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cred = match &self.credential {
            Credential::Mode(m) => format!("auth = {}", m.name()),
            Credential::Bearer(t) => format!("Authorization: Bearer {t}"),
            Credential::EmailKey(e, k) => format!("X-Auth-Email: {e}, X-Auth-Key: {k}"),
            Credential::Header(h) => format!("Authorization: {h}"),
            Credential::NearMiss(n) => n.to_string(),
            Credential::Configured(Scheme::Bearer) => {
                "Authorization: Bearer <the configured token>".into()
            }
            Credential::Configured(Scheme::EmailKey) => {
                "X-Auth-Email: <the configured email>, X-Auth-Key: <the configured API key>".into()
            }
        };
        write!(f, "{:?} with {cred}", self.op)
    }
}

/// What a correct server does with a credential, and the documented rule that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A 4xx, under this rule.
    Refused(&'static str),
    /// A 2xx, under this rule.
    Accepted(&'static str),
    /// Either (a padded credential): only the universal properties judge the answer.
    Either,
}

impl Credential {
    pub fn expect(&self) -> Expect {
        match self {
            Credential::Mode(AuthMode::None) => Expect::Refused("auth.missing"),
            Credential::Mode(AuthMode::EmailOnly | AuthMode::KeyOnly) => {
                Expect::Refused("auth.partial")
            }
            Credential::Mode(AuthMode::MalformedBearer | AuthMode::MalformedEmail)
            | Credential::Header(_) => Expect::Refused("auth.malformed"),
            Credential::Mode(_) | Credential::Bearer(_) | Credential::EmailKey(..) => {
                Expect::Refused("auth.wrong")
            }
            Credential::NearMiss(n) => n.rule().map_or(Expect::Either, Expect::Refused),
            Credential::Configured(Scheme::Bearer) => Expect::Accepted("auth.bearer"),
            Credential::Configured(Scheme::EmailKey) => Expect::Accepted("auth.email-key"),
        }
    }

    /// The headers this credential sends, or `None` when it is made from a credential that is
    /// not configured (or an edit that would not change it): such a case is skipped, not
    /// faked. Secrets and near misses stay symbolic.
    pub fn headers(&self, creds: &Credentials) -> Option<Vec<(String, HeaderValue)>> {
        let lit = |v: &str| HeaderValue::Literal(v.to_string());
        let secret = |s| HeaderValue::Secret {
            prefix: String::new(),
            secret: s,
        };
        let edits = |s: SecretRef, e: Edit| s.value(creds).and_then(|v| e.apply(v)).is_some();
        Some(match self {
            Credential::Mode(mode) => auth_headers(*mode, creds).ok()?,
            Credential::Bearer(t) => vec![("Authorization".into(), lit(&format!("Bearer {t}")))],
            Credential::EmailKey(e, k) => vec![
                ("X-Auth-Email".into(), lit(e)),
                ("X-Auth-Key".into(), lit(k)),
            ],
            Credential::Header(h) => vec![("Authorization".into(), lit(h))],
            Credential::Configured(Scheme::Bearer) => auth_headers(AuthMode::Token, creds).ok()?,
            Credential::Configured(Scheme::EmailKey) => {
                auth_headers(AuthMode::EmailKey, creds).ok()?
            }
            Credential::NearMiss(NearMiss::Token(edit)) => {
                if !edits(SecretRef::Token, *edit) {
                    return None;
                }
                vec![(
                    "Authorization".into(),
                    HeaderValue::Derived {
                        prefix: "Bearer ".into(),
                        secret: SecretRef::Token,
                        edit: *edit,
                    },
                )]
            }
            Credential::NearMiss(NearMiss::Key(edit)) => {
                if !creds.has_email_key() || !edits(SecretRef::ApiKey, *edit) {
                    return None;
                }
                vec![
                    ("X-Auth-Email".into(), secret(SecretRef::Email)),
                    (
                        "X-Auth-Key".into(),
                        HeaderValue::Derived {
                            prefix: String::new(),
                            secret: SecretRef::ApiKey,
                            edit: *edit,
                        },
                    ),
                ]
            }
            Credential::NearMiss(NearMiss::TokenAsKey) => {
                // A token that is also the key would be the right credential.
                if creds.token.is_none() || creds.token == creds.api_key {
                    return None;
                }
                let email = if creds.email.is_some() {
                    secret(SecretRef::Email)
                } else {
                    lit(STAND_IN_EMAIL)
                };
                vec![
                    ("X-Auth-Email".into(), email),
                    ("X-Auth-Key".into(), secret(SecretRef::Token)),
                ]
            }
            Credential::NearMiss(NearMiss::KeyWithOtherEmail) => {
                let configured = creds.email.as_deref().unwrap_or(OTHER_EMAIL);
                if !creds.has_email_key() || configured.eq_ignore_ascii_case(OTHER_EMAIL) {
                    return None;
                }
                vec![
                    ("X-Auth-Email".into(), lit(OTHER_EMAIL)),
                    ("X-Auth-Key".into(), secret(SecretRef::ApiKey)),
                ]
            }
        })
    }
}

/// Compares an answer with what `credential` expects: records the rule in the run's ledger
/// and says what broke it. A near miss that is let in is named by its rule; any other
/// credential by the property.
pub fn judge(credential: &Credential, ex: &Exchange) -> Option<Finding> {
    let s = ex.response.status;
    match credential.expect() {
        Expect::Either => None,
        Expect::Refused(rule) => {
            let held = (400..500).contains(&s);
            crate::rules::exercised(rule, held);
            if held {
                return None;
            }
            Some(match credential {
                Credential::NearMiss(n) => Finding::new(
                    rule,
                    "status",
                    "4xx",
                    s.to_string(),
                    format!(
                        "a credential one edit away from the configured one ({n}) must be refused like any wrong credential"
                    ),
                ),
                _ => super::properties::auth_refused(ex)?,
            })
        }
        Expect::Accepted(rule) => {
            let held = (200..300).contains(&s);
            crate::rules::exercised(rule, held);
            (!held).then(|| {
                Finding::new(
                    rule,
                    "status",
                    "2xx",
                    s.to_string(),
                    "the configured credentials must be accepted in the scheme they are configured for",
                )
            })
        }
    }
}

const BROKEN_MODES: &[AuthMode] = &[
    AuthMode::None,
    AuthMode::WrongToken,
    AuthMode::WrongKey,
    AuthMode::EmailOnly,
    AuthMode::KeyOnly,
    AuthMode::MalformedBearer,
    AuthMode::MalformedEmail,
];

fn token_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        Just('_'),
        Just('-'),
    ]
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        3 => select(BROKEN_MODES).prop_map(Credential::Mode),
        2 => proptest::collection::vec(token_char(), 1..=64)
            .prop_map(|c| Credential::Bearer(c.into_iter().collect())),
        1 => (0u32..10_000, proptest::collection::vec(proptest::char::range('0', '9'), 37))
            .prop_map(|(n, k)| Credential::EmailKey(
                format!("user{n}@csr-conformance.invalid"),
                k.into_iter().collect(),
            )),
        1 => select(&["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token abc", "bearer", "Bearer a b"][..])
            .prop_map(Credential::Header),
        2 => select(&NearMiss::ALL[..]).prop_map(Credential::NearMiss),
    ]
}

fn ops(read_only: bool) -> &'static [AuthOp] {
    if read_only {
        &[AuthOp::List, AuthOp::Get]
    } else {
        &[AuthOp::List, AuthOp::Get, AuthOp::Delete, AuthOp::Create]
    }
}

/// Broken credentials and near misses on reads (and, unless `read_only`, on writes).
pub fn inputs(read_only: bool) -> BoxedStrategy<AuthInput> {
    (select(ops(read_only)), credential(), any::<u128>())
        .prop_map(|(op, credential, id)| AuthInput { op, credential, id })
        .boxed()
}

/// The inputs every run sends before the random ones, so that each auth rule is compared on
/// purpose and not by chance: the configured credentials in each configured scheme (on a
/// list), each broken mode, and every near miss, the operations taking turns. Those `creds`
/// cannot make are left out.
pub fn fixed(read_only: bool, creds: &Credentials) -> Vec<AuthInput> {
    let ops = ops(read_only);
    let turns = |all: Vec<Credential>| {
        all.into_iter()
            .enumerate()
            .map(|(i, c)| (ops[i % ops.len()], c))
            .collect::<Vec<_>>()
    };
    let accepted =
        [Scheme::Bearer, Scheme::EmailKey].map(|s| (AuthOp::List, Credential::Configured(s)));
    let broken = turns(BROKEN_MODES.iter().map(|m| Credential::Mode(*m)).collect());
    let near = turns(NearMiss::ALL.map(Credential::NearMiss).to_vec());
    accepted
        .into_iter()
        .chain(broken)
        .chain(near)
        .filter(|(_, c)| c.headers(creds).is_some())
        .enumerate()
        .map(|(i, (op, credential))| AuthInput {
            op,
            credential,
            // Fixed ids, different from each other and from any CSR.
            id: 0xc5c0_0000_0000_4000_8000_0000_0000_0000 | i as u128,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(token: bool, email_key: bool) -> Credentials {
        Credentials {
            token: token.then(|| "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY".into()),
            email: email_key.then(|| "user@example.com".into()),
            api_key: email_key.then(|| "144c9defac04969c7bfad8efaa8ea194".into()),
        }
    }

    #[test]
    fn every_near_miss_is_a_fixed_input_when_both_schemes_are_configured() {
        let all = fixed(false, &creds(true, true));
        for n in NearMiss::ALL {
            assert!(
                all.iter().any(|i| i.credential == Credential::NearMiss(n)),
                "{n}"
            );
        }
        for scheme in [Scheme::Bearer, Scheme::EmailKey] {
            assert!(all.contains(&AuthInput {
                op: AuthOp::List,
                credential: Credential::Configured(scheme),
                id: all[usize::from(scheme == Scheme::EmailKey)].id,
            }));
        }
        let read_only = fixed(true, &creds(true, true));
        assert!(
            read_only
                .iter()
                .all(|i| matches!(i.op, AuthOp::List | AuthOp::Get))
        );
    }

    #[test]
    fn near_misses_of_what_is_not_configured_are_left_out() {
        let token_only = fixed(false, &creds(true, false));
        assert!(token_only.iter().all(|i| !matches!(
            i.credential,
            Credential::NearMiss(NearMiss::Key(_) | NearMiss::KeyWithOtherEmail)
                | Credential::Configured(Scheme::EmailKey)
        )));
        assert!(
            token_only
                .iter()
                .any(|i| i.credential == Credential::NearMiss(NearMiss::TokenAsKey))
        );
        let key_only = fixed(false, &creds(false, true));
        assert!(key_only.iter().all(|i| !matches!(
            i.credential,
            Credential::NearMiss(NearMiss::Token(_) | NearMiss::TokenAsKey)
        )));
        // A letterless key has no other case.
        let mut digits = creds(false, true);
        digits.api_key = Some("0123456789".into());
        assert_eq!(
            Credential::NearMiss(NearMiss::Key(Edit::OtherCase)).headers(&digits),
            None
        );
    }

    #[test]
    fn descriptions_name_the_edit_never_the_value() {
        let c = creds(true, true);
        for n in NearMiss::ALL {
            let input = AuthInput {
                op: AuthOp::List,
                credential: Credential::NearMiss(n),
                id: 1,
            };
            let text = format!("{input:?} {:?}", Credential::NearMiss(n).headers(&c));
            for secret in c.secrets().into_iter().chain(
                c.near_misses()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ) {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(text.contains("<the configured"), "{text}");
        }
        let text = format!("{:?}", NearMiss::Token(Edit::LastChanged));
        assert_eq!(text, "Token(LastChanged)");
        assert_eq!(
            NearMiss::Token(Edit::LastChanged).to_string(),
            "Authorization: Bearer <the configured token with its last character changed>"
        );
    }

    #[test]
    fn each_credential_names_its_rule() {
        assert_eq!(
            Credential::Mode(AuthMode::None).expect(),
            Expect::Refused("auth.missing")
        );
        assert_eq!(
            Credential::Header("Bearer").expect(),
            Expect::Refused("auth.malformed")
        );
        assert_eq!(
            Credential::Bearer("x".into()).expect(),
            Expect::Refused("auth.wrong")
        );
        assert_eq!(
            Credential::NearMiss(NearMiss::KeyWithOtherEmail).expect(),
            Expect::Refused("auth.near-miss-key")
        );
        assert_eq!(
            Credential::NearMiss(NearMiss::Token(Edit::Padded)).expect(),
            Expect::Either
        );
        assert_eq!(
            Credential::Configured(Scheme::EmailKey).expect(),
            Expect::Accepted("auth.email-key")
        );
    }
}
