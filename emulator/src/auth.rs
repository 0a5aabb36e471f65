//! Cloudflare's two ways to authenticate: an API token, or a global API key with its email.
//! Pure: headers and configuration in, a credential or the error out; no header value ever
//! reaches an error message.

use axum::http::HeaderMap;

use crate::config::Config;
use crate::error::{ApiError, MalformedHeader};
use crate::fault::Fault;

/// A credential that passed the checks; its `key` identifies whose rate-limit window to charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Token,
    EmailKey,
}

impl Credential {
    pub fn rate_limit_key(&self) -> &'static str {
        match self {
            Credential::Token => "token",
            Credential::EmailKey => "email+key",
        }
    }
}

/// Checks the auth headers of a request against the configured credentials.
///
/// `Authorization` wins when present, whatever X-Auth-* say, because Cloudflare prefers
/// tokens. An email without a key (or a key without an email) counts as missing credentials.
/// No header value ever reaches an error message.
pub fn authenticate(headers: &HeaderMap, config: &Config) -> Result<Credential, ApiError> {
    if let Some(value) = headers.get("authorization") {
        let token =
            value
                .to_str()
                .ok()
                .and_then(bearer_token)
                .ok_or(ApiError::MalformedCredentials(
                    MalformedHeader::Authorization,
                ))?;
        return if same_secret(token, &config.token, config) {
            Ok(Credential::Token)
        } else {
            Err(ApiError::AuthenticationFailed)
        };
    }

    let (Some(email), Some(key)) = (headers.get("x-auth-email"), headers.get("x-auth-key")) else {
        return Err(ApiError::MissingCredentials);
    };
    let email = email
        .to_str()
        .ok()
        .filter(|e| plausible_email(e))
        .ok_or(ApiError::MalformedCredentials(MalformedHeader::Email))?;
    let key = key
        .to_str()
        .ok()
        .filter(|k| plausible_secret(k))
        .ok_or(ApiError::MalformedCredentials(MalformedHeader::Key))?;
    if email.eq_ignore_ascii_case(&config.email) && same_secret(key, &config.api_key, config) {
        Ok(Credential::EmailKey)
    } else {
        Err(ApiError::AuthenticationFailed)
    }
}

/// Whether `given` is the configured secret `right`: byte for byte, unless the
/// `loose-credentials` fault is on.
fn same_secret(given: &str, right: &str, config: &Config) -> bool {
    if config.has(Fault::LooseCredentials) {
        loosely_same(given, right)
    } else {
        given == right
    }
}

/// The careless comparison of `loose-credentials`: both trimmed and lowercased, and only as
/// far as the right one's last character, the way `strncmp(given, right, strlen(right) - 1)`
/// would (a secret one character short or long, with its last character changed, or in
/// another case, passes).
fn loosely_same(given: &str, right: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    let right = right.trim().to_ascii_lowercase();
    let stem = right
        .char_indices()
        .last()
        .map_or(right.as_str(), |(i, _)| &right[..i]);
    !stem.is_empty() && given.starts_with(stem)
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && plausible_secret(token)).then_some(token)
}

/// Non-empty visible ASCII without spaces: anything else cannot be a Cloudflare secret.
fn plausible_secret(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic())
}

fn plausible_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            plausible_secret(s) && !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn token_and_email_key_both_work() {
        let c = Config::default();
        let bearer = format!("Bearer {}", c.token);
        assert_eq!(
            authenticate(&headers(&[("authorization", bearer.as_bytes())]), &c),
            Ok(Credential::Token)
        );
        assert_eq!(
            authenticate(
                &headers(&[
                    ("x-auth-email", c.email.as_bytes()),
                    ("x-auth-key", c.api_key.as_bytes())
                ]),
                &c
            ),
            Ok(Credential::EmailKey)
        );
    }

    #[test]
    fn near_misses_pass_only_with_loose_credentials() {
        let mut c = Config::default();
        let near = [
            format!("{}x", c.token),
            c.token[..c.token.len() - 1].to_string(),
            format!("{}Z", &c.token[..c.token.len() - 1]),
            c.token.to_ascii_lowercase(),
        ];
        let key = c.api_key.to_ascii_uppercase();
        let by_key = |c: &Config| {
            authenticate(
                &headers(&[
                    ("x-auth-email", c.email.as_bytes()),
                    ("x-auth-key", key.as_bytes()),
                ]),
                c,
            )
        };
        for t in &near {
            let bearer = format!("Bearer {t}");
            assert_eq!(
                authenticate(&headers(&[("authorization", bearer.as_bytes())]), &c),
                Err(ApiError::AuthenticationFailed),
                "{t}"
            );
        }
        assert_eq!(by_key(&c), Err(ApiError::AuthenticationFailed));
        c.faults = vec![Fault::LooseCredentials];
        for t in &near {
            let bearer = format!("Bearer {t}");
            assert_eq!(
                authenticate(&headers(&[("authorization", bearer.as_bytes())]), &c),
                Ok(Credential::Token),
                "{t}"
            );
        }
        assert_eq!(by_key(&c), Ok(Credential::EmailKey));
        // Still not just anything.
        assert_eq!(
            authenticate(&headers(&[("authorization", b"Bearer wrong")]), &c),
            Err(ApiError::AuthenticationFailed)
        );
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let c = Config::default();
        assert_eq!(
            authenticate(&HeaderMap::new(), &c),
            Err(ApiError::MissingCredentials)
        );
        assert_eq!(
            authenticate(&headers(&[("x-auth-email", b"a@b.c")]), &c),
            Err(ApiError::MissingCredentials)
        );
        assert_eq!(
            authenticate(&headers(&[("authorization", b"Basic abc")]), &c),
            Err(ApiError::MalformedCredentials(
                MalformedHeader::Authorization
            ))
        );
        assert_eq!(
            authenticate(&headers(&[("authorization", b"Bearer \xff\xfe")]), &c),
            Err(ApiError::MalformedCredentials(
                MalformedHeader::Authorization
            ))
        );
        assert_eq!(
            authenticate(
                &headers(&[("x-auth-email", b"nobody"), ("x-auth-key", b"k")]),
                &c
            ),
            Err(ApiError::MalformedCredentials(MalformedHeader::Email))
        );
        assert_eq!(
            authenticate(
                &headers(&[("x-auth-email", b"a@b.c"), ("x-auth-key", b"a b")]),
                &c
            ),
            Err(ApiError::MalformedCredentials(MalformedHeader::Key))
        );
        assert_eq!(
            authenticate(&headers(&[("authorization", b"Bearer wrong")]), &c),
            Err(ApiError::AuthenticationFailed)
        );
    }
}
