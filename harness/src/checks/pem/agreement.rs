//! Does the CSR say what the object's JSON says: `pem.common-name`, `pem.subject` (C, ST, L,
//! O, OU, nothing else), `pem.sans` (DNS names, case-insensitive, as a list), `pem.key-type`.
//! Pure: a parsed CSR and JSON in, findings out; it never reads PEM and never checks a signature.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::Value;
use x509_parser::asn1_rs::{Class, Tag};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::oid_registry::{
    OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME, OID_X509_EXT_SUBJECT_ALT_NAME,
    OID_X509_LOCALITY_NAME, OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT,
    OID_X509_STATE_OR_PROVINCE_NAME, Oid,
};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::model::Finding;

use super::key::{KeyInfo, oid_name};
use super::text::excerpt;

pub const RULE_COMMON_NAME: &str = "pem.common-name";
pub const RULE_SUBJECT: &str = "pem.subject";
pub const RULE_SANS: &str = "pem.sans";
pub const RULE_KEY_TYPE: &str = "pem.key-type";

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

pub(super) fn check_common_name(
    object: &Value,
    subject: &X509Name<'_>,
    pointer: &str,
) -> Option<Finding> {
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

pub(super) fn check_subject(object: &Value, subject: &X509Name<'_>, pointer: &str) -> Vec<Finding> {
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

pub(super) fn check_sans(
    object: &Value,
    csr: &X509CertificationRequest<'_>,
    pointer: &str,
) -> Vec<Finding> {
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

pub(super) fn check_key_type(object: &Value, key: &KeyInfo, pointer: &str) -> Option<Finding> {
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
