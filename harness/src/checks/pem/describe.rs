//! What a CSR says beside what its JSON says, attribute by attribute, for reports that show a
//! PEM finding as a small table. It judges nothing: the checks beside it do.

use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME, OID_X509_LOCALITY_NAME,
    OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT, OID_X509_STATE_OR_PROVINCE_NAME,
};
use x509_parser::prelude::FromDer;

use super::armour::read_pem;

/// One row: the attribute, what the CSR holds, what the JSON holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub attribute: String,
    pub csr: String,
    pub json: String,
}

/// The subject attributes and SANs of the CSR in `object`'s `csr` field beside the object's
/// fields; `None` when there is no CSR that parses.
pub fn side_by_side(object: &Value) -> Option<Vec<Row>> {
    let der = read_pem(object.get("csr")?.as_str()?).ok()?;
    let (_, csr) = X509CertificationRequest::from_der(&der).ok()?;
    let subject = &csr.certification_request_info.subject;
    let json = |name: &str| match object.get(name) {
        None | Some(Value::Null) => "(absent)".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut rows = Vec::new();
    for (oid, short, name) in [
        (OID_X509_COMMON_NAME, "CN", "common_name"),
        (OID_X509_COUNTRY_NAME, "C", "country"),
        (OID_X509_STATE_OR_PROVINCE_NAME, "ST", "state"),
        (OID_X509_LOCALITY_NAME, "L", "locality"),
        (OID_X509_ORGANIZATION_NAME, "O", "organization"),
        (OID_X509_ORGANIZATIONAL_UNIT, "OU", "organizational_unit"),
    ] {
        let values: Vec<String> = subject
            .iter_by_oid(&oid)
            .map(|a| a.as_str().map_or("(not text)".to_string(), str::to_string))
            .collect();
        rows.push(Row {
            attribute: format!("{short} / {name}"),
            csr: if values.is_empty() {
                "(absent)".into()
            } else {
                values.join(" + ")
            },
            json: json(name),
        });
    }
    let mut sans = Vec::new();
    for attribute in csr.certification_request_info.iter_attributes() {
        if let ParsedCriAttribute::ExtensionRequest(request) = attribute.parsed_attribute() {
            for ext in &request.extensions {
                if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                    for name in &san.general_names {
                        sans.push(match name {
                            GeneralName::DNSName(d) => d.to_string(),
                            other => format!("{other:?}"),
                        });
                    }
                }
            }
        }
    }
    let json_sans = match object.get("sans") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        None | Some(Value::Null) => "(absent)".into(),
        Some(other) => other.to_string(),
    };
    rows.push(Row {
        attribute: "SANs / sans".into(),
        csr: if sans.is_empty() {
            "(none)".into()
        } else {
            sans.join(", ")
        },
        json: json_sans,
    });
    Some(rows)
}
