//! Key generation and PKCS#10 signing: the one place that touches rcgen. It signs what the
//! validator already checked; it never validates, stores or answers anything.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, DnValue, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256, RsaKeySize, SanType,
};

use crate::error::ApiError;
use crate::model::KeyType;
use crate::validate::CreateCustomCsr;

#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    #[error("CSR generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("key generation was cancelled")]
    Cancelled,
}

impl CsrError {
    /// The answer for a create whose CSR could not be made. A value the encoder refuses is the
    /// request's fault: 400, never a 5xx, in every reading. No value the validator accepts does
    /// that today (SANs are ASCII in every reading, the only string rcgen refuses; a country
    /// that is not a `PrintableString` goes in as `UTF8String`); this keeps it a 4xx should a
    /// reading ever let one through. Anything else is the emulator's own failure.
    pub fn api_error(&self) -> ApiError {
        match self {
            CsrError::Rcgen(rcgen::Error::InvalidAsn1String(_)) => ApiError::InvalidRequest {
                reason: "a value cannot be encoded in the CSR".into(),
            },
            _ => ApiError::Internal,
        }
    }
}

pub fn generate_key(key_type: KeyType) -> Result<KeyPair, CsrError> {
    Ok(match key_type {
        KeyType::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)?,
        KeyType::P256v1 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
    })
}

/// Signs a PKCS#10 request whose subject is C, ST, L, O, OU, CN (Cloudflare's order) and whose
/// SAN extension holds exactly the requested DNS names. Returns the PEM.
pub fn sign_request(req: &CreateCustomCsr, key: &KeyPair) -> Result<String, CsrError> {
    let mut dn = DistinguishedName::new();
    // RFC 5280 wants countryName as PrintableString; a value that cannot be one still goes in
    // (as UTF8String) because the API echoes whatever country it was given.
    let country = match rcgen::string::PrintableString::try_from(req.country.as_str()) {
        Ok(p) => DnValue::PrintableString(p),
        Err(_) => DnValue::Utf8String(req.country.clone()),
    };
    dn.push(DnType::CountryName, country);
    dn.push(DnType::StateOrProvinceName, req.state.as_str());
    dn.push(DnType::LocalityName, req.locality.as_str());
    dn.push(DnType::OrganizationName, req.organization.as_str());
    if let Some(ou) = req
        .organizational_unit
        .as_deref()
        .filter(|ou| !ou.is_empty())
    {
        dn.push(DnType::OrganizationalUnitName, ou);
    }
    dn.push(DnType::CommonName, req.common_name.as_str());

    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.subject_alt_names = req
        .sans
        .iter()
        .map(|s| Ok(SanType::DnsName(s.as_str().try_into()?)))
        .collect::<Result<_, rcgen::Error>>()?;
    Ok(params.serialize_request(key)?.pem()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(sans: &[&str], country: &str) -> CreateCustomCsr {
        CreateCustomCsr {
            country: country.into(),
            state: "   ".into(),
            locality: "l".repeat(500),
            organization: "Ö, \"+;<>#\\".repeat(40),
            organizational_unit: Some("\t".into()),
            common_name: "é".repeat(64),
            sans: sans.iter().map(|s| (*s).to_owned()).collect(),
            key_type: KeyType::P256v1,
            name: None,
            description: None,
        }
    }

    #[test]
    fn what_any_reading_accepts_is_encoded_and_what_cannot_be_is_a_4xx() {
        let key = generate_key(KeyType::P256v1).unwrap();
        let long = format!("{}.{}.net", "a".repeat(200), "b".repeat(51));
        assert_eq!(long.len(), 256);
        let pem = sign_request(
            &request(&[&long, "A_b.x-.Shop.NET", "A_b.x-.Shop.NET"], "u1 "),
            &key,
        )
        .expect("lenient extremes are encoded");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        sign_request(&request(&["shop.net"], "Ü"), &key).expect("a UTF8String country");
        let err = sign_request(&request(&["bücher.de"], "US"), &key).unwrap_err();
        assert_eq!(err.api_error().status().as_u16(), 400);
        assert_eq!(CsrError::Cancelled.api_error(), ApiError::Internal);
    }
}
