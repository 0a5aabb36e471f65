//! The SDK-suite profile (`--sdk-suite`): the spec's example CSR in every account and zone,
//! back after each delete, and the example values accepted. It describes the example and keeps
//! its signature; it never stores it itself.
//!
//! Cloudflare's SDKs generate their tests from the OpenAPI spec's examples and run them against
//! a stateless mock: they create with the example body (SANs under example.com) and get and
//! delete the example id, which they never created. Everything else stays faithful.

use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::model::{KeyType, ScopeKind};
use crate::validate::{CreateCustomCsr, Rules};

/// The id of the spec's example CSR, which the generated SDK tests get and delete.
pub const EXAMPLE_ID: &str = "7b163417-1d2b-4c84-a38a-2fb7a0cd7752";

/// When the spec's example says it was created: 2024-01-15T10:30:00Z.
pub(crate) fn example_created() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_705_314_600).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The spec's example CSR as a create request; the account-only fields in accounts.
pub(crate) fn example_request(kind: ScopeKind) -> CreateCustomCsr {
    let account = kind == ScopeKind::Account;
    CreateCustomCsr {
        country: "US".into(),
        state: "California".into(),
        locality: "San Francisco".into(),
        organization: "Cloudflare, Inc.".into(),
        organizational_unit: Some("Engineering".into()),
        common_name: "example.com".into(),
        sans: vec!["example.com".into(), "www.example.com".into()],
        key_type: KeyType::Rsa2048,
        name: account.then(|| "My Custom CSR".into()),
        description: account.then(|| "CSR for example.com wildcard".into()),
    }
}

/// What the profile changes, if it is on.
pub(crate) struct SdkSuite {
    on: bool,
    /// The example's PEM and private key, made once: the subject is the same in every scope.
    signed: OnceCell<(String, Vec<u8>)>,
}

impl SdkSuite {
    pub fn new(on: bool) -> SdkSuite {
        SdkSuite {
            on,
            signed: OnceCell::new(),
        }
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Validation rules for create bodies.
    pub fn rules(&self) -> Rules {
        Rules {
            allow_example_domains: self.on,
            ..Rules::default()
        }
    }

    /// The example's PEM and key, signing it on first use with `sign`.
    pub async fn signed<F, Fut>(&self, sign: F) -> Option<&(String, Vec<u8>)>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Option<(String, Vec<u8>)>>,
    {
        if !self.on {
            return None;
        }
        self.signed
            .get_or_try_init(|| async { sign().await.ok_or(()) })
            .await
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::parse_create;

    #[test]
    fn the_example_is_what_the_generated_tests_send_and_the_profile_accepts_it() {
        let body = serde_json::json!({
            "common_name": "example.com", "country": "US", "locality": "San Francisco",
            "organization": "Cloudflare, Inc.", "sans": ["example.com", "www.example.com"],
            "state": "California", "description": "CSR for example.com wildcard",
            "key_type": "rsa2048", "name": "My Custom CSR", "organizational_unit": "Engineering",
        });
        let suite = SdkSuite::new(true);
        let parsed = parse_create(&body, ScopeKind::Account, suite.rules()).unwrap();
        assert_eq!(parsed, example_request(ScopeKind::Account));
        // Faithful without the profile: SANs under example.com are 1416.
        let faithful = SdkSuite::new(false).rules();
        assert_eq!(
            parse_create(&body, ScopeKind::Account, faithful).map_err(|e| e.code()),
            Err(1416)
        );
        assert_eq!(example_request(ScopeKind::Zone).name, None);
        assert_eq!(
            crate::model::format_timestamp(example_created()),
            "2024-01-15T10:30:00.000000Z"
        );
    }
}
