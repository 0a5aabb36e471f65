//! Tests of the `csr` check end to end, through `check_custom_csr`, grouped by the file whose
//! behaviour they pin; the fixture (a CSR and the object that should describe it) lives here.
//! Test-only: nothing here runs in a build of the harness.

mod agreement;
mod armour;
mod signature;

use std::sync::OnceLock;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, DnValue, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256, RsaKeySize, SanType,
};
use serde_json::{Value, json};

use crate::model::Finding;

use super::armour::LABEL;
use super::check_custom_csr;

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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
