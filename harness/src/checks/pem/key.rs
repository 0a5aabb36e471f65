//! What the CSR's public key is (RSA and its exact modulus size, EC and its curve, or other),
//! described once for both the signature and the key-type checks.
//! Pure: a SubjectPublicKeyInfo in, facts out; it never verifies anything and never judges.

use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, Oid,
};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

#[derive(Debug)]
pub(super) enum KeyInfo {
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
    pub(super) fn of(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
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

    pub(super) fn is_rsa_2048(&self) -> bool {
        matches!(self, KeyInfo::Rsa { bits: Some(2048) })
    }

    pub(super) fn is_p256(&self) -> bool {
        let p256 = OID_EC_P256.to_id_string();
        matches!(self, KeyInfo::Ec { curve: Some((id, _)) } if *id == p256)
    }

    pub(super) fn describe(&self) -> String {
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
pub(super) fn count_bits(unsigned_be: &[u8]) -> usize {
    let significant = match unsigned_be.iter().position(|&b| b != 0) {
        Some(first) => &unsigned_be[first..],
        None => return 0,
    };
    significant.len() * 8 - significant[0].leading_zeros() as usize
}

pub(super) fn oid_name(oid: &Oid<'_>) -> String {
    match oid2sn(oid, oid_registry()) {
        Ok(name) => name.to_owned(),
        Err(_) => oid.to_id_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
