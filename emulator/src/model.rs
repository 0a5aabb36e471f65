//! The API's object model: key types, accounts and zones, a custom CSR as it is served, how its
//! timestamps are written, and the documented bounds on a create's fields. Plain data: it never
//! validates, signs, stores or answers anything.

use std::str::FromStr;

use serde::Serialize;
use time::OffsetDateTime;

pub const MAX_COMMON_NAME_CHARS: usize = 64;
pub const MAX_SANS: usize = 150;
/// SANs must be *smaller* than 256 characters (in the default reading; see
/// `Reading::max_san_len`).
pub const MAX_SAN_LEN: usize = 255;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    #[default]
    Rsa2048,
    P256v1,
}

impl FromStr for KeyType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "rsa2048" => Ok(KeyType::Rsa2048),
            "p256v1" => Ok(KeyType::P256v1),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    Account,
    Zone,
}

/// An account or a zone, by its id as it appears in the path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub kind: ScopeKind,
    pub id: String,
}

/// A CSR as the API serves it: exactly the fields that were sent, plus what Cloudflare adds.
#[derive(Debug, Clone, Serialize)]
pub struct CustomCsr {
    pub id: String,
    pub created_at: String,
    pub key_type: KeyType,
    pub csr: String,
    pub common_name: String,
    pub country: String,
    pub state: String,
    pub locality: String,
    pub organization: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    pub sans: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip)]
    pub created: OffsetDateTime,
}

/// RFC 3339 in UTC with a `Z` and microseconds, the way Cloudflare writes timestamps.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}
