//! Shared by the emulator's integration tests: x509-parser's view of a CSR the emulator made.
#![allow(dead_code)] // each test binary uses only some of these

use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME, OID_X509_LOCALITY_NAME,
    OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT, OID_X509_STATE_OR_PROVINCE_NAME,
};
use x509_parser::prelude::*;

/// A CSR as parsed: subject (short name, value, string type) in order, DNS SANs in order, and
/// the key. Parsing asserts one PEM block labelled CERTIFICATE REQUEST, nothing trailing, a
/// self-signature that verifies and only DNS names in the SAN extension.
pub struct ParsedCsr {
    pub subject: Vec<(String, String, Tag)>,
    pub sans: Vec<String>,
    pub key_algorithm: String,
    pub ec_curve_p256: bool,
    pub rsa_bits: usize,
}

pub fn parse_csr(pem_text: &str) -> ParsedCsr {
    let (rest, pem) = parse_x509_pem(pem_text.as_bytes()).expect("PEM parses");
    assert!(rest.iter().all(u8::is_ascii_whitespace));
    assert_eq!(pem.label, "CERTIFICATE REQUEST");
    let (rest, csr) = X509CertificationRequest::from_der(&pem.contents).expect("PKCS#10 parses");
    assert!(rest.is_empty());
    csr.verify_signature().expect("self-signature verifies");
    let info = &csr.certification_request_info;
    let names = [
        (OID_X509_COUNTRY_NAME, "C"),
        (OID_X509_STATE_OR_PROVINCE_NAME, "ST"),
        (OID_X509_LOCALITY_NAME, "L"),
        (OID_X509_ORGANIZATION_NAME, "O"),
        (OID_X509_ORGANIZATIONAL_UNIT, "OU"),
        (OID_X509_COMMON_NAME, "CN"),
    ];
    let subject = info
        .subject
        .iter_attributes()
        .map(|a| {
            let short = names
                .iter()
                .find(|(oid, _)| oid == a.attr_type())
                .map_or_else(|| a.attr_type().to_id_string(), |(_, n)| n.to_string());
            (short, a.as_str().unwrap().to_owned(), a.attr_value().tag())
        })
        .collect();
    let mut sans = Vec::new();
    for ext in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(d) => sans.push(d.to_string()),
                    other => panic!("unexpected SAN {other:?}"),
                }
            }
        }
    }
    let alg = &info.subject_pki.algorithm;
    let rsa_bits = match info.subject_pki.parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => {
            let m: Vec<u8> = rsa
                .modulus
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            m.len() * 8 - m[0].leading_zeros() as usize
        }
        _ => 0,
    };
    ParsedCsr {
        subject,
        sans,
        key_algorithm: alg.algorithm.to_id_string(),
        ec_curve_p256: alg
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .is_some_and(|o| o == OID_EC_P256),
        rsa_bits,
    }
}
