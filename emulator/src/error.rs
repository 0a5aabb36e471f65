//! `ApiError`, every failure the emulator answers with, and the one place an error body is
//! shaped into Cloudflare's envelope. It never decides that a request fails, only how the
//! failure reads.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every failure the emulator answers with. Each maps to one HTTP status and one or more
/// Cloudflare error objects; `IntoResponse` is the only place that shapes an error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("Unable to decode the JSON request body. Check your input and try again.")]
    InvalidJson,
    #[error("{} field is required. Check your input and try again.", .0.label())]
    Required(RequiredField),
    #[error(
        "The specified Common Name is too long. Maximum allowed length is {max} characters. Check your input and try again."
    )]
    CommonNameTooLong { max: usize },
    #[error(
        "At least one subject alternative name (SAN) is required. Check your input and try again."
    )]
    NoSan,
    #[error(
        "Invalid subject alternative name(s) (SAN). {reason} SANs have to be smaller than 256 characters in length, cannot be IP addresses, cannot contain any special characters and cannot begin or end with a '-' character. Check your input and try again."
    )]
    InvalidSan { reason: String },
    #[error(
        "Subject Alternative Names (SANs) with non-ASCII characters are not supported. Check your input and try again."
    )]
    NonAsciiSan,
    #[error(
        "Reserved top domain subject alternative names (SAN), such as 'test', 'example', 'invalid' or 'localhost', is not supported. Check your input and try again."
    )]
    ReservedTldSan,
    #[error(
        "Subject alternative names (SAN) under example.com, example.net or example.org are not supported. Check your input and try again."
    )]
    ExampleDomainSan,
    #[error(
        "Invalid key type. Supported key types are rsa2048 and p256v1. Check your input and try again."
    )]
    InvalidKeyType,
    #[error("Invalid custom CSR identifier. Check your input and try again.")]
    InvalidCsrId,
    #[error("The custom CSR was not found.")]
    CsrNotFound,
    #[error(
        "Custom CSR limit reached: this emulator keeps at most {limit} CSRs {whom}. Delete some and try again."
    )]
    LimitReached { limit: usize, whom: &'static str },
    #[error("Missing X-Auth-Key, X-Auth-Email or Authorization headers")]
    MissingCredentials,
    #[error("Invalid request headers")]
    MalformedCredentials(MalformedHeader),
    #[error("Authentication error")]
    AuthenticationFailed,
    #[error("Could not route to {path}, perhaps your object identifier is invalid?")]
    NoRoute { path: String },
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("Request body too large: the limit is {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("Invalid request: {reason}")]
    InvalidRequest { reason: String },
    #[error("Please wait and consider throttling your request speed")]
    RateLimited { retry_after_secs: u64, limit: u32 },
    #[error("The fallback server at {upstream} could not be reached: {reason}")]
    FallbackUnavailable { upstream: String, reason: String },
    #[error("Internal error")]
    Internal,
}

/// Required create-body fields, in the order Cloudflare checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredField {
    Country,
    State,
    Locality,
    Organization,
    CommonName,
}

impl RequiredField {
    fn label(self) -> &'static str {
        match self {
            RequiredField::Country => "Country",
            RequiredField::State => "State",
            RequiredField::Locality => "Locality",
            RequiredField::Organization => "Organization",
            RequiredField::CommonName => "Common Name",
        }
    }

    fn code(self) -> u32 {
        match self {
            RequiredField::Country => 1405,
            RequiredField::State => 1406,
            RequiredField::Locality => 1407,
            RequiredField::Organization => 1408,
            RequiredField::CommonName => 1409,
        }
    }
}

/// Which auth header had an implausible format; goes into the `error_chain` of code 6003.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedHeader {
    Email,
    Key,
    Authorization,
}

impl MalformedHeader {
    fn chain(self) -> (u32, &'static str) {
        match self {
            MalformedHeader::Email => (6102, "Invalid format for X-Auth-Email header"),
            MalformedHeader::Key => (6103, "Invalid format for X-Auth-Key header"),
            MalformedHeader::Authorization => (6111, "Invalid format for Authorization header"),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::CsrNotFound => StatusCode::NOT_FOUND,
            ApiError::AuthenticationFailed => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::FallbackUnavailable { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The Cloudflare error code of the first (usually only) error object.
    pub fn code(&self) -> u32 {
        match self {
            ApiError::InvalidJson => 1400,
            ApiError::Required(field) => field.code(),
            ApiError::CommonNameTooLong { .. } => 1410,
            ApiError::NoSan => 1411,
            ApiError::InvalidSan { .. } => 1412,
            ApiError::NonAsciiSan => 1413,
            ApiError::ReservedTldSan => 1414,
            ApiError::ExampleDomainSan => 1416,
            ApiError::InvalidKeyType => 1417,
            ApiError::InvalidCsrId => 1418,
            ApiError::CsrNotFound => 1419,
            // Not a Cloudflare code: the real API has no such limit that we know of.
            ApiError::LimitReached { .. } => 1421,
            ApiError::MissingCredentials => 9106,
            ApiError::MalformedCredentials(_) => 6003,
            ApiError::AuthenticationFailed => 10000,
            ApiError::NoRoute { .. } => 7003,
            // The next three are emulator choices: no Cloudflare code for them is documented.
            ApiError::MethodNotAllowed => 10405,
            ApiError::BodyTooLarge { .. } => 10413,
            ApiError::InvalidRequest { .. } => 10400,
            // What the real API sends with its 429s (reported in public bug trackers), even
            // though it is below the 1000 floor the OpenAPI spec sets for error codes.
            ApiError::RateLimited { .. } => 971,
            // An emulator choice, for the --fallback upstream being down.
            ApiError::FallbackUnavailable { .. } => 10502,
            ApiError::Internal => 1500,
        }
    }

    fn error_objects(&self) -> Vec<Value> {
        let mut first = json!({ "code": self.code(), "message": self.to_string() });
        match self {
            ApiError::MalformedCredentials(header) => {
                let (code, message) = header.chain();
                first["error_chain"] = json!([{ "code": code, "message": message }]);
                vec![first]
            }
            ApiError::NoRoute { .. } => {
                vec![
                    first,
                    json!({ "code": 7000, "message": "No route for that URI" }),
                ]
            }
            _ => vec![first],
        }
    }

    /// The failure envelope as JSON, for callers that shape a response themselves.
    pub fn envelope(&self) -> Value {
        json!({
            "success": false,
            "errors": self.error_objects(),
            "messages": [],
            "result": null,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.envelope())).into_response();
        let headers = response.headers_mut();
        if let ApiError::RateLimited {
            retry_after_secs,
            limit,
        } = &self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            headers.insert("x-ratelimit-limit", HeaderValue::from(*limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
            headers.insert("x-ratelimit-reset", HeaderValue::from(*retry_after_secs));
        }
        // The rest of an oversized body is never read, so the connection cannot carry another
        // request: say so, or a client reusing it sees its next request cut off.
        if matches!(self, ApiError::BodyTooLarge { .. }) {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        // Marks the body as already shaped so the envelope guard leaves it alone.
        response.extensions_mut().insert(Shaped);
        response
    }
}

/// Response extension set on every error body this crate shaped itself, and on answers
/// forwarded from the fallback upstream, which must leave exactly as they came.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shaped;

/// Makes a path safe to echo inside an error message: short, and only characters that cannot
/// smuggle markup, control bytes or a credential-sized blob back to the caller.
pub(crate) fn sanitize_path(path: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::with_capacity(MAX + 3);
    for (i, c) in path.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        out.push(
            if c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~') {
                c
            } else {
                '_'
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_error_carries_7003_then_7000() {
        let v = ApiError::NoRoute { path: "/x".into() }.envelope();
        assert_eq!(v["errors"][0]["code"], 7003);
        assert_eq!(
            v["errors"][0]["message"],
            "Could not route to /x, perhaps your object identifier is invalid?"
        );
        assert_eq!(v["errors"][1]["code"], 7000);
        assert_eq!(v["result"], Value::Null);
        assert_eq!(v["success"], false);
    }

    #[test]
    fn malformed_credentials_name_the_header_in_the_chain() {
        let v = ApiError::MalformedCredentials(MalformedHeader::Key).envelope();
        assert_eq!(v["errors"][0]["code"], 6003);
        assert_eq!(v["errors"][0]["error_chain"][0]["code"], 6103);
    }

    #[test]
    fn sanitized_paths_are_short_and_plain() {
        assert_eq!(sanitize_path("/a/b%00<c>"), "/a/b_00_c_");
        let long = "/".to_owned() + &"a".repeat(500);
        let s = sanitize_path(&long);
        assert_eq!(s.len(), 83);
        assert!(s.ends_with("..."));
    }
}
