//! Cloudflare's two ways to authenticate: an API token, or a global API key with its email.
//! Pure: headers and configuration in, a credential or the error out; no header value ever
//! reaches an error message.

use axum::http::HeaderMap;

use crate::config::Config;
use crate::error::{ApiError, MalformedHeader};

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
        return if token == config.token {
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
    if email.eq_ignore_ascii_case(&config.email) && key == config.api_key {
        Ok(Credential::EmailKey)
    } else {
        Err(ApiError::AuthenticationFailed)
    }
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
