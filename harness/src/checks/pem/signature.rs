//! `pem.signature`: does the CSR's self-signature verify with its own public key, and if not,
//! why (a small RSA key is named as the cause). Verdicts are kept per DER, process-wide.
//! Pure apart from that cache: a parsed CSR in, at most one finding out; it never parses text.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::error::X509Error;

use crate::model::Finding;

use super::key::{KeyInfo, oid_name};

pub const RULE_SIGNATURE: &str = "pem.signature";

/// Signature verdicts by the DER they were reached on. A run sees each CSR many times (the
/// create's answer, the get's, every page of every list walk), and verifying a signature is
/// most of what the csr check costs, so a CSR is verified once. The verdict is a function of
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

pub(super) fn check_signature(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
