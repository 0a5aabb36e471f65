//! Credential variants: none, partial, malformed and wrong, on every operation.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::select;

use crate::cases::AuthMode;

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
}

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
        };
        write!(f, "{:?} with {cred}", self.op)
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
    ]
}

/// Broken credentials on reads (and, unless `read_only`, on writes).
pub fn inputs(read_only: bool) -> BoxedStrategy<AuthInput> {
    let ops: &'static [AuthOp] = if read_only {
        &[AuthOp::List, AuthOp::Get]
    } else {
        &[AuthOp::List, AuthOp::Get, AuthOp::Delete, AuthOp::Create]
    };
    (select(ops), credential(), any::<u128>())
        .prop_map(|(op, credential, id)| AuthInput { op, credential, id })
        .boxed()
}
