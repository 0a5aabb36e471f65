//! The `csr` field of a CustomCsr object, end to end: the public entry point and the rule names.
//! It judges `pem.present` and `pem.der` itself and hands the rest to the files beside it.
//! Pure: JSON in, findings out; it never sends a request and keeps no state of its own.
//!
//! No other tool checks this, and a mock that serves the spec's elided example (`MIICYzCC...`)
//! must fail here with a sentence that says why.
//!
//! Decisions worth knowing when reading findings:
//! * An object without `csr` yields nothing: the field is optional in the schema.
//! * The PEM is read by `armour.rs`, not by `x509_parser::pem`, because that reader ignores the
//!   END label and any text before BEGIN, both of which this contract forbids.
//! * A JSON field of the wrong type (e.g. `"country": 7`) is left to the schema check; this module
//!   only compares what it can compare.
//! * `common_name` absent or null: no comparison (the CN rule still flags several CNs). The other
//!   subject fields and `sans` are compared even when absent, because then the CSR must not carry
//!   them either.
//! * An empty JSON string equals an absent attribute: X.520 forbids empty attribute values, so
//!   `""` can only mean "none".

pub(crate) mod agreement;
mod armour;
pub mod describe;
mod key;
pub(crate) mod signature;
mod text;

#[cfg(test)]
mod tests;

use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Version;

use crate::model::Finding;

use self::agreement::{check_common_name, check_key_type, check_sans, check_subject};
use self::armour::read_pem;
use self::key::KeyInfo;
use self::signature::check_signature;
use self::text::{Problem, excerpt, json_type, merge};

pub const RULE_PRESENT: &str = "pem.present";
pub const RULE_BLOCK: &str = "pem.block";
pub const RULE_DER: &str = "pem.der";
// The other rules are named beside the check that reports them.
pub use self::agreement::{RULE_COMMON_NAME, RULE_KEY_TYPE, RULE_SANS, RULE_SUBJECT};
pub use self::signature::RULE_SIGNATURE;

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
