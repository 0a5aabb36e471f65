//! The deterministic coverage of the documented contract: the fixed inputs every property runs
//! before its random cases (each documented value and boundary once, at, just under and just
//! over each limit, each documented error code a request can provoke), and what recording
//! them in the rules ledger means. The list parameters, which need state, are in
//! `coverage_list`; the fixed sequence of the model-based runner is [`sequence`].
//!
//! Every fixed input is valid, invalid or open under every reading of the contract (see
//! `cases/README.md`): a SAN of 255 characters is valid and one of 257 invalid, 256 is open;
//! subject fields at their X.509 bounds are valid and one character over them is open.

use std::sync::LazyLock;

use serde_json::Value;

use crate::model::Credentials;
use crate::model::{Exchange, Finding};
use crate::rules;
use crate::session::body_json;

use super::bodies::{
    Break, CreateBody, CreateInput, MAX_COMMON_NAME, MAX_LOCALITY, MAX_NAME, MAX_ORGANIZATION,
    MAX_SAN_CHARS, MAX_SANS, Open, Parts, break_body, open_body,
};
use super::declare::{Generator, Property};
use super::ids::{IdInput, IdShape};
use super::stateful::{Sequence, Transition};
use super::text::SanSeed;

/// `len` characters of plain ASCII text (letters, digits, inner spaces): valid in a subject
/// field under every reading.
fn text(stem: &str, len: usize) -> String {
    let s: String = stem.chars().cycle().take(len).collect();
    // Never a space at either end.
    s.trim_end()
        .chars()
        .chain("xyz".chars())
        .take(len)
        .collect()
}

/// SAN seeds: the first `long` characters long (when given), then short distinct ones, one
/// of them a wildcard; `sans_from` makes them unique.
fn san_seeds(n: usize, long: Option<usize>) -> Vec<SanSeed> {
    (0..n)
        .map(|i| match (i, long) {
            (0, Some(len)) => (vec!['l', 'o', 'n', 'g'], len, 0, false),
            _ => (vec!['s', 'a', 'n'], 14 + i % 20, i % 5, i == 1),
        })
        .collect()
}

/// The simplest valid body: one-character subject fields, one short SAN, P-256, no optional
/// field. Each fixed valid input changes only what it is about, so that a failure points at
/// it.
fn simplest() -> Parts {
    Parts {
        country: "PT",
        state: "a".into(),
        locality: "a".into(),
        organization: "a".into(),
        common_name: "a".into(),
        sans: san_seeds(1, None),
        key_type: Some("p256v1"),
        organizational_unit: None,
        name: None,
        description: None,
    }
}

/// The base of the invalid and open bodies: small, valid, named on accounts.
fn parts(account: bool) -> Parts {
    Parts {
        state: "Lisboa".into(),
        locality: "Lisboa".into(),
        organization: "csr-conformance".into(),
        common_name: "coverage.csr-conformance.net".into(),
        name: account.then(|| "csr-conformance coverage".to_string()),
        ..simplest()
    }
}

/// A fixed valid input: described by nothing but its body, like a random one, so that a
/// report's minimal input is the JSON sent.
fn valid(p: Parts) -> CreateInput {
    CreateInput {
        what: String::new(),
        body: CreateBody::Json(p.into_json()),
    }
}

/// Valid bodies, each about one thing: the common name at its limit; every other subject
/// field at its bound (and the account fields); 150 SANs, one of 255 characters, rsa2048; and
/// everything one under its limit without `key_type` (the default).
pub fn valid_creates(account: bool) -> Vec<CreateInput> {
    let common_name = Parts {
        common_name: text("c", MAX_COMMON_NAME),
        ..simplest()
    };
    let subject = Parts {
        state: text("Estado de Lisboa ", MAX_LOCALITY),
        locality: text("Lisboa Oriental ", MAX_LOCALITY),
        organization: text("csr conformance org ", MAX_ORGANIZATION),
        organizational_unit: Some(text("unit of coverage ", MAX_ORGANIZATION)),
        name: account.then(|| text("name ", MAX_NAME)),
        description: account.then(|| text("description ", MAX_NAME)),
        ..simplest()
    };
    let sans = Parts {
        sans: san_seeds(MAX_SANS, Some(MAX_SAN_CHARS)),
        key_type: Some("rsa2048"),
        ..simplest()
    };
    let under = Parts {
        state: text("Estado ", MAX_LOCALITY - 1),
        locality: text("Lisboa ", MAX_LOCALITY - 1),
        organization: text("org ", MAX_ORGANIZATION - 1),
        common_name: text("cn", MAX_COMMON_NAME - 1),
        sans: san_seeds(MAX_SANS - 1, Some(MAX_SAN_CHARS - 1)),
        key_type: None,
        organizational_unit: Some(text("ou ", MAX_ORGANIZATION - 1)),
        ..simplest()
    };
    vec![
        valid(common_name),
        valid(subject),
        valid(sans),
        valid(under),
    ]
}

/// What a refusal of a fixed invalid body must look like: the rules it verifies and the
/// documented codes (empty: any 4xx).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub rules: &'static [&'static str],
    pub codes: &'static [i64],
}

const fn refusal(rules: &'static [&'static str], codes: &'static [i64]) -> Refusal {
    Refusal { rules, codes }
}

fn breaks() -> Vec<(Break, Refusal)> {
    let missing = |f, rule, code: &'static [i64]| (Break::Missing(f), refusal(rule, code));
    // The body that is not JSON comes last: a mock may never answer it (Prism waits for the
    // rest of the body), and every rule before it should still be verified.
    vec![
        missing("country", &["code.1405"], &[1405]),
        missing("state", &["code.1406"], &[1406]),
        missing("locality", &["code.1407"], &[1407]),
        missing("organization", &["code.1408"], &[1408]),
        missing("common_name", &["code.1409"], &[1409]),
        missing("sans", &["code.1411"], &[1411]),
        (Break::NoSans, refusal(&["field.sans.empty"], &[1411])),
        (
            Break::TooManySans(MAX_SANS + 1),
            refusal(&["field.sans.over-limit"], &[]),
        ),
        (
            Break::SanTooLong(MAX_SAN_CHARS + 2),
            refusal(&["field.san.over-limit"], &[1412]),
        ),
        (
            Break::CommonNameTooLong(MAX_COMMON_NAME + 1),
            refusal(&["field.common_name.over-limit"], &[1410]),
        ),
        (
            Break::SanIp("192.0.2.1".into()),
            refusal(&["code.1412"], &[1412]),
        ),
        (Break::SanSpecial('!'), refusal(&["code.1412"], &[1412])),
        (Break::SanHyphenEdge(true), refusal(&["code.1412"], &[1412])),
        // The strict reading may call a non-ASCII SAN simply invalid.
        (
            Break::SanNonAscii('ü'),
            refusal(&["code.1413"], &[1413, 1412]),
        ),
        (
            Break::SanReservedTld("test"),
            refusal(&["code.1414"], &[1414]),
        ),
        (
            Break::SanExampleDomain("example.com"),
            refusal(&["code.1416"], &[1416]),
        ),
        (Break::KeyType("rsa4096"), refusal(&["code.1417"], &[1417])),
        (
            Break::NotJson(b"{\"country\": ".to_vec()),
            refusal(&["code.1400"], &[1400]),
        ),
    ]
}

/// The `what` of each fixed invalid body (and its bytes, when it is not JSON), with its
/// refusal.
static REFUSALS: LazyLock<Vec<(CreateInput, Refusal)>> = LazyLock::new(|| {
    breaks()
        .into_iter()
        .map(|(b, r)| (break_body(parts(false).into_json(), b), r))
        .collect()
});

/// Bodies that break one documented constraint each, one per documented error code.
pub fn invalid_creates(account: bool) -> Vec<CreateInput> {
    breaks()
        .into_iter()
        .map(|(b, _)| break_body(parts(account).into_json(), b))
        .collect()
}

/// What the refusal of `input` must carry, when it is one of the fixed invalid bodies or a
/// random one breaking the same constraint in the same words (a body that is not JSON only
/// when it is the same bytes: random bytes may happen to be JSON).
pub fn refusal_for(input: &CreateInput) -> Option<&'static Refusal> {
    REFUSALS
        .iter()
        .find(|(fixed, _)| {
            fixed.what == input.what
                && match (&fixed.body, &input.body) {
                    (CreateBody::Raw(a), CreateBody::Raw(b)) => a == b,
                    (CreateBody::Json(_), CreateBody::Json(_)) => true,
                    _ => false,
                }
        })
        .map(|(_, r)| r)
}

/// Bodies just over a limit the documentation does not set (the X.509 bounds of the subject
/// fields, a SAN of 256 characters, a long account name): only "no 5xx, a valid envelope".
pub fn unspecified_creates(account: bool) -> Vec<CreateInput> {
    let mut opens = vec![
        Open::LongSubject("organization", MAX_ORGANIZATION + 1),
        Open::LongSubject("organizational_unit", MAX_ORGANIZATION + 1),
        Open::LongSubject("locality", MAX_LOCALITY + 1),
        Open::LongSubject("state", MAX_LOCALITY + 1),
        Open::San256,
    ];
    if account {
        opens.push(Open::LongName("name", MAX_NAME + 1));
    }
    opens
        .into_iter()
        .map(|o| open_body(parts(account).into_json(), o))
        .collect()
}

/// An id in the documented shape that nobody created (a version-4 UUID).
const UNKNOWN_UUID: &str = "5b0f3c1e-8d2a-4c6b-9e7f-0a1b2c3d4e5f";

/// Ids: a well-formed unknown UUID (get, and delete unless read-only) and one of 37
/// characters.
pub fn ids(read_only: bool) -> Vec<IdInput> {
    let mut out = vec![
        IdInput {
            method: "GET",
            id: IdShape::Uuid(UNKNOWN_UUID.into()),
        },
        IdInput {
            method: "GET",
            id: IdShape::Text(format!("{UNKNOWN_UUID}0")),
        },
    ];
    if !read_only {
        out.push(IdInput {
            method: "DELETE",
            id: IdShape::Uuid(UNKNOWN_UUID.into()),
        });
    }
    out
}

/// One sequence that takes every step kind once: creates, a get, a page, a delete, a get of
/// what was deleted, and a get, delete and create under a foreign scope id, then a walk.
pub fn sequence() -> Sequence {
    Sequence {
        grow: 0,
        steps: vec![
            Transition::Create(1),
            Transition::Create(2),
            Transition::Get(0),
            Transition::List {
                page: 1,
                per_page: 5,
            },
            Transition::Delete(0),
            Transition::GetDeleted(0),
            Transition::ForeignGet(0),
            Transition::ForeignDelete(0),
            Transition::ForeignCreate(3),
            Transition::Walk,
        ],
    }
}

/// What the deterministic cases of `property` send in one scope (one page per list walk).
pub fn fixed_cost(property: &Property, account: bool, read_only: bool) -> u64 {
    let n = |len: usize| len as u64;
    match property.generator {
        Generator::CreateValid => 3 * n(valid_creates(account).len()),
        Generator::CreateInvalid => n(invalid_creates(account).len()),
        // They verify no rule: under a budget they are left out.
        Generator::CreateUnspecified => 0,
        Generator::Ids => n(ids(read_only).len()),
        // As if every credential were configured: an upper bound (a near miss of one that is
        // not configured is skipped and costs nothing).
        Generator::Auth => {
            let all = Credentials {
                token: Some("t".repeat(40)),
                email: Some("e@example.net".into()),
                api_key: Some("k".repeat(37)),
            };
            n(super::auth::fixed(read_only, &all).len())
        }
        // Own CSRs made and deleted, six order walks, then page 1, the last and the next;
        // without them, a default and a 50 page first.
        Generator::ListParams if account && !read_only => 3 + 6 + 3 + 3,
        Generator::ListParams => 2 + 3,
        // Baseline walk, the steps, the final walk, the teardown.
        Generator::Sequences if property.volume == 0 && !read_only => {
            3 + sequence().steps.len() as u64 + 3
        }
        Generator::Sequences => 0,
    }
}

/// The `code` of every error of a failure answer.
pub fn error_codes(ex: &Exchange) -> Vec<i64> {
    body_json(ex)
        .and_then(|b| b.get("errors"))
        .and_then(Value::as_array)
        .map(|errs| {
            errs.iter()
                .filter_map(|e| e.get("code").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}

/// Records the refusal of an invalid body in the ledger and, under `--strict`, judges its
/// error code. Returns the findings (only under `--strict`: without it only the status class
/// is the contract, and a code that differs is recorded as the rule violated).
pub fn judge_refusal(ex: &Exchange, input: &CreateInput, strict: bool) -> Vec<Finding> {
    let Some(r) = refusal_for(input) else {
        return Vec::new();
    };
    let status = ex.response.status;
    let refused = (400..500).contains(&status);
    let codes = error_codes(ex);
    let code_ok = r.codes.is_empty() || codes.iter().any(|c| r.codes.contains(c));
    for rule in r.rules {
        rules::exercised(rule, refused && code_ok);
    }
    if !strict || !refused || code_ok {
        return Vec::new();
    }
    let expected: Vec<String> = r.codes.iter().map(i64::to_string).collect();
    vec![Finding::new(
        r.rules[0],
        "/errors/0/code",
        expected.join(" or "),
        format!("{codes:?}"),
        format!(
            "{}: refused, but not with the documented error code",
            input.what
        ),
    )]
}

/// Records that the credentials a request carried were accepted (a 2xx) or not.
pub fn record_credentials(ex: &Exchange) {
    let held = (200..300).contains(&ex.response.status);
    let has = |h: &str| {
        ex.request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(h))
    };
    if has("authorization") {
        rules::exercised("auth.bearer", held);
    } else if has("x-auth-key") && has("x-auth-email") {
        rules::exercised("auth.email-key", held);
    }
}

fn chars(body: &Value, field: &str) -> Option<usize> {
    body.get(field)
        .and_then(Value::as_str)
        .map(|s| s.chars().count())
}

/// Records what a valid create verified: the field rules its body reaches, the status, the
/// echo, and the default key type (a finding when the result is not rsa2048). `echoed` says
/// whether the echo check found nothing (`None`: the property does not check the echo).
pub fn judge_valid_create(
    ex: &Exchange,
    sent: &Value,
    account: bool,
    echoed: Option<bool>,
) -> Vec<Finding> {
    let created = ex.response.status == 201;
    let accepted = created && echoed != Some(false);
    record_credentials(ex);
    rules::exercised("field.created-201", created);
    if let Some(echoed) = echoed
        && (200..300).contains(&ex.response.status)
    {
        rules::exercised("field.echo", echoed);
    }
    let mut out = Vec::new();
    let result_key = body_json(ex)
        .and_then(|b| b.pointer("/result/key_type"))
        .and_then(Value::as_str);
    match sent.get("key_type").and_then(Value::as_str) {
        Some("rsa2048") => rules::exercised("field.key_type.rsa2048", accepted),
        Some("p256v1") => rules::exercised("field.key_type.p256v1", accepted),
        Some(_) => {}
        None if created => {
            let held = result_key == Some("rsa2048");
            rules::exercised("field.key_type.default", held);
            if !held {
                out.push(Finding::new(
                    "field.key_type.default",
                    "/result/key_type",
                    "rsa2048",
                    format!("{result_key:?}"),
                    "a create without key_type must make an rsa2048 CSR (the documented default)",
                ));
            }
        }
        None => rules::exercised("field.key_type.default", false),
    }
    if chars(sent, "common_name") == Some(MAX_COMMON_NAME) {
        rules::exercised("field.common_name.at-limit", accepted);
    }
    let sans = sent.get("sans").and_then(Value::as_array);
    match sans.map(Vec::len) {
        Some(1) => rules::exercised("field.sans.one", accepted),
        Some(MAX_SANS) => rules::exercised("field.sans.at-limit", accepted),
        _ => {}
    }
    if sans.is_some_and(|s| {
        s.iter()
            .any(|v| v.as_str().is_some_and(|v| v.len() == MAX_SAN_CHARS))
    }) {
        rules::exercised("field.san.at-limit", accepted);
    }
    let at_bounds = [
        ("organization", MAX_ORGANIZATION),
        ("organizational_unit", MAX_ORGANIZATION),
        ("locality", MAX_LOCALITY),
        ("state", MAX_LOCALITY),
    ]
    .iter()
    .all(|(f, max)| chars(sent, f) == Some(*max));
    if at_bounds {
        rules::exercised("field.subject.at-limit", accepted);
    }
    let absent = |f: &str| sent.get(f).is_none();
    if absent("organizational_unit") && (!account || (absent("name") && absent("description"))) {
        rules::exercised("field.optional.absent", created);
    }
    if account && !absent("name") && !absent("description") {
        rules::exercised("field.account-fields", accepted);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(i: &CreateInput) -> &Value {
        match &i.body {
            CreateBody::Json(v) => v,
            CreateBody::Raw(_) => panic!("raw"),
        }
    }

    #[test]
    fn valid_inputs_reach_each_limit_once_and_stay_valid() {
        let v = valid_creates(true);
        assert_eq!(chars(json_of(&v[0]), "common_name"), Some(64));
        assert_eq!(json_of(&v[0])["state"], "a");
        let subject = json_of(&v[1]);
        assert_eq!(chars(subject, "state"), Some(128));
        assert_eq!(chars(subject, "organizational_unit"), Some(64));
        assert_eq!(chars(subject, "name"), Some(64));
        let sans = json_of(&v[2])["sans"].as_array().unwrap();
        assert_eq!(sans.len(), 150);
        assert_eq!(sans[0].as_str().unwrap().len(), 255);
        let unique: std::collections::BTreeSet<&str> =
            sans.iter().map(|s| s.as_str().unwrap()).collect();
        assert_eq!(
            unique.len(),
            150,
            "no SAN twice (the strict reading refuses it)"
        );
        assert!(sans.iter().all(|s| s.as_str().unwrap().len() <= 255));
        let under = json_of(&v[3]);
        assert!(under.get("key_type").is_none() && under.get("name").is_none());
        assert_eq!(under["sans"][0].as_str().unwrap().len(), 254);
        assert_eq!(chars(under, "common_name"), Some(63));
        for i in &v {
            assert!(i.what.is_empty(), "a report shows the body alone");
            for f in ["state", "locality", "organization", "common_name"] {
                let s = json_of(i)[f].as_str().unwrap();
                assert_eq!(s.trim(), s, "{f}: {s:?}");
            }
        }
    }

    #[test]
    fn every_fixed_refusal_is_known_by_its_description() {
        let inputs = invalid_creates(true);
        assert_eq!(inputs.len(), breaks().len());
        for i in &inputs {
            assert!(refusal_for(i).is_some(), "{}", i.what);
        }
        let whats: std::collections::BTreeSet<_> = inputs.iter().map(|i| &i.what).collect();
        assert_eq!(whats.len(), inputs.len(), "descriptions are distinct");
        for id in REFUSALS.iter().flat_map(|(_, r)| r.rules.iter()) {
            assert!(rules::find(id).is_some(), "{id}");
        }
    }
}
