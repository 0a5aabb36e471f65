//! Create bodies: valid ones spanning the whole documented valid space, invalid ones that
//! break exactly one documented constraint, and ones the contract says nothing about.
//!
//! Limits (as `cases/README.md` states them, from Cloudflare's API documentation):
//! `common_name` ≤ 64, 1 to 150 SANs of ≤ 255 characters (256 is where the
//! documentation contradicts itself, so it is unspecified), labels ≤ 63; organization and
//! organizational unit ≤ 64 and locality and state ≤ 128 (X.520 bounds); `name` and
//! `description` ≤ 64 (our choice). A common name of 64 characters that takes more than 64
//! bytes in UTF-8 is unspecified: X.509 encoders differ on whether the bound counts bytes.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use super::text::{COUNTRIES, SanSeed, dns_name, san_seed, sans_from, subject_text};

pub const MAX_COMMON_NAME: usize = 64;
pub const MAX_SANS: usize = 150;
pub const MAX_SAN_CHARS: usize = 255;
pub const MAX_ORGANIZATION: usize = 64;
pub const MAX_LOCALITY: usize = 128;
pub const MAX_NAME: usize = 64;

/// A create body as sent: JSON, or bytes that are not a JSON object.
#[derive(Clone, PartialEq)]
pub enum CreateBody {
    Json(Value),
    Raw(Vec<u8>),
}

impl fmt::Debug for CreateBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateBody::Json(v) => write!(f, "{v}"),
            CreateBody::Raw(b) => write!(f, "raw body {:?}", String::from_utf8_lossy(b)),
        }
    }
}

/// A create body with what it is meant to show.
#[derive(Clone, PartialEq)]
pub struct CreateInput {
    /// For invalid and unspecified bodies: which constraint is broken or left open.
    pub what: String,
    pub body: CreateBody,
}

impl fmt::Debug for CreateInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.what.is_empty() {
            write!(f, "{:?}", self.body)
        } else {
            write!(f, "{}: {:?}", self.what, self.body)
        }
    }
}

/// The parts of a valid body, before they are put together.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    pub(crate) country: &'static str,
    pub(crate) state: String,
    pub(crate) locality: String,
    pub(crate) organization: String,
    pub(crate) common_name: String,
    pub(crate) sans: Vec<SanSeed>,
    pub(crate) key_type: Option<&'static str>,
    pub(crate) organizational_unit: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
}

impl Parts {
    pub(crate) fn into_json(self) -> Value {
        let mut m = Map::new();
        m.insert("country".into(), json!(self.country));
        m.insert("state".into(), json!(self.state));
        m.insert("locality".into(), json!(self.locality));
        m.insert("organization".into(), json!(self.organization));
        m.insert("common_name".into(), json!(self.common_name));
        m.insert("sans".into(), json!(sans_from(&self.sans)));
        if let Some(k) = self.key_type {
            m.insert("key_type".into(), json!(k));
        }
        if let Some(ou) = self.organizational_unit {
            m.insert("organizational_unit".into(), json!(ou));
        }
        if let Some(n) = self.name {
            m.insert("name".into(), json!(n));
        }
        if let Some(d) = self.description {
            m.insert("description".into(), json!(d));
        }
        Value::Object(m)
    }
}

/// Key types: RSA-2048 keys are slow to make, so most bodies ask for P-256; absent means
/// rsa2048 too.
fn key_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        12 => Just(Some("p256v1")),
        1 => Just(Some("rsa2048")),
        1 => Just(None),
    ]
}

/// 1 to 150 SANs: mostly a few, now and then more than 100, often exactly 150.
fn sans() -> impl Strategy<Value = Vec<SanSeed>> {
    let seed = || san_seed(MAX_SAN_CHARS);
    prop_oneof![
        5 => proptest::collection::vec(seed(), 1..=3),
        2 => proptest::collection::vec(seed(), 4..=20),
        1 => proptest::collection::vec(seed(), 100..=MAX_SANS),
        1 => proptest::collection::vec(seed(), MAX_SANS..=MAX_SANS),
    ]
}

fn parts(account: bool) -> impl Strategy<Value = Parts> {
    let sans = sans();
    let account_fields = if account {
        (
            proptest::option::weighted(0.5, subject_text(MAX_NAME, None)),
            proptest::option::weighted(0.5, subject_text(MAX_NAME, None)),
        )
            .boxed()
    } else {
        Just((None, None)).boxed()
    };
    // Shrinking tries these first: each field as plain "a" (a single SAN, no optional
    // field), so a field that has nothing to do with a failure costs one re-run, not one per
    // character, before the fields that matter are shrunk character by character.
    let keeps = proptest::array::uniform8(proptest::bool::weighted(0.95));
    (
        keeps,
        (
            select(COUNTRIES),
            subject_text(MAX_LOCALITY, None),
            subject_text(MAX_LOCALITY, None),
            subject_text(MAX_ORGANIZATION, None),
            subject_text(MAX_COMMON_NAME, Some(MAX_COMMON_NAME)),
        ),
        sans,
        key_type(),
        proptest::option::weighted(0.5, subject_text(MAX_ORGANIZATION, None)),
        account_fields,
    )
        .prop_map(
            |(
                keep,
                (country, state, locality, organization, common_name),
                mut sans,
                key_type,
                organizational_unit,
                (name, description),
            )| {
                let plain = |k: bool, s: String| if k { s } else { "a".to_string() };
                if !keep[4] {
                    sans.truncate(1);
                }
                Parts {
                    country,
                    state: plain(keep[0], state),
                    locality: plain(keep[1], locality),
                    organization: plain(keep[2], organization),
                    common_name: plain(keep[3], common_name),
                    sans,
                    key_type,
                    organizational_unit: organizational_unit.filter(|_| keep[5]),
                    name: name.filter(|_| keep[6]),
                    description: description.filter(|_| keep[7]),
                }
            },
        )
}

/// Bodies every correct server must accept with 201 and echo exactly.
pub fn valid(account: bool) -> BoxedStrategy<CreateInput> {
    parts(account)
        .prop_map(|p| CreateInput {
            what: String::new(),
            body: CreateBody::Json(p.into_json()),
        })
        .boxed()
}

/// A small valid P-256 body for sequences: cheap to create, distinct by `n`.
pub fn small_valid(n: u32, account: bool) -> Value {
    small_named(&format!("seq-{n}"), &format!("seq-{n:05}"), account)
}

/// A small valid P-256 body for `label.csr-conformance.net`, named `name` on accounts.
pub fn small_named(label: &str, name: &str, account: bool) -> Value {
    let host = format!("{label}.csr-conformance.net");
    let mut body = json!({
        "country": "PT", "state": "Lisboa", "locality": "Lisboa",
        "organization": "csr-conformance", "common_name": host,
        "sans": [host], "key_type": "p256v1",
    });
    if account {
        body["name"] = json!(name);
    }
    body
}

/// One documented constraint, broken.
#[derive(Debug, Clone)]
pub(crate) enum Break {
    Missing(&'static str),
    CommonNameTooLong(usize),
    NoSans,
    TooManySans(usize),
    SanTooLong(usize),
    SanIp(String),
    SanSpecial(char),
    SanHyphenEdge(bool),
    SanNonAscii(char),
    SanReservedTld(&'static str),
    SanExampleDomain(&'static str),
    KeyType(&'static str),
    WrongType(&'static str, Value),
    NotAnObject(Value),
    NotJson(Vec<u8>),
}

const REQUIRED: &[&str] = &[
    "country",
    "state",
    "locality",
    "organization",
    "common_name",
    "sans",
];

fn breaks(account: bool) -> impl Strategy<Value = Break> {
    let typed_fields: &'static [&'static str] = if account {
        &[
            "country",
            "state",
            "locality",
            "organization",
            "common_name",
            "organizational_unit",
            "key_type",
            "sans",
            "name",
            "description",
        ]
    } else {
        &[
            "country",
            "state",
            "locality",
            "organization",
            "common_name",
            "organizational_unit",
            "key_type",
            "sans",
        ]
    };
    let wrong_value = prop_oneof![
        Just(json!(7)),
        Just(json!(true)),
        Just(json!({"a": 1})),
        Just(json!([1, 2])),
    ];
    prop_oneof![
        select(REQUIRED).prop_map(Break::Missing),
        prop_oneof![Just(65usize), 66usize..=120].prop_map(Break::CommonNameTooLong),
        Just(Break::NoSans),
        prop_oneof![Just(151usize), 152usize..=170].prop_map(Break::TooManySans),
        prop_oneof![Just(257usize), 258usize..=320].prop_map(Break::SanTooLong),
        select(&["192.0.2.1", "198.51.100.7", "2001:db8::1", "::1"][..])
            .prop_map(|s| Break::SanIp(s.to_string())),
        // Not '_': whether it is a "special character" is not documented (see `Open`).
        select(&[' ', '!', '@', '/', '$', '%', '&', '('][..]).prop_map(Break::SanSpecial),
        any::<bool>().prop_map(Break::SanHyphenEdge),
        select(&['ü', 'é', '中', 'ß'][..]).prop_map(Break::SanNonAscii),
        select(&["test", "example", "invalid", "localhost"][..]).prop_map(Break::SanReservedTld),
        select(&["example.com", "example.net", "example.org"][..])
            .prop_map(Break::SanExampleDomain),
        // Not "RSA2048" nor "": another letter case and the empty string are left open.
        select(&["rsa4096", "ed25519", "p384", "rsa", "ecdsa"][..]).prop_map(Break::KeyType),
        (select(typed_fields), wrong_value).prop_map(|(f, v)| Break::WrongType(f, v)),
        prop_oneof![
            Just(json!(null)),
            Just(json!([])),
            Just(json!("common_name")),
            Just(json!(42))
        ]
        .prop_map(Break::NotAnObject),
        prop_oneof![
            Just(b"".to_vec()),
            Just(b"{".to_vec()),
            Just(b"{\"country\": }".to_vec()),
            Just(b"country=US&state=CA".to_vec()),
            proptest::collection::vec(any::<u8>(), 1..64),
        ]
        .prop_map(Break::NotJson),
    ]
}

pub(crate) fn break_body(mut body: Value, b: Break) -> CreateInput {
    let first_san = |body: &mut Value, f: &dyn Fn(&str) -> String| {
        if let Some(s) = body["sans"].get_mut(0) {
            let new = f(s.as_str().unwrap_or("a.com"));
            *s = json!(new);
        }
    };
    let what = match &b {
        Break::Missing(f) => format!("{f} missing"),
        Break::CommonNameTooLong(n) => format!("common_name of {n} characters (max 64)"),
        Break::NoSans => "no SAN".into(),
        Break::TooManySans(n) => format!("{n} SANs (max 150)"),
        Break::SanTooLong(n) => format!("a SAN of {n} characters (max 255)"),
        Break::SanIp(_) => "an IP address as SAN".into(),
        Break::SanSpecial(c) => format!("a SAN with {c:?}"),
        Break::SanHyphenEdge(true) => "a SAN starting with '-'".into(),
        Break::SanHyphenEdge(false) => "a SAN ending with '-'".into(),
        Break::SanNonAscii(_) => "a non-ASCII SAN".into(),
        Break::SanReservedTld(t) => format!("a SAN under the reserved TLD .{t}"),
        Break::SanExampleDomain(d) => format!("a SAN under {d}"),
        Break::KeyType(_) => "a key_type outside rsa2048, p256v1".into(),
        Break::WrongType(f, _) => format!("{f} of the wrong JSON type"),
        Break::NotAnObject(_) => "a JSON body that is not an object".into(),
        Break::NotJson(_) => "a body that is not JSON".into(),
    };
    match b {
        Break::Missing(f) => {
            body.as_object_mut().map(|o| o.remove(f));
        }
        Break::CommonNameTooLong(n) => body["common_name"] = json!("c".repeat(n)),
        Break::NoSans => body["sans"] = json!([]),
        Break::TooManySans(n) => {
            let seeds: Vec<SanSeed> = (0..n).map(|i| (vec!['m'], 12 + i % 20, 0, false)).collect();
            body["sans"] = json!(sans_from(&seeds));
        }
        Break::SanTooLong(n) => {
            first_san(&mut body, &|_| dns_name(&['l'], n, "com", false));
        }
        Break::SanIp(ip) => first_san(&mut body, &|_| ip.clone()),
        Break::SanSpecial(c) => first_san(&mut body, &|s| {
            let host = s.trim_start_matches("*.");
            format!("a{c}b.{host}")
        }),
        // The SAN's own first or last character: invalid whether the documented "leading or
        // trailing '-'" is read per label or for the whole SAN (an inner label's edge is
        // `Open::SanInnerHyphen`).
        Break::SanHyphenEdge(lead) => first_san(&mut body, &|s| {
            let host = s.trim_start_matches("*.");
            if lead {
                format!("-a.{host}")
            } else {
                format!("{host}-")
            }
        }),
        Break::SanNonAscii(c) => first_san(&mut body, &|s| {
            let host = s.trim_start_matches("*.");
            format!("b{c}cher.{host}")
        }),
        Break::SanReservedTld(t) => first_san(&mut body, &|_| format!("csr-conformance.{t}")),
        Break::SanExampleDomain(d) => first_san(&mut body, &|_| format!("www.{d}")),
        Break::KeyType(k) => body["key_type"] = json!(k),
        Break::WrongType(f, v) => body[f] = v,
        Break::NotAnObject(v) => {
            return CreateInput {
                what,
                body: CreateBody::Json(v),
            };
        }
        Break::NotJson(bytes) => {
            return CreateInput {
                what,
                body: CreateBody::Raw(bytes),
            };
        }
    }
    CreateInput {
        what,
        body: CreateBody::Json(body),
    }
}

/// Bodies that break exactly one documented constraint: every correct server refuses them.
pub fn invalid(account: bool) -> BoxedStrategy<CreateInput> {
    (small_parts(account), breaks(account))
        .prop_map(|(p, b)| break_body(p.into_json(), b))
        .boxed()
}

/// A valid base that is cheap to create (P-256, few SANs), so an accepted invalid body costs
/// little; the broken constraint is what varies.
fn small_parts(account: bool) -> impl Strategy<Value = Parts> {
    parts(account).prop_map(|mut p| {
        p.key_type = Some("p256v1");
        p.sans.truncate(3);
        p
    })
}

/// Something the contract does not settle.
#[derive(Debug, Clone)]
pub(crate) enum Open {
    CommonNameOver64Bytes,
    LongSubject(&'static str, usize),
    San256,
    SanLabel64,
    Country(&'static str),
    Blank(&'static str),
    DuplicateSans,
    UppercaseSan,
    LongName(&'static str, usize),
    UnknownField,
    AccountFieldsInZone,
    NullOptional,
    /// `-` at the edge of an inner label: "leading or trailing '-'" may mean the SAN's or
    /// each label's.
    SanInnerHyphen(bool),
    /// `_` in a SAN: legal in DNS, not in host names; not named as a special character.
    SanUnderscore,
    /// A documented key type in another letter case.
    KeyTypeCase(&'static str),
    /// `key_type` as the empty string: absent, or not in the enum.
    KeyTypeEmpty,
}

fn opens(account: bool) -> impl Strategy<Value = Open> {
    let long_name = if account {
        (select(&["name", "description"][..]), 65usize..=300)
            .prop_map(|(f, n)| Open::LongName(f, n))
            .boxed()
    } else {
        Just(Open::AccountFieldsInZone).boxed()
    };
    prop_oneof![
        Just(Open::CommonNameOver64Bytes),
        (
            select(&["organization", "organizational_unit"][..]),
            65usize..=200
        )
            .prop_map(|(f, n)| Open::LongSubject(f, n)),
        (select(&["locality", "state"][..]), 129usize..=500)
            .prop_map(|(f, n)| Open::LongSubject(f, n)),
        Just(Open::San256),
        Just(Open::SanLabel64),
        select(&["XX", "us", "USA", "U1"][..]).prop_map(Open::Country),
        select(&["state", "locality", "organization", "common_name"][..]).prop_map(Open::Blank),
        Just(Open::DuplicateSans),
        Just(Open::UppercaseSan),
        long_name,
        Just(Open::UnknownField),
        Just(Open::NullOptional),
        any::<bool>().prop_map(Open::SanInnerHyphen),
        Just(Open::SanUnderscore),
        select(&["RSA2048", "P256V1", "Rsa2048"][..]).prop_map(Open::KeyTypeCase),
        Just(Open::KeyTypeEmpty),
    ]
}

pub(crate) fn open_body(mut body: Value, o: Open) -> CreateInput {
    let what = format!("{o:?}");
    match o {
        Open::CommonNameOver64Bytes => body["common_name"] = json!("é".repeat(40)),
        Open::LongSubject(f, n) => body[f] = json!("s".repeat(n)),
        Open::San256 => body["sans"][0] = json!(dns_name(&['q'], 256, "com", false)),
        Open::SanLabel64 => body["sans"][0] = json!(format!("{}.com", "l".repeat(64))),
        Open::Country(c) => body["country"] = json!(c),
        Open::Blank(f) => body[f] = json!("   "),
        Open::DuplicateSans => {
            let first = body["sans"][0].clone();
            body["sans"] = json!([first.clone(), first]);
        }
        Open::UppercaseSan => {
            let upper = body["sans"][0]
                .as_str()
                .unwrap_or("a.com")
                .to_ascii_uppercase();
            body["sans"][0] = json!(upper);
        }
        Open::LongName(f, n) => body[f] = json!("n".repeat(n)),
        Open::UnknownField => body["csr_conformance_unknown"] = json!(1),
        Open::AccountFieldsInZone => {
            body["name"] = json!("zone-name");
            body["description"] = json!("zones have no description");
        }
        Open::NullOptional => body["organizational_unit"] = Value::Null,
        Open::SanInnerHyphen(lead) => {
            let host = first_host(&body);
            let san = if lead {
                format!("a.-b.{host}")
            } else {
                format!("a-.{host}")
            };
            body["sans"][0] = json!(san);
        }
        Open::SanUnderscore => {
            let host = first_host(&body);
            body["sans"][0] = json!(format!("a_b.{host}"));
        }
        Open::KeyTypeCase(k) => body["key_type"] = json!(k),
        Open::KeyTypeEmpty => body["key_type"] = json!(""),
    }
    CreateInput {
        what,
        body: CreateBody::Json(body),
    }
}

/// The first SAN of `body` without a wildcard prefix: a valid name to put a label in front of.
fn first_host(body: &Value) -> String {
    let san = body["sans"][0].as_str().unwrap_or("a.com");
    san.trim_start_matches("*.").to_string()
}

/// Bodies where only "no 5xx and a valid envelope" may be asserted.
pub fn unspecified(account: bool) -> BoxedStrategy<CreateInput> {
    (small_parts(account), opens(account))
        .prop_map(|(p, o)| open_body(p.into_json(), o))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngSeed, TestRunner};

    fn samples<T: std::fmt::Debug>(s: BoxedStrategy<T>, n: usize) -> Vec<T> {
        let mut runner = TestRunner::new(Config {
            rng_seed: RngSeed::Fixed(7),
            ..Config::default()
        });
        (0..n)
            .map(|_| s.new_tree(&mut runner).unwrap().current())
            .collect()
    }

    /// The documented rules, written again here from the facts, to hold the generator to them.
    fn documented_valid(body: &Value, account: bool) -> Result<(), String> {
        let o = body.as_object().ok_or("not an object")?;
        for f in [
            "country",
            "state",
            "locality",
            "organization",
            "common_name",
        ] {
            let s = o.get(f).and_then(Value::as_str).ok_or(f.to_string())?;
            if s.trim().is_empty() {
                return Err(format!("{f} blank"));
            }
        }
        let cn = o
            .get("common_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if cn.chars().count() > 64 || cn.len() > 64 {
            return Err("cn".into());
        }
        for (f, max) in [("organization", 64), ("locality", 128), ("state", 128)] {
            if o.get(f)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .count()
                > max
            {
                return Err(f.into());
            }
        }
        let sans = o.get("sans").and_then(Value::as_array).ok_or("sans")?;
        if sans.is_empty() || sans.len() > 150 {
            return Err("san count".into());
        }
        for s in sans {
            let s = s.as_str().ok_or("san type")?;
            if s.len() > 255 || !s.is_ascii() {
                return Err(format!("san {s}"));
            }
        }
        if !account && (o.contains_key("name") || o.contains_key("description")) {
            return Err("account fields in a zone body".into());
        }
        Ok(())
    }

    #[test]
    fn valid_bodies_are_valid_and_reach_every_limit() {
        let all = samples(valid(true), 400);
        let bodies: Vec<&Value> = all
            .iter()
            .map(|i| match &i.body {
                CreateBody::Json(v) => v,
                CreateBody::Raw(_) => panic!("raw"),
            })
            .collect();
        for b in &bodies {
            documented_valid(b, true).unwrap_or_else(|e| panic!("{e}: {b}"));
        }
        let cn_64 = bodies
            .iter()
            .any(|b| b["common_name"].as_str().unwrap().chars().count() == 64);
        let sans_150 = bodies
            .iter()
            .any(|b| b["sans"].as_array().unwrap().len() == 150);
        let san_255 = bodies.iter().any(|b| {
            b["sans"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.as_str().unwrap().len() == 255)
        });
        let wildcard = bodies
            .iter()
            .any(|b| b["sans"][0].as_str().unwrap().starts_with("*."));
        let special = bodies
            .iter()
            .any(|b| b["organization"].as_str().unwrap().contains(','));
        let no_key_type = bodies.iter().any(|b| b.get("key_type").is_none());
        let emoji = bodies.iter().any(|b| {
            b["locality"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| c as u32 > 0xFFFF)
        });
        assert!(cn_64 && sans_150 && san_255 && wildcard && special && no_key_type && emoji);
        for z in samples(valid(false), 50) {
            let CreateBody::Json(b) = z.body else {
                panic!()
            };
            documented_valid(&b, false).unwrap();
        }
    }

    #[test]
    fn invalid_bodies_break_a_documented_rule() {
        for input in samples(invalid(true), 300) {
            if let CreateBody::Json(b) = &input.body
                && b.is_object()
                && !input.what.contains("wrong JSON type")
                && !input.what.contains("key_type")
                && !input.what.contains("SAN")
            {
                assert!(documented_valid(b, true).is_err(), "{input:?}");
            }
        }
    }
}
