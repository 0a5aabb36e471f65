//! The `csr` field of a CustomCsr object: is it one well-formed PEM `CERTIFICATE REQUEST`, does
//! it decode as PKCS#10 with a valid self-signature, and does it say what the object's own JSON
//! fields say (CN, C/ST/L/O/OU, SAN DNS names, key type)?
//!
//! No other tool checks this, and a mock that serves the spec's elided example (`MIICYzCC...`)
//! must fail here with a sentence that says why.
//!
//! Decisions worth knowing when reading findings:
//! * An object without `csr` yields nothing: the field is optional in the schema.
//! * The PEM is read by this module, not by `x509_parser::pem`, because that reader ignores the
//!   END label and any text before BEGIN, both of which this contract forbids.
//! * A JSON field of the wrong type (e.g. `"country": 7`) is left to the schema check; this module
//!   only compares what it can compare.
//! * `common_name` absent or null: no comparison (the CN rule still flags several CNs). The other
//!   subject fields and `sans` are compared even when absent, because then the CSR must not carry
//!   them either.
//! * An empty JSON string equals an absent attribute: X.520 forbids empty attribute values, so
//!   `""` can only mean "none".

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{LazyLock, Mutex};

use serde_json::Value;
use x509_parser::asn1_rs::{Class, Tag};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::error::X509Error;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_X509_COMMON_NAME,
    OID_X509_COUNTRY_NAME, OID_X509_EXT_SUBJECT_ALT_NAME, OID_X509_LOCALITY_NAME,
    OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT, OID_X509_STATE_OR_PROVINCE_NAME, Oid,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AttributeTypeAndValue, SubjectPublicKeyInfo, X509Name, X509Version};

use crate::model::Finding;

pub const RULE_PRESENT: &str = "pem.present";
pub const RULE_BLOCK: &str = "pem.block";
pub const RULE_DER: &str = "pem.der";
pub const RULE_SIGNATURE: &str = "pem.signature";
pub const RULE_COMMON_NAME: &str = "pem.common-name";
pub const RULE_SUBJECT: &str = "pem.subject";
pub const RULE_SANS: &str = "pem.sans";
pub const RULE_KEY_TYPE: &str = "pem.key-type";

const LABEL: &str = "CERTIFICATE REQUEST";
const LEGACY_LABEL: &str = "NEW CERTIFICATE REQUEST";
const BEGIN_LINE: &str = "-----BEGIN CERTIFICATE REQUEST-----";
const END_LINE: &str = "-----END CERTIFICATE REQUEST-----";

/// Long enough to recognise a value, short enough for a report column.
const EXCERPT_CHARS: usize = 48;

/// Checks the `csr` field of one CustomCsr object (the JSON value at `pointer`, e.g. "/result")
/// against the PEM/PKCS#10 rules and against the object's own JSON fields.
pub fn check_custom_csr(object: &Value, pointer: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(csr_value) = object.get("csr") else {
        return findings;
    };
    let csr_pointer = format!("{pointer}/csr");

    let text = match csr_value {
        Value::String(s) if !s.trim().is_empty() => s.as_str(),
        Value::String(s) => {
            findings.push(Finding::new(
                RULE_PRESENT,
                &csr_pointer,
                "a PEM CERTIFICATE REQUEST",
                if s.is_empty() {
                    "\"\"".to_owned()
                } else {
                    "only whitespace".to_owned()
                },
                "The csr field is present but empty, so there is no CSR to check.",
            ));
            return findings;
        }
        other => {
            findings.push(Finding::new(
                RULE_PRESENT,
                &csr_pointer,
                "a string holding a PEM CERTIFICATE REQUEST",
                json_type(other),
                format!(
                    "The csr field is {}, not a string, so it cannot hold a PEM CSR.",
                    json_type(other)
                ),
            ));
            return findings;
        }
    };

    let der = match read_pem(text) {
        Ok(der) => der,
        Err(problems) => {
            findings.extend(merge(RULE_BLOCK, &csr_pointer, problems));
            return findings;
        }
    };

    let csr = match X509CertificationRequest::from_der(&der) {
        Ok((rest, csr)) => {
            let mut problems = Vec::new();
            if !rest.is_empty() {
                problems.push(Problem::new(
                    "nothing after the CertificationRequest",
                    format!("{} trailing byte(s)", rest.len()),
                    format!(
                        "The DER holds a CertificationRequest followed by {} extra byte(s); a PEM \
                         block must hold exactly one DER object.",
                        rest.len()
                    ),
                ));
            }
            let version = csr.certification_request_info.version;
            if version != X509Version::V1 {
                problems.push(Problem::new(
                    "version 0 (v1)",
                    format!("version {}", version.0),
                    format!(
                        "The CertificationRequestInfo has version {}; PKCS#10 defines only \
                         version 0.",
                        version.0
                    ),
                ));
            }
            findings.extend(merge(RULE_DER, &csr_pointer, problems));
            csr
        }
        Err(err) => {
            findings.push(Finding::new(
                RULE_DER,
                &csr_pointer,
                "a DER PKCS#10 CertificationRequest",
                excerpt(&err.to_string()),
                format!(
                    "The PEM body is valid base64 but its {} bytes do not decode as a PKCS#10 \
                     CertificationRequest ({err}).",
                    der.len()
                ),
            ));
            return findings;
        }
    };

    let key = KeyInfo::of(&csr.certification_request_info.subject_pki);
    findings.extend(check_signature(&der, &csr, &key, &csr_pointer));
    let subject = &csr.certification_request_info.subject;
    findings.extend(check_common_name(object, subject, pointer));
    findings.extend(check_subject(object, subject, pointer));
    findings.extend(check_sans(object, &csr, pointer));
    findings.extend(check_key_type(object, &key, pointer));
    findings
}

/// One thing wrong within a rule. A rule reports once, so its problems are merged.
#[derive(Debug)]
struct Problem {
    expected: String,
    actual: String,
    message: String,
}

impl Problem {
    fn new(
        expected: impl Into<String>,
        actual: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            expected: expected.into(),
            actual: actual.into(),
            message: message.into(),
        }
    }
}

/// The first problem gives expected/actual; the message carries all of them so that fixing the
/// first does not reveal a surprise second one.
fn merge(rule: &str, pointer: &str, problems: Vec<Problem>) -> Option<Finding> {
    let mut iter = problems.into_iter();
    let first = iter.next()?;
    let mut message = first.message;
    for more in iter {
        message.push_str(" Also: ");
        message.push_str(&more.message);
    }
    Some(Finding::new(
        rule,
        pointer,
        first.expected,
        first.actual,
        message,
    ))
}

// ---------------------------------------------------------------------------------------------
// pem.block

/// Reads exactly one strict PEM block and returns its DER, or every problem found before the
/// reading had to stop.
fn read_pem(text: &str) -> Result<Vec<u8>, Vec<Problem>> {
    let Some(begin_at) = text.find("-----BEGIN") else {
        let trimmed = text.trim();
        let message = if text.contains("-----END") {
            "The csr has an END line but no BEGIN line, so it is not a PEM block."
        } else if trimmed.starts_with("MII") {
            "The csr has no PEM BEGIN/END lines: it looks like bare base64 DER without the PEM \
             armour."
        } else {
            "The csr is not PEM: it has no `-----BEGIN CERTIFICATE REQUEST-----` line."
        };
        return Err(vec![Problem::new(BEGIN_LINE, excerpt(trimmed), message)]);
    };
    let begins = text.matches("-----BEGIN").count();
    if begins > 1 {
        return Err(vec![Problem::new(
            "exactly one PEM block",
            format!("{begins} BEGIN lines"),
            format!(
                "The csr holds {begins} PEM blocks; a CustomCsr carries exactly one CERTIFICATE \
                 REQUEST."
            ),
        )]);
    }
    if !text.contains('\n') && text.contains("\\n") {
        return Err(vec![Problem::new(
            "line breaks between the PEM lines",
            "literal \\n sequences",
            "The csr has literal `\\n` escape sequences instead of line breaks (JSON-escaped \
             twice?), so its BEGIN and END lines are not lines of their own.",
        )]);
    }

    let mut problems = Vec::new();
    let before = text[..begin_at].trim();
    if !before.is_empty() {
        problems.push(Problem::new(
            "nothing but whitespace before the BEGIN line",
            excerpt(before),
            format!(
                "The csr has text before its BEGIN line ({}); only whitespace may precede it.",
                excerpt(before)
            ),
        ));
    }

    let (begin_line, after_begin) = split_line(&text[begin_at..]);
    let begin_line = begin_line.trim_end();
    let Some(label) = armour_label(begin_line, "-----BEGIN ") else {
        problems.push(Problem::new(
            BEGIN_LINE,
            excerpt(begin_line),
            "The BEGIN line is malformed: it must be `-----BEGIN CERTIFICATE REQUEST-----` on a \
             line of its own.",
        ));
        return Err(problems);
    };
    if label == LEGACY_LABEL {
        problems.push(Problem::new(
            LABEL,
            label,
            "The PEM label is the legacy `NEW CERTIFICATE REQUEST` (old Netscape/Microsoft \
             tools); RFC 7468 requires `CERTIFICATE REQUEST`.",
        ));
    } else if label != LABEL {
        problems.push(Problem::new(
            LABEL,
            excerpt(label),
            format!(
                "The PEM label is `{}`, so this is not a certificate request; expected \
                 `CERTIFICATE REQUEST`.",
                excerpt(label)
            ),
        ));
    }

    let Some(end_at) = after_begin.find("-----END") else {
        let tail = after_begin.trim_end();
        let elided = if tail.contains("...") || tail.ends_with('…') {
            ", and its body contains '...' (an elided example, not a real CSR)"
        } else {
            ""
        };
        problems.push(Problem::new(
            END_LINE,
            if tail.trim().is_empty() {
                "no END line and no body".to_owned()
            } else {
                format!("no END line; text ends with {}", excerpt_tail(tail))
            },
            format!(
                "The PEM is truncated: it has no `-----END CERTIFICATE REQUEST-----` line{elided}."
            ),
        ));
        return Err(problems);
    };
    let body = &after_begin[..end_at];

    let end_line_prefix = body.rsplit('\n').next().unwrap_or_default();
    if !end_line_prefix.trim().is_empty() {
        problems.push(Problem::new(
            "the END line on a line of its own",
            excerpt_tail(end_line_prefix.trim()),
            "The END line does not start on a line of its own.",
        ));
    }
    let (end_line, after_end) = split_line(&after_begin[end_at..]);
    let end_line = end_line.trim_end();
    match armour_label(end_line, "-----END ") {
        None => problems.push(Problem::new(
            format!("-----END {label}-----"),
            excerpt(end_line),
            "The END line is malformed: it must be `-----END CERTIFICATE REQUEST-----` on a line \
             of its own.",
        )),
        Some(end_label) if end_label != label => problems.push(Problem::new(
            format!("-----END {}-----", excerpt(label)),
            excerpt(end_line),
            format!(
                "The END label `{}` does not match the BEGIN label `{}`.",
                excerpt(end_label),
                excerpt(label)
            ),
        )),
        Some(_) => {}
    }
    let after = after_end.trim();
    if !after.is_empty() {
        problems.push(Problem::new(
            "nothing but whitespace after the END line",
            excerpt(after),
            format!(
                "The csr has text after its END line ({}); only whitespace may follow it.",
                excerpt(after)
            ),
        ));
    }

    match decode_base64(body) {
        Ok(der) if der.is_empty() => problems.push(Problem::new(
            "base64 DER between BEGIN and END",
            "empty body",
            "The PEM block has no body between its BEGIN and END lines.",
        )),
        Ok(der) if problems.is_empty() => return Ok(der),
        Ok(_) => {}
        Err(why) => {
            let elided = if body.contains("...") {
                " The body contains '...', so it looks elided or truncated."
            } else {
                ""
            };
            problems.push(Problem::new(
                "a base64 body",
                excerpt(&why),
                format!("The PEM body is not valid base64: {why}.{elided}"),
            ));
        }
    }
    Err(problems)
}

/// `-----BEGIN X-----` → `X`; `None` when the line is not exactly an armour line (e.g. data
/// follows on the same line).
fn armour_label<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?
        .strip_suffix("-----")
        .filter(|label| !label.contains("-----"))
}

fn split_line(text: &str) -> (&str, &str) {
    match text.find('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    }
}

/// Strict RFC 4648 base64 (standard alphabet, padding required); RFC 7468 lets whitespace and
/// line breaks appear anywhere in the body.
fn decode_base64(body: &str) -> Result<Vec<u8>, String> {
    let mut sextets: Vec<u8> = Vec::with_capacity(body.len());
    let mut padding = 0usize;
    for c in body.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            continue;
        }
        let position = sextets.len() + padding + 1;
        if c == '=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return Err(format!(
                "data character {c:?} after '=' padding at position {position}"
            ));
        }
        let value = match c {
            'A'..='Z' => c as u8 - b'A',
            'a'..='z' => c as u8 - b'a' + 26,
            '0'..='9' => c as u8 - b'0' + 52,
            '+' => 62,
            '/' => 63,
            _ => {
                return Err(format!(
                    "character {c:?} at body position {position} is not in the base64 alphabet"
                ));
            }
        };
        sextets.push(value);
    }
    let total = sextets.len() + padding;
    if padding > 2 || !total.is_multiple_of(4) {
        return Err(format!(
            "{total} base64 characters ({padding} of them '=') do not form whole 4-character \
             groups (truncated or badly padded)"
        ));
    }
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let mut group = 0u32;
        for (i, &s) in chunk.iter().enumerate() {
            group |= u32::from(s) << (18 - 6 * i);
        }
        let bytes = group.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Key facts, shared by pem.signature and pem.key-type

#[derive(Debug)]
enum KeyInfo {
    /// `bits` is `None` when the RSAPublicKey does not parse.
    Rsa {
        bits: Option<usize>,
    },
    /// `curve` (dotted OID, short name) is `None` when the parameters are not a named curve.
    Ec {
        curve: Option<(String, String)>,
    },
    Other {
        algorithm: String,
    },
}

impl KeyInfo {
    fn of(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
        let algorithm = &spki.algorithm.algorithm;
        if *algorithm == OID_PKCS1_RSAENCRYPTION {
            let bits = match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => Some(count_bits(rsa.modulus)),
                _ => None,
            };
            KeyInfo::Rsa { bits }
        } else if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| (oid.to_id_string(), oid_name(&oid)));
            KeyInfo::Ec { curve }
        } else {
            KeyInfo::Other {
                algorithm: oid_name(algorithm),
            }
        }
    }

    fn is_rsa_2048(&self) -> bool {
        matches!(self, KeyInfo::Rsa { bits: Some(2048) })
    }

    fn is_p256(&self) -> bool {
        let p256 = OID_EC_P256.to_id_string();
        matches!(self, KeyInfo::Ec { curve: Some((id, _)) } if *id == p256)
    }

    fn describe(&self) -> String {
        match self {
            KeyInfo::Rsa { bits: Some(bits) } => format!("RSA {bits}-bit"),
            KeyInfo::Rsa { bits: None } => "RSA (modulus unreadable)".to_owned(),
            KeyInfo::Ec {
                curve: Some((id, name)),
            } if id == name => format!("EC on curve {id}"),
            KeyInfo::Ec {
                curve: Some((id, name)),
            } => format!("EC on {name} ({id})"),
            KeyInfo::Ec { curve: None } => "EC without a named curve".to_owned(),
            KeyInfo::Other { algorithm } => format!("{algorithm} key"),
        }
    }
}

/// x509-parser's `RSAPublicKey::key_size()` only guesses at byte granularity, and "exactly
/// 2048 bits" needs the real count.
fn count_bits(unsigned_be: &[u8]) -> usize {
    let significant = match unsigned_be.iter().position(|&b| b != 0) {
        Some(first) => &unsigned_be[first..],
        None => return 0,
    };
    significant.len() * 8 - significant[0].leading_zeros() as usize
}

fn oid_name(oid: &Oid<'_>) -> String {
    match oid2sn(oid, oid_registry()) {
        Ok(name) => name.to_owned(),
        Err(_) => oid.to_id_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// pem.signature

/// Signature verdicts by the DER they were reached on. A run sees each CSR many times (the
/// create's answer, the get's, every page of every list walk), and verifying a signature is
/// most of what this module costs, so a CSR is verified once. The verdict is a function of
/// the DER alone, which is the key, whole. Bounded in bytes; emptied when full. A DER larger
/// than any real CSR (150 long SANs make about 40 kB) is verified every time, not kept.
#[derive(Default)]
struct Verdicts {
    by_der: HashMap<Vec<u8>, Option<(String, String)>>,
    bytes: usize,
}

const VERDICT_BYTES: usize = 2 << 20;
const MAX_KEPT_DER: usize = 64 << 10;

static VERDICTS: LazyLock<Mutex<Verdicts>> = LazyLock::new(Mutex::default);

/// Why the self-signature of `csr` (parsed from `der`) does not verify, if it does not:
/// (actual, message).
fn signature_verdict(
    der: &[u8],
    csr: &X509CertificationRequest<'_>,
    key: &KeyInfo,
) -> Option<(String, String)> {
    let verdicts = || VERDICTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = verdicts().by_der.get(der) {
        return known.clone();
    }
    let verdict = csr.verify_signature().err().map(|error| {
        let algorithm = oid_name(&csr.signature_algorithm.algorithm);
        signature_failure(&error, &algorithm, key)
    });
    if der.len() > MAX_KEPT_DER {
        return verdict;
    }
    let mut v = verdicts();
    if v.bytes + der.len() > VERDICT_BYTES {
        v.by_der.clear();
        v.bytes = 0;
    }
    v.bytes += der.len();
    v.by_der.insert(der.to_vec(), verdict.clone());
    verdict
}

fn check_signature(
    der: &[u8],
    csr: &X509CertificationRequest<'_>,
    key: &KeyInfo,
    csr_pointer: &str,
) -> Option<Finding> {
    let (actual, message) = signature_verdict(der, csr, key)?;
    Some(Finding::new(
        RULE_SIGNATURE,
        csr_pointer,
        "a self-signature that verifies with the CSR's public key",
        actual,
        message,
    ))
}

/// The verifiers only take RSA moduli of 2048..=8192 bits, so a small key must be named as the
/// cause; "verification failed" alone would send people looking for tampering.
fn signature_failure(error: &X509Error, algorithm: &str, key: &KeyInfo) -> (String, String) {
    if let X509Error::SignatureUnsupportedAlgorithm = error {
        return (
            format!("unsupported: {algorithm} with {}", key.describe()),
            format!(
                "The self-signature could not be checked: {algorithm} with a {} key is not an \
                 algorithm the verifier supports (RSA PKCS#1 or PSS with SHA-2, ECDSA on \
                 P-256/P-384, Ed25519).",
                key.describe()
            ),
        );
    }
    match key {
        KeyInfo::Rsa { bits: Some(bits) } if *bits < 2048 => (
            format!("RSA key of {bits} bits"),
            format!(
                "The self-signature cannot be verified because the RSA key has only {bits} bits; \
                 verifiers accept 2048 to 8192 bits, and a key this small is too weak anyway."
            ),
        ),
        KeyInfo::Rsa { bits: Some(bits) } if *bits > 8192 => (
            format!("RSA key of {bits} bits"),
            format!(
                "The self-signature cannot be verified because the RSA key has {bits} bits; \
                 verifiers accept 2048 to 8192 bits."
            ),
        ),
        _ => (
            format!("{algorithm} signature does not verify"),
            format!(
                "The {algorithm} self-signature does not verify against the CSR's own {} public \
                 key: the request was altered after signing or signed with another key.",
                key.describe()
            ),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// pem.common-name and pem.subject

/// A JSON field as this module can use it.
enum Field<'a> {
    /// Absent, null, or "" (an empty X.520 value is not allowed, so "" means none).
    None,
    Text(&'a str),
    /// Some other JSON type; the schema check reports it.
    Unusable,
}

fn field<'a>(object: &'a Value, name: &str) -> Field<'a> {
    match object.get(name) {
        None | Some(Value::Null) => Field::None,
        Some(Value::String(s)) if s.is_empty() => Field::None,
        Some(Value::String(s)) => Field::Text(s),
        Some(_) => Field::Unusable,
    }
}

/// The attribute's text. `as_str()` covers the common string types; BMPString and
/// UniversalString are fixed-width encodings that are legal in a DirectoryString, so they are
/// decoded here rather than reported.
fn attribute_text(attribute: &AttributeTypeAndValue<'_>) -> Result<String, String> {
    if let Ok(s) = attribute.as_str() {
        return Ok(s.to_owned());
    }
    let value = attribute.attr_value();
    let data = value.data;
    let tag = value.tag();
    if value.class() != Class::Universal {
        return Err(format!("a non-universal value (tag {})", tag.0));
    }
    if tag == Tag::BmpString {
        if !data.len().is_multiple_of(2) {
            return Err("a BMPString of odd length".to_owned());
        }
        let units = data.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
        return char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| "a BMPString with an unpaired surrogate".to_owned());
    }
    if tag == Tag::UniversalString {
        if !data.len().is_multiple_of(4) {
            return Err("a UniversalString whose length is not a multiple of 4".to_owned());
        }
        return data
            .chunks(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect::<Option<String>>()
            .ok_or_else(|| "a UniversalString with an invalid code point".to_owned());
    }
    if [
        Tag::Utf8String,
        Tag::PrintableString,
        Tag::Ia5String,
        Tag::NumericString,
    ]
    .contains(&tag)
    {
        return Err(format!("a {tag} that is not valid UTF-8"));
    }
    Err(format!("a {tag}, which this check does not decode"))
}

/// `CN="x"`, or a description of why the value is unreadable, for expected/actual columns.
fn attribute_display(short: &str, attribute: &AttributeTypeAndValue<'_>) -> String {
    match attribute_text(attribute) {
        Ok(text) => format!("{short}={:?}", excerpt(&text)),
        Err(why) => format!("{short}=<{why}>"),
    }
}

fn join_displays(short: &str, attributes: &[&AttributeTypeAndValue<'_>]) -> String {
    attributes
        .iter()
        .map(|a| attribute_display(short, a))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares one single-valued attribute with its JSON field.
fn compare_attribute(
    rule: &str,
    short: &str,
    name: &str,
    attributes: &[&AttributeTypeAndValue<'_>],
    json: &Field<'_>,
    field_pointer: &str,
) -> Option<Finding> {
    let expected_text = match json {
        Field::Unusable => return None,
        Field::None => {
            if attributes.is_empty() {
                return None;
            }
            let actual = join_displays(short, attributes);
            return Some(Finding::new(
                rule,
                field_pointer,
                format!("no {short} attribute"),
                actual.clone(),
                format!(
                    "The CSR's subject carries {actual} but the object has no `{name}`, so the \
                     two disagree."
                ),
            ));
        }
        Field::Text(text) => *text,
    };
    let expected = format!("{short}={:?}", excerpt(expected_text));
    match attributes {
        [] => Some(Finding::new(
            rule,
            field_pointer,
            expected.clone(),
            format!("no {short} attribute"),
            format!(
                "The object's `{name}` is {:?} but the CSR's subject has no {short} attribute.",
                excerpt(expected_text)
            ),
        )),
        [attribute] => match attribute_text(attribute) {
            Ok(text) if text == expected_text => None,
            Ok(text) => Some(Finding::new(
                rule,
                field_pointer,
                expected.clone(),
                format!("{short}={:?}", excerpt(&text)),
                format!(
                    "The CSR's subject has {short}={:?} but the object's `{name}` is {:?}.",
                    excerpt(&text),
                    excerpt(expected_text)
                ),
            )),
            Err(why) => Some(Finding::new(
                rule,
                field_pointer,
                expected,
                format!("{short}=<{why}>"),
                format!("The CSR's {short} value cannot be read as text: it is {why}."),
            )),
        },
        many => Some(Finding::new(
            rule,
            field_pointer,
            format!("exactly one {short} attribute"),
            join_displays(short, many),
            format!(
                "The CSR's subject has {} {short} attributes; it must carry exactly one, equal \
                 to `{name}`.",
                many.len()
            ),
        )),
    }
}

fn check_common_name(object: &Value, subject: &X509Name<'_>, pointer: &str) -> Option<Finding> {
    let field_pointer = format!("{pointer}/common_name");
    let cns: Vec<_> = subject.iter_common_name().collect();
    match field(object, "common_name") {
        // Several CNs are wrong whatever the JSON says; one or none can only be judged against
        // a common_name.
        Field::None | Field::Unusable if cns.len() > 1 => compare_attribute(
            RULE_COMMON_NAME,
            "CN",
            "common_name",
            &cns,
            &Field::Text(""),
            &field_pointer,
        ),
        Field::None | Field::Unusable => None,
        json => compare_attribute(
            RULE_COMMON_NAME,
            "CN",
            "common_name",
            &cns,
            &json,
            &field_pointer,
        ),
    }
}

const SUBJECT_FIELDS: [(&Oid<'static>, &str, &str); 5] = [
    (&OID_X509_COUNTRY_NAME, "C", "country"),
    (&OID_X509_STATE_OR_PROVINCE_NAME, "ST", "state"),
    (&OID_X509_LOCALITY_NAME, "L", "locality"),
    (&OID_X509_ORGANIZATION_NAME, "O", "organization"),
    (&OID_X509_ORGANIZATIONAL_UNIT, "OU", "organizational_unit"),
];

fn check_subject(object: &Value, subject: &X509Name<'_>, pointer: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (oid, short, name) in SUBJECT_FIELDS {
        let attributes: Vec<_> = subject.iter_by_oid(oid).collect();
        findings.extend(compare_attribute(
            RULE_SUBJECT,
            short,
            name,
            &attributes,
            &field(object, name),
            &format!("{pointer}/{name}"),
        ));
    }
    // The object has no field for any other attribute, so a CSR carrying one says something
    // the object does not.
    for attribute in subject.iter_attributes() {
        let oid = attribute.attr_type();
        if *oid == OID_X509_COMMON_NAME || SUBJECT_FIELDS.iter().any(|(known, ..)| *known == oid) {
            continue;
        }
        let shown = attribute_display(&oid_name(oid), attribute);
        findings.push(Finding::new(
            RULE_SUBJECT,
            format!("{pointer}/csr"),
            "only C, ST, L, O, OU and CN in the subject",
            shown.clone(),
            format!(
                "The CSR's subject carries {shown}, which no field of the object accounts for."
            ),
        ));
    }
    findings
}

// ---------------------------------------------------------------------------------------------
// pem.sans

fn check_sans(object: &Value, csr: &X509CertificationRequest<'_>, pointer: &str) -> Vec<Finding> {
    let sans_pointer = format!("{pointer}/sans");
    let csr_pointer = format!("{pointer}/csr");
    let expected: Vec<&str> = match object.get("sans") {
        None | Some(Value::Null) => Vec::new(),
        // Non-string items are the schema check's to report.
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Vec::new(),
    };

    let extensions: Vec<&X509Extension<'_>> = csr
        .certification_request_info
        .iter_attributes()
        .filter_map(|attribute| match attribute.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(request) => Some(&request.extensions),
            _ => None,
        })
        .flatten()
        .filter(|extension| extension.oid == OID_X509_EXT_SUBJECT_ALT_NAME)
        .collect();

    let san = match extensions.as_slice() {
        [] if expected.is_empty() => return Vec::new(),
        [] => {
            return vec![Finding::new(
                RULE_SANS,
                sans_pointer,
                format!("DNS names {}", list(&expected)),
                "no SAN extension",
                format!(
                    "The object lists {} SAN(s) but the CSR has no subjectAltName extension.",
                    expected.len()
                ),
            )];
        }
        [extension] => extension,
        many => {
            return vec![Finding::new(
                RULE_SANS,
                csr_pointer,
                "one subjectAltName extension",
                format!("{} subjectAltName extensions", many.len()),
                format!(
                    "The CSR requests {} subjectAltName extensions; an extension may appear only \
                     once.",
                    many.len()
                ),
            )];
        }
    };
    let names = match san.parsed_extension() {
        ParsedExtension::SubjectAlternativeName(san) => &san.general_names,
        ParsedExtension::ParseError { error } => {
            return vec![Finding::new(
                RULE_SANS,
                csr_pointer,
                "a decodable subjectAltName extension",
                excerpt(&error.to_string()),
                format!("The CSR's subjectAltName extension cannot be decoded ({error})."),
            )];
        }
        other => {
            return vec![Finding::new(
                RULE_SANS,
                csr_pointer,
                "a decodable subjectAltName extension",
                excerpt(&format!("{other:?}")),
                "The CSR's subjectAltName extension was not understood.",
            )];
        }
    };

    let mut findings = Vec::new();
    let mut dns = Vec::new();
    let mut other = Vec::new();
    for name in names {
        match name {
            GeneralName::DNSName(dns_name) => dns.push(*dns_name),
            not_dns => other.push(describe_general_name(not_dns)),
        }
    }
    if !other.is_empty() {
        findings.push(Finding::new(
            RULE_SANS,
            csr_pointer,
            "only DNS names in the SAN extension",
            excerpt(&other.join(", ")),
            format!(
                "The CSR's SAN extension holds {} entry(ies) that are not DNS names ({}); \
                 `sans` lists DNS names only.",
                other.len(),
                excerpt(&other.join(", "))
            ),
        ));
    }

    // DNS names are case-insensitive; duplicates still count, since `sans` is a list.
    let mut extra: Vec<&str> = Vec::new();
    let mut missing: Vec<&str> = expected.clone();
    for name in &dns {
        match missing.iter().position(|m| m.eq_ignore_ascii_case(name)) {
            Some(i) => {
                missing.remove(i);
            }
            None => extra.push(name),
        }
    }
    if !missing.is_empty() || !extra.is_empty() {
        let mut message = String::from("The CSR's SAN DNS names differ from `sans`:");
        if !missing.is_empty() {
            let _ = write!(message, " missing {}", list(&missing));
        }
        if !missing.is_empty() && !extra.is_empty() {
            message.push(';');
        }
        if !extra.is_empty() {
            let _ = write!(message, " not in `sans`: {}", list(&extra));
        }
        message.push('.');
        findings.push(Finding::new(
            RULE_SANS,
            sans_pointer,
            excerpt(&list(&expected)),
            excerpt(&list(&dns)),
            message,
        ));
    }
    findings
}

fn describe_general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::IPAddress(bytes) => match *bytes {
            [a, b, c, d] => format!("IP:{}", Ipv4Addr::new(*a, *b, *c, *d)),
            _ => match <[u8; 16]>::try_from(*bytes) {
                Ok(v6) => format!("IP:{}", Ipv6Addr::from(v6)),
                Err(_) => format!("IP:<{} bytes>", bytes.len()),
            },
        },
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::DirectoryName(dn) => format!("DirName:{dn}"),
        GeneralName::RegisteredID(oid) => format!("RID:{oid}"),
        GeneralName::OtherName(oid, _) => format!("otherName:{oid}"),
        GeneralName::X400Address(_) => "x400Address".to_owned(),
        GeneralName::EDIPartyName(_) => "ediPartyName".to_owned(),
        GeneralName::Invalid(tag, _) => format!("<undecodable entry, tag {}>", tag.0),
        GeneralName::DNSName(s) => format!("DNS:{s}"),
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// pem.key-type

fn check_key_type(object: &Value, key: &KeyInfo, pointer: &str) -> Option<Finding> {
    let (ok, expected) = match object.get("key_type").and_then(Value::as_str) {
        Some("rsa2048") => (key.is_rsa_2048(), "RSA with a 2048-bit modulus"),
        Some("p256v1") => (key.is_p256(), "EC on prime256v1 (P-256)"),
        // Other values are the schema check's enum violation, not a CSR fact.
        _ => return None,
    };
    if ok {
        return None;
    }
    let key_type = object
        .get("key_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(Finding::new(
        RULE_KEY_TYPE,
        format!("{pointer}/key_type"),
        expected,
        key.describe(),
        format!(
            "The object says key_type {key_type:?} but the CSR's public key is {}.",
            key.describe()
        ),
    ))
}

// ---------------------------------------------------------------------------------------------
// Text helpers

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Control characters escaped (quotes left alone) so a value stays on one visible line.
fn visible(text: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    for c in text {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// The start of `text`, for report columns.
fn excerpt(text: &str) -> String {
    let mut out = visible(text.chars().take(EXCERPT_CHARS));
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The end of `text`, which is where truncation shows.
fn excerpt_tail(text: &str) -> String {
    let count = text.chars().count();
    let tail = visible(text.chars().skip(count.saturating_sub(EXCERPT_CHARS / 2)));
    if count > EXCERPT_CHARS / 2 {
        format!("…{tail}")
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::OnceLock;

    use rcgen::{
        CertificateParams, DistinguishedName, DnType, DnValue, KeyPair, PKCS_ECDSA_P256_SHA256,
        PKCS_RSA_SHA256, RsaKeySize, SanType,
    };
    use serde_json::json;

    #[derive(Clone, Copy, PartialEq)]
    enum Key {
        Rsa,
        P256,
    }

    fn key(kind: Key) -> &'static KeyPair {
        static RSA: OnceLock<KeyPair> = OnceLock::new();
        static P256: OnceLock<KeyPair> = OnceLock::new();
        match kind {
            Key::Rsa => RSA.get_or_init(|| {
                KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
                    .expect("generate RSA-2048")
            }),
            Key::P256 => {
                P256.get_or_init(|| KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("P-256"))
            }
        }
    }

    /// A CSR and the object that should describe it; tests break one side.
    struct Case {
        key: Key,
        params: CertificateParams,
        object: Value,
    }

    impl Case {
        fn new(key: Key, with_ou: bool) -> Case {
            let mut dn = DistinguishedName::new();
            dn.push(
                DnType::CountryName,
                DnValue::PrintableString("US".try_into().unwrap()),
            );
            dn.push(DnType::StateOrProvinceName, "California");
            dn.push(DnType::LocalityName, "San Francisco");
            dn.push(DnType::OrganizationName, "Widgets, Inc.");
            if with_ou {
                dn.push(DnType::OrganizationalUnitName, "Platform");
            }
            dn.push(DnType::CommonName, "shop.widgets.dev");
            let mut params = CertificateParams::default();
            params.distinguished_name = dn;
            params.subject_alt_names = vec![dns("shop.widgets.dev"), dns("www.widgets.dev")];
            let mut object = json!({
                "id": "7e7b8deba8538af625850b7b2530034c",
                "key_type": if key == Key::Rsa { "rsa2048" } else { "p256v1" },
                "created_at": "2025-06-01T12:00:00Z",
                "country": "US",
                "state": "California",
                "locality": "San Francisco",
                "organization": "Widgets, Inc.",
                "common_name": "shop.widgets.dev",
                "sans": ["shop.widgets.dev", "www.widgets.dev"],
            });
            if with_ou {
                object["organizational_unit"] = json!("Platform");
            }
            Case {
                key,
                params,
                object,
            }
        }

        fn der(&self) -> Vec<u8> {
            self.params
                .serialize_request(key(self.key))
                .expect("serialize CSR")
                .der()
                .to_vec()
        }

        fn check(&self) -> Vec<Finding> {
            self.check_csr(&pem(&self.der()))
        }

        fn check_csr(&self, csr: &str) -> Vec<Finding> {
            let mut object = self.object.clone();
            object["csr"] = json!(csr);
            check_custom_csr(&object, "/result")
        }
    }

    fn dns(name: &str) -> SanType {
        SanType::DnsName(name.try_into().unwrap())
    }

    fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let group = chunk
                .iter()
                .enumerate()
                .fold(0u32, |g, (i, &b)| g | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(group >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn pem_with_label(label: &str, der: &[u8]) -> String {
        let body = base64(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for line in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap());
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out
    }

    fn pem(der: &[u8]) -> String {
        pem_with_label(LABEL, der)
    }

    fn rules(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn correct_objects_pass() {
        for key in [Key::Rsa, Key::P256] {
            for with_ou in [true, false] {
                let findings = Case::new(key, with_ou).check();
                assert!(
                    findings.is_empty(),
                    "rsa={} ou={with_ou}: {findings:#?}",
                    key == Key::Rsa
                );
            }
        }
    }

    #[test]
    fn crlf_line_endings_and_case_insensitive_sans_pass() {
        let mut case = Case::new(Key::P256, true);
        case.object["sans"] = json!(["WWW.Widgets.dev", "shop.widgets.dev"]);
        let crlf = pem(&case.der()).replace('\n', "\r\n");
        assert_eq!(rules(&case.check_csr(&crlf)), Vec::<&str>::new());
    }

    #[test]
    fn absent_csr_is_not_judged() {
        let case = Case::new(Key::P256, false);
        assert!(check_custom_csr(&case.object, "/result").is_empty());
    }

    #[test]
    fn csr_not_a_string_or_empty() {
        let case = Case::new(Key::P256, false);
        for bad in [
            json!(null),
            json!(42),
            json!(""),
            json!(" \n"),
            json!(["x"]),
        ] {
            let mut object = case.object.clone();
            object["csr"] = bad.clone();
            let findings = check_custom_csr(&object, "/result");
            assert_eq!(rules(&findings), ["pem.present"], "{bad}");
            assert_eq!(findings[0].pointer, "/result/csr");
        }
    }

    #[test]
    fn truncated_prism_example() {
        let case = Case::new(Key::Rsa, false);
        let findings = case.check_csr("-----BEGIN CERTIFICATE REQUEST-----\nMIICYzCCAUsCAQAwHj...");
        assert_eq!(rules(&findings), ["pem.block"]);
        let f = &findings[0];
        assert_eq!(f.pointer, "/result/csr");
        assert!(f.message.contains("truncated"), "{}", f.message);
        assert!(f.message.contains("END"), "{}", f.message);
        assert!(f.message.contains("..."), "{}", f.message);
        assert_eq!(f.expected, END_LINE);
    }

    #[test]
    fn elided_body_with_end_line() {
        let case = Case::new(Key::Rsa, false);
        let findings = case.check_csr(
            "-----BEGIN CERTIFICATE REQUEST-----\nMIICYzCCAUsCAQAwHj...\n\
             -----END CERTIFICATE REQUEST-----\n",
        );
        assert_eq!(rules(&findings), ["pem.block"]);
        assert!(
            findings[0].message.contains("base64"),
            "{}",
            findings[0].message
        );
        assert!(
            findings[0].message.contains("elided"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn two_blocks() {
        let case = Case::new(Key::P256, false);
        let one = pem(&case.der());
        let findings = case.check_csr(&format!("{one}{one}"));
        assert_eq!(rules(&findings), ["pem.block"]);
        assert!(findings[0].message.contains("2 PEM blocks"));
    }

    #[test]
    fn legacy_and_other_labels() {
        let case = Case::new(Key::P256, false);
        let der = case.der();
        let legacy = case.check_csr(&pem_with_label(LEGACY_LABEL, &der));
        assert_eq!(rules(&legacy), ["pem.block"]);
        assert!(
            legacy[0].message.contains("legacy"),
            "{}",
            legacy[0].message
        );
        assert_eq!(legacy[0].actual, LEGACY_LABEL);

        let other = case.check_csr(&pem_with_label("CERTIFICATE", &der));
        assert_eq!(rules(&other), ["pem.block"]);
        assert_eq!(other[0].actual, "CERTIFICATE");
    }

    #[test]
    fn end_label_must_match() {
        let case = Case::new(Key::P256, false);
        let text = pem(&case.der()).replace("-----END CERTIFICATE REQUEST", "-----END CERTIFICATE");
        let findings = case.check_csr(&text);
        assert_eq!(rules(&findings), ["pem.block"]);
        assert!(findings[0].message.contains("does not match"));
    }

    #[test]
    fn text_around_the_block() {
        let case = Case::new(Key::P256, false);
        let block = pem(&case.der());
        let after = case.check_csr(&format!("{block}garbage\n"));
        assert_eq!(rules(&after), ["pem.block"]);
        assert!(after[0].message.contains("after its END line"));
        assert_eq!(after[0].actual, "garbage");

        let before = case.check_csr(&format!("Subject: shop.widgets.dev\n{block}"));
        assert_eq!(rules(&before), ["pem.block"]);
        assert!(before[0].message.contains("before its BEGIN line"));

        // Whitespace around the block is fine.
        assert!(case.check_csr(&format!("\n  {block}\n\n")).is_empty());
    }

    #[test]
    fn bad_base64() {
        let case = Case::new(Key::P256, false);
        let text = pem(&case.der());
        let body_start = BEGIN_LINE.len() + 1;
        let mut broken = text.clone();
        broken.replace_range(body_start + 10..body_start + 11, "*");
        let findings = case.check_csr(&broken);
        assert_eq!(rules(&findings), ["pem.block"]);
        assert!(
            findings[0].message.contains("'*'"),
            "{}",
            findings[0].message
        );

        // One character short: the last group is incomplete.
        let mut short = text.clone();
        short.remove(body_start);
        assert_eq!(rules(&case.check_csr(&short)), ["pem.block"]);
    }

    #[test]
    fn one_line_and_escaped_pem() {
        let case = Case::new(Key::P256, false);
        let body = base64(&case.der());
        let one_line = format!("{BEGIN_LINE}{body}{END_LINE}");
        assert_eq!(rules(&case.check_csr(&one_line)), ["pem.block"]);
        let escaped = format!("{BEGIN_LINE}\\n{body}\\n{END_LINE}\\n");
        let findings = case.check_csr(&escaped);
        assert_eq!(rules(&findings), ["pem.block"]);
        assert!(findings[0].message.contains("escape"));
    }

    #[test]
    fn bare_base64_is_not_pem() {
        let case = Case::new(Key::P256, false);
        let findings = case.check_csr(&base64(&case.der()));
        assert_eq!(rules(&findings), ["pem.block"]);
        assert!(findings[0].message.contains("bare base64"));
    }

    #[test]
    fn der_with_trailing_bytes() {
        let case = Case::new(Key::Rsa, true);
        let mut der = case.der();
        der.push(0);
        let findings = case.check_csr(&pem(&der));
        assert_eq!(rules(&findings), ["pem.der"]);
        assert_eq!(findings[0].actual, "1 trailing byte(s)");
    }

    #[test]
    fn der_that_is_not_a_csr() {
        let case = Case::new(Key::P256, false);
        let findings = case.check_csr(&pem(&[0x30, 0x03, 0x02, 0x01, 0x00]));
        assert_eq!(rules(&findings), ["pem.der"]);
    }

    #[test]
    fn tampered_signature() {
        for kind in [Key::Rsa, Key::P256] {
            let case = Case::new(kind, true);
            let mut der = case.der();
            // The signature BIT STRING ends the DER, so the last byte is signature content.
            *der.last_mut().unwrap() ^= 0x01;
            let findings = case.check_csr(&pem(&der));
            assert_eq!(rules(&findings), ["pem.signature"]);
            assert!(findings[0].message.contains("does not verify"));
        }
    }

    #[test]
    fn a_kept_verdict_is_only_ever_the_verdict_of_the_same_der() {
        // The good CSR is verified and kept first; its tampered twin, and the good one again,
        // must each still get their own verdict.
        for kind in [Key::Rsa, Key::P256] {
            let case = Case::new(kind, true);
            let good = case.der();
            let mut bad = good.clone();
            *bad.last_mut().unwrap() ^= 0x01;
            for _ in 0..2 {
                assert!(case.check_csr(&pem(&good)).is_empty());
                assert_eq!(rules(&case.check_csr(&pem(&bad))), ["pem.signature"]);
            }
        }
    }

    #[test]
    fn small_rsa_key_is_named_as_the_cause() {
        let (actual, message) = signature_failure(
            &X509Error::SignatureVerificationError,
            "sha256WithRSAEncryption",
            &KeyInfo::Rsa { bits: Some(1024) },
        );
        assert_eq!(actual, "RSA key of 1024 bits");
        assert!(message.contains("only 1024 bits"), "{message}");
        assert!(message.contains("2048"), "{message}");
    }

    #[test]
    fn bits_are_counted_not_guessed() {
        let mut modulus = vec![0x00, 0x80];
        modulus.extend([0xff; 255]);
        assert_eq!(count_bits(&modulus), 2048);
        modulus[1] = 0x7f;
        assert_eq!(count_bits(&modulus), 2047);
        modulus[1] = 0x01;
        assert_eq!(count_bits(&modulus), 2041);
        assert_eq!(count_bits(&[0, 0]), 0);
        assert_eq!(count_bits(&[]), 0);
    }

    #[test]
    fn common_name_mismatch() {
        let mut case = Case::new(Key::Rsa, false);
        case.object["common_name"] = json!("Shop.widgets.dev");
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.common-name"]);
        assert_eq!(findings[0].pointer, "/result/common_name");
        assert_eq!(findings[0].expected, "CN=\"Shop.widgets.dev\"");
        assert_eq!(findings[0].actual, "CN=\"shop.widgets.dev\"");
    }

    #[test]
    fn common_name_missing_or_doubled() {
        let mut case = Case::new(Key::P256, false);
        case.params.distinguished_name.remove(DnType::CommonName);
        assert_eq!(rules(&case.check()), ["pem.common-name"]);

        let mut case = Case::new(Key::P256, false);
        case.params
            .distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 3]), "other.widgets.dev");
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.common-name"]);
        assert!(findings[0].message.contains("2 CN attributes"));

        // Without common_name in the object there is nothing to compare a single CN with.
        let mut case = Case::new(Key::P256, false);
        case.object.as_object_mut().unwrap().remove("common_name");
        assert!(case.check().is_empty());
    }

    #[test]
    fn each_subject_field_mismatch() {
        for name in [
            "country",
            "state",
            "locality",
            "organization",
            "organizational_unit",
        ] {
            let mut case = Case::new(Key::P256, true);
            case.object[name] = json!("Elsewhere");
            let findings = case.check();
            assert_eq!(rules(&findings), ["pem.subject"], "{name}");
            assert_eq!(findings[0].pointer, format!("/result/{name}"));
            assert!(findings[0].expected.contains("\"Elsewhere\""), "{name}");
        }
    }

    #[test]
    fn subject_attribute_without_json_field() {
        let mut case = Case::new(Key::P256, true);
        case.object
            .as_object_mut()
            .unwrap()
            .remove("organizational_unit");
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.subject"]);
        assert_eq!(findings[0].pointer, "/result/organizational_unit");
        assert_eq!(findings[0].actual, "OU=\"Platform\"");

        // An empty string is the same as absent.
        let mut case = Case::new(Key::P256, false);
        case.object["organizational_unit"] = json!("");
        assert!(case.check().is_empty());
    }

    #[test]
    fn json_field_without_subject_attribute() {
        let mut case = Case::new(Key::P256, false);
        case.object["organizational_unit"] = json!("Platform");
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.subject"]);
        assert_eq!(findings[0].actual, "no OU attribute");
    }

    #[test]
    fn extra_subject_attribute_type() {
        let mut case = Case::new(Key::P256, false);
        case.params.distinguished_name.push(
            DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
            DnValue::Ia5String("ops@widgets.dev".try_into().unwrap()),
        );
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.subject"]);
        assert_eq!(findings[0].pointer, "/result/csr");
        assert!(findings[0].actual.contains("ops@widgets.dev"));
    }

    #[test]
    fn other_string_types() {
        let mut case = Case::new(Key::P256, true);
        case.params.distinguished_name.push(
            DnType::OrganizationalUnitName,
            DnValue::BmpString("Platform".try_into().unwrap()),
        );
        case.params.distinguished_name.push(
            DnType::LocalityName,
            DnValue::UniversalString("San Francisco".try_into().unwrap()),
        );
        assert!(case.check().is_empty());

        case.params.distinguished_name.push(
            DnType::OrganizationName,
            DnValue::TeletexString("Widgets, Inc.".try_into().unwrap()),
        );
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.subject"]);
        assert!(
            findings[0].message.contains("cannot be read"),
            "{findings:?}"
        );
    }

    #[test]
    fn san_missing_and_extra() {
        let mut missing = Case::new(Key::P256, false);
        missing.object["sans"] = json!(["shop.widgets.dev", "www.widgets.dev", "api.widgets.dev"]);
        let findings = missing.check();
        assert_eq!(rules(&findings), ["pem.sans"]);
        assert_eq!(findings[0].pointer, "/result/sans");
        assert!(findings[0].message.contains("missing \"api.widgets.dev\""));

        let mut extra = Case::new(Key::P256, false);
        extra.params.subject_alt_names.push(dns("api.widgets.dev"));
        let findings = extra.check();
        assert_eq!(rules(&findings), ["pem.sans"]);
        assert!(
            findings[0]
                .message
                .contains("not in `sans`: \"api.widgets.dev\"")
        );

        // Multiplicity counts.
        let mut doubled = Case::new(Key::P256, false);
        doubled
            .params
            .subject_alt_names
            .push(dns("WWW.widgets.dev"));
        assert_eq!(rules(&doubled.check()), ["pem.sans"]);
    }

    #[test]
    fn no_san_extension() {
        let mut case = Case::new(Key::Rsa, false);
        case.params.subject_alt_names.clear();
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.sans"]);
        assert_eq!(findings[0].actual, "no SAN extension");

        // Neither side has names: agreement.
        case.object["sans"] = json!([]);
        assert!(case.check().is_empty());
    }

    #[test]
    fn non_dns_san() {
        let mut case = Case::new(Key::P256, false);
        case.params
            .subject_alt_names
            .push(SanType::IpAddress("192.0.2.1".parse().unwrap()));
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.sans"]);
        assert_eq!(findings[0].pointer, "/result/csr");
        assert_eq!(findings[0].actual, "IP:192.0.2.1");
    }

    #[test]
    fn key_type_mismatch_both_ways() {
        let mut rsa = Case::new(Key::Rsa, false);
        rsa.object["key_type"] = json!("p256v1");
        let findings = rsa.check();
        assert_eq!(rules(&findings), ["pem.key-type"]);
        assert_eq!(findings[0].pointer, "/result/key_type");
        assert_eq!(findings[0].actual, "RSA 2048-bit");

        let mut ec = Case::new(Key::P256, false);
        ec.object["key_type"] = json!("rsa2048");
        let findings = ec.check();
        assert_eq!(rules(&findings), ["pem.key-type"]);
        assert_eq!(findings[0].actual, "EC on prime256v1 (1.2.840.10045.3.1.7)");

        // Unknown or missing key types belong to the schema check.
        ec.object["key_type"] = json!("ed25519");
        assert!(ec.check().is_empty());
        ec.object.as_object_mut().unwrap().remove("key_type");
        assert!(ec.check().is_empty());
    }

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let case = Case::new(Key::P256, true);
        let rsa_der = Case::new(Key::Rsa, true).der();
        let ec_der = case.der();
        for round in 0..300 {
            let len = rng.below(400);
            let text = match round % 5 {
                0 => String::from_utf8_lossy(&rng.bytes(len)).into_owned(),
                1 => pem(&rng.bytes(len)),
                2 | 3 => {
                    let mut der = if round % 2 == 0 {
                        rsa_der.clone()
                    } else {
                        ec_der.clone()
                    };
                    for _ in 0..1 + rng.below(3) {
                        let at = rng.below(der.len());
                        der[at] = rng.next() as u8;
                    }
                    pem(&der)
                }
                _ => {
                    let der = &ec_der[..rng.below(ec_der.len())];
                    let mut text = pem(der);
                    let cut = rng.below(text.len());
                    // PEM text is ASCII, so any cut is a char boundary.
                    text.truncate(cut);
                    text
                }
            };
            let _ = case.check_csr(&text);
        }

        for odd in [
            json!(null),
            json!([1, 2]),
            json!("csr"),
            json!({"csr": {"pem": "x"}}),
            json!({"csr": "-----BEGIN -----\n-----END -----"}),
            json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\n===="}),
            json!({"csr": "-----END CERTIFICATE REQUEST-----\n-----BEGIN CERTIFICATE REQUEST-----"}),
            json!({"csr": "\u{feff}-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----"}),
            json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nÄÖ€\n-----END CERTIFICATE REQUEST-----"}),
        ] {
            let _ = check_custom_csr(&odd, "");
        }

        let mut object = case.object.clone();
        object["csr"] = json!(pem(&ec_der));
        for (name, value) in [
            ("common_name", json!(5)),
            ("country", json!(null)),
            ("state", json!(["California"])),
            ("sans", json!("shop.widgets.dev")),
            ("sans", json!([1, null, "shop.widgets.dev"])),
            ("key_type", json!({"rsa": 2048})),
        ] {
            let mut odd = object.clone();
            odd[name] = value;
            let _ = check_custom_csr(&odd, "/result");
        }
    }
}
