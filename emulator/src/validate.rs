//! Turns a create body into a checked request, with Cloudflare's codes and check order. Pure:
//! body in, checked request out; it never signs, stores or answers anything.

use serde_json::{Map, Value};

use crate::error::{ApiError, RequiredField};
use crate::model::{KeyType, MAX_COMMON_NAME_CHARS, MAX_SANS, ScopeKind};
use crate::reading::Reading;

/// A create body that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCustomCsr {
    pub country: String,
    pub state: String,
    pub locality: String,
    pub organization: String,
    pub organizational_unit: Option<String>,
    pub common_name: String,
    pub sans: Vec<String>,
    pub key_type: KeyType,
    /// Account scope only; zone bodies never keep these.
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Which of the real API's rules apply; the default is all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// Accept SANs under example.com, example.net and example.org (the SDK-suite profile).
    pub allow_example_domains: bool,
    /// How the questions the documentation leaves open are answered.
    pub reading: Reading,
}

/// Checks in Cloudflare's order: required fields (country, state, locality, organization,
/// common name), common-name length, SANs, key type; the first failure wins. Then the optional
/// fields' types, and last the strict reading's bounds, which have no documented code.
pub fn parse_create(
    body: &Value,
    scope: ScopeKind,
    rules: Rules,
) -> Result<CreateCustomCsr, ApiError> {
    let reading = rules.reading;
    let obj = body.as_object().ok_or(ApiError::InvalidJson)?;
    let country = required(obj, "country", RequiredField::Country, reading)?;
    let state = required(obj, "state", RequiredField::State, reading)?;
    let locality = required(obj, "locality", RequiredField::Locality, reading)?;
    let organization = required(obj, "organization", RequiredField::Organization, reading)?;
    let common_name = required(obj, "common_name", RequiredField::CommonName, reading)?;
    let common_name_len = if reading.common_name_counts_bytes() {
        common_name.len()
    } else {
        common_name.chars().count()
    };
    if common_name_len > MAX_COMMON_NAME_CHARS {
        return Err(ApiError::CommonNameTooLong {
            max: MAX_COMMON_NAME_CHARS,
        });
    }
    let sans = sans(obj.get("sans"), rules)?;
    let key_type = key_type(obj.get("key_type"), reading)?;
    let organizational_unit = optional(obj, "organizational_unit", reading)?;
    let (name, description) = match scope {
        ScopeKind::Account => (
            optional(obj, "name", reading)?,
            optional(obj, "description", reading)?,
        ),
        ScopeKind::Zone => (None, None),
    };
    if reading.country_must_be_alpha2()
        && !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(ApiError::InvalidRequest {
            reason: "country must be an ISO 3166-1 alpha-2 code (two upper-case letters)".into(),
        });
    }
    let subject = [
        ("organization", Some(&organization)),
        ("organizational_unit", organizational_unit.as_ref()),
        ("locality", Some(&locality)),
        ("state", Some(&state)),
    ]
    .map(|(field, value)| (field, value, reading.max_subject_chars(field)));
    let account = [
        ("name", name.as_ref()),
        ("description", description.as_ref()),
    ]
    .map(|(field, value)| (field, value, reading.max_account_text_chars()));
    for (field, value, max) in subject.into_iter().chain(account) {
        if let (Some(value), Some(max)) = (value, max)
            && value.chars().count() > max
        {
            return Err(ApiError::InvalidRequest {
                reason: format!("{field} must be at most {max} characters"),
            });
        }
    }
    Ok(CreateCustomCsr {
        country,
        state,
        locality,
        organization,
        organizational_unit,
        common_name,
        sans,
        key_type,
        name,
        description,
    })
}

/// Absent, null, empty, not a string or (unless the reading allows it) only whitespace: all
/// count as "field is required".
fn required(
    obj: &Map<String, Value>,
    key: &str,
    field: RequiredField,
    reading: Reading,
) -> Result<String, ApiError> {
    match obj.get(key) {
        Some(Value::String(s))
            if !s.is_empty() && (reading.blank_required_ok() || !s.trim().is_empty()) =>
        {
            Ok(s.clone())
        }
        _ => Err(ApiError::Required(field)),
    }
}

/// Null counts as not sent unless the reading says otherwise; other non-strings have no code
/// of their own, so they are 1400.
fn optional(
    obj: &Map<String, Value>,
    key: &str,
    reading: Reading,
) -> Result<Option<String>, ApiError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Null) if reading.null_is_absent() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::InvalidJson),
    }
}

/// `rsa2048` unless sent; anything but one of the two names (in the reading's case and with
/// its view of `null` and `""`) is 1417.
fn key_type(value: Option<&Value>, reading: Reading) -> Result<KeyType, ApiError> {
    match value {
        None => Ok(KeyType::default()),
        Some(Value::Null) if reading.null_is_absent() => Ok(KeyType::default()),
        Some(Value::String(s)) if s.is_empty() && reading.empty_key_type_is_absent() => {
            Ok(KeyType::default())
        }
        Some(Value::String(s)) if reading.key_type_any_case() => s
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| ApiError::InvalidKeyType),
        Some(Value::String(s)) => s.parse().map_err(|_| ApiError::InvalidKeyType),
        Some(_) => Err(ApiError::InvalidKeyType),
    }
}

fn sans(value: Option<&Value>, rules: Rules) -> Result<Vec<String>, ApiError> {
    let items = match value {
        None | Some(Value::Null) => return Err(ApiError::NoSan),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::InvalidSan {
                reason: "sans must be an array of strings.".into(),
            });
        }
    };
    if items.is_empty() {
        return Err(ApiError::NoSan);
    }
    if items.len() > MAX_SANS {
        return Err(ApiError::InvalidSan {
            reason: format!("At most {MAX_SANS} SANs are allowed."),
        });
    }
    let sans: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::String(s) => check_san(s, rules).map(|()| s.clone()),
            _ => Err(ApiError::InvalidSan {
                reason: "Each SAN must be a string.".into(),
            }),
        })
        .collect::<Result<_, _>>()?;
    if !rules.reading.san_duplicates_ok() {
        let mut seen = std::collections::HashSet::with_capacity(sans.len());
        if !sans.iter().all(|s| seen.insert(s.as_str())) {
            return Err(ApiError::InvalidSan {
                reason: "A SAN is named more than once.".into(),
            });
        }
    }
    Ok(sans)
}

const RESERVED_TLDS: [&str; 4] = ["test", "example", "invalid", "localhost"];
const EXAMPLE_DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];

/// One SAN: a DNS name (optionally `*.`-prefixed) that a public CA could ever issue for, as
/// the reading draws its edges.
pub fn check_san(san: &str, rules: Rules) -> Result<(), ApiError> {
    let reading = rules.reading;
    let invalid = |reason: &str| ApiError::InvalidSan {
        reason: reason.to_owned(),
    };
    if !san.is_ascii() {
        return Err(ApiError::NonAsciiSan);
    }
    if san.len() > reading.max_san_len() {
        return Err(invalid(if reading.max_san_len() < 256 {
            "A SAN is 256 characters or longer."
        } else {
            "A SAN is longer than 256 characters."
        }));
    }
    if san.parse::<std::net::IpAddr>().is_ok() {
        return Err(invalid("IP addresses are not allowed."));
    }
    let host = san.strip_prefix("*.").unwrap_or(san);
    let labels: Vec<&str> = host.split('.').collect();
    // The name's own first and last characters: never `-`, in any reading.
    let edge_hyphen = host.starts_with('-') || host.ends_with('-');
    let label_ok = |label: &str| {
        (1..=reading.max_san_label_len()).contains(&label.len())
            && label.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b == b'-' || (b == b'_' && reading.san_underscore_ok())
            })
            && (reading.san_inner_hyphen_ok() || !(label.starts_with('-') || label.ends_with('-')))
    };
    if edge_hyphen || !labels.iter().all(|label| label_ok(label)) {
        return Err(invalid("A SAN is not a valid DNS name."));
    }
    let tld = labels[labels.len() - 1].to_ascii_lowercase();
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("A SAN has a numeric top-level domain."));
    }
    if RESERVED_TLDS.contains(&tld.as_str()) {
        return Err(ApiError::ReservedTldSan);
    }
    if labels.len() < 2 {
        return Err(invalid("A SAN must have at least two labels."));
    }
    let lower = host.to_ascii_lowercase();
    let under_example = EXAMPLE_DOMAINS
        .iter()
        .any(|d| lower == *d || lower.ends_with(&format!(".{d}")));
    if under_example && !rules.allow_example_domains {
        return Err(ApiError::ExampleDomainSan);
    }
    if !reading.san_uppercase_ok() && san.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(invalid("A SAN holds upper-case letters."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(san: &str) -> Option<u32> {
        check_san(san, Rules::default()).err().map(|e| e.code())
    }

    #[test]
    fn san_rules_map_to_their_codes() {
        assert_eq!(code("www.cloudflare-demo.com"), None);
        assert_eq!(code("*.cloudflare-demo.com"), None);
        assert_eq!(code("a-b.c0.io"), None);
        assert_eq!(code("bücher.de"), Some(1413));
        assert_eq!(code(&format!("{}.com", "a.".repeat(126))), Some(1412));
        assert_eq!(code("192.0.2.1"), Some(1412));
        assert_eq!(code("::1"), Some(1412));
        assert_eq!(code("-lead.com"), Some(1412));
        assert_eq!(code("trail-.com"), Some(1412));
        assert_eq!(code("a..com"), Some(1412));
        assert_eq!(code("under_score.com"), Some(1412));
        assert_eq!(code("*"), Some(1412));
        assert_eq!(code("a.*.com"), Some(1412));
        assert_eq!(code("1.2.3"), Some(1412));
        assert_eq!(code("single"), Some(1412));
        assert_eq!(code(""), Some(1412));
        assert_eq!(code("host.test"), Some(1414));
        assert_eq!(code("LOCALHOST"), Some(1414));
        assert_eq!(code("a.example"), Some(1414));
        assert_eq!(code("example.com"), Some(1416));
        assert_eq!(code("www.Example.ORG"), Some(1416));
        assert_eq!(code("notexample.com"), None);
        let relaxed = Rules {
            allow_example_domains: true,
            ..Rules::default()
        };
        assert!(check_san("www.example.com", relaxed).is_ok());
        // Only that rule is relaxed.
        assert_eq!(
            check_san("a.example", relaxed).map_err(|e| e.code()),
            Err(1414)
        );
        assert_eq!(
            check_san("192.0.2.1", relaxed).map_err(|e| e.code()),
            Err(1412)
        );
    }

    fn body() -> Value {
        json!({"country":"US","state":"CA","locality":"SF","organization":"Org",
               "common_name":"cloudflare-demo.com","sans":["cloudflare-demo.com"]})
    }

    fn err(mut patch: impl FnMut(&mut Map<String, Value>)) -> u32 {
        let mut b = body();
        patch(b.as_object_mut().unwrap());
        parse_create(&b, ScopeKind::Account, Rules::default())
            .unwrap_err()
            .code()
    }

    #[test]
    fn required_fields_are_checked_in_cloudflare_order() {
        assert_eq!(err(|o| o.clear()), 1405);
        assert_eq!(err(|o| drop(o.remove("state"))), 1406);
        assert_eq!(
            err(|o| {
                o.remove("locality");
                o.remove("common_name");
            }),
            1407
        );
        assert_eq!(
            err(|o| drop(o.insert("organization".into(), json!(5)))),
            1408
        );
        assert_eq!(
            err(|o| drop(o.insert("common_name".into(), json!("  ")))),
            1409
        );
        assert_eq!(
            err(|o| drop(o.insert("common_name".into(), json!("é".repeat(65))))),
            1410
        );
        assert_eq!(err(|o| drop(o.insert("sans".into(), json!([])))), 1411);
        assert_eq!(err(|o| drop(o.remove("sans"))), 1411);
        assert_eq!(err(|o| drop(o.insert("sans".into(), json!("a.com")))), 1412);
        assert_eq!(err(|o| drop(o.insert("sans".into(), json!([1])))), 1412);
        let many: Vec<String> = (0..151)
            .map(|i| format!("h{i}.cloudflare-demo.com"))
            .collect();
        assert_eq!(err(|o| drop(o.insert("sans".into(), json!(many)))), 1412);
        assert_eq!(
            err(|o| drop(o.insert("key_type".into(), json!("rsa4096")))),
            1417
        );
        assert_eq!(
            err(|o| drop(o.insert("key_type".into(), json!(2048)))),
            1417
        );
        assert_eq!(
            parse_create(&json!([1]), ScopeKind::Zone, Rules::default())
                .unwrap_err()
                .code(),
            1400
        );
    }

    #[test]
    fn common_name_length_counts_characters() {
        let mut b = body();
        b["common_name"] = json!("é".repeat(64));
        assert!(parse_create(&b, ScopeKind::Zone, Rules::default()).is_ok());
    }

    #[test]
    fn zone_bodies_drop_account_only_fields() {
        let mut b = body();
        b["name"] = json!("n");
        b["description"] = json!("d");
        let z = parse_create(&b, ScopeKind::Zone, Rules::default()).unwrap();
        assert_eq!((z.name, z.description), (None, None));
        let a = parse_create(&b, ScopeKind::Account, Rules::default()).unwrap();
        assert_eq!(a.name.as_deref(), Some("n"));
        assert_eq!(a.key_type, KeyType::Rsa2048);
    }
}
