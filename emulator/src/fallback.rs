//! `--fallback URL`: requests for routes the emulator does not serve (anything but Custom CSRs)
//! go to another server unchanged and its answer comes back unchanged, so that an SDK's whole
//! test suite runs against one base URL. It never sees a Custom CSR request or the store.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Shaped};

/// Bodies forwarded in either direction are at most this large.
const MAX_FORWARDED_BYTES: usize = 64 << 20;
/// A fallback that does not accept the connection by then counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A fallback that has not answered by then counts as down.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Headers that describe one connection rather than the message (RFC 9110 §7.6.1), plus those
/// the client recomputes for the new connection.
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
    header::HOST,
    header::CONTENT_LENGTH,
];

pub(crate) struct Fallback {
    base: String,
    client: reqwest::Client,
}

impl Fallback {
    /// `base` is an http:// or https:// URL; the request's path and query are appended to it.
    pub fn new(base: &str) -> Result<Fallback, String> {
        let parsed = reqwest::Url::parse(base)
            .map_err(|e| format!("--fallback {base:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(format!(
                "--fallback {base:?} must be an http:// or https:// URL with a host"
            ));
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ANSWER_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the fallback client: {e}"))?;
        Ok(Fallback {
            base: base.trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// Sends `req` on to the fallback and returns its answer as it came.
    pub async fn forward(&self, req: Request) -> Response {
        match self.try_forward(req).await {
            Ok(response) => response,
            Err(reason) => ApiError::FallbackUnavailable {
                upstream: self.base.clone(),
                reason,
            }
            .into_response(),
        }
    }

    async fn try_forward(&self, req: Request) -> Result<Response, String> {
        let (parts, body) = req.into_parts();
        let target = format!(
            "{}{}",
            self.base,
            parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
        );
        let body = axum::body::to_bytes(body, MAX_FORWARDED_BYTES)
            .await
            .map_err(|e| format!("the request body could not be read: {e}"))?;
        let answer = self
            .client
            .request(parts.method, &target)
            .headers(end_to_end(&parts.headers))
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = answer.status();
        let headers = end_to_end(answer.headers());
        let bytes = answer.bytes().await.map_err(describe)?;
        if bytes.len() > MAX_FORWARDED_BYTES {
            return Err(format!("its answer is over {MAX_FORWARDED_BYTES} bytes"));
        }
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        // Not ours to reshape: the envelope guard must let it pass as it is.
        response.extensions_mut().insert(Shaped);
        Ok(response)
    }
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    for name in HOP_BY_HOP {
        out.remove(name);
    }
    out
}

/// A reason without the URL (the envelope names the upstream once) and without the chain of
/// reqwest's wrappers, which says nothing more to a user.
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        "the connection was refused or failed".into()
    } else {
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host() {
        assert!(Fallback::new("http://127.0.0.1:4010").is_ok());
        assert!(Fallback::new("https://api.example.test/client/v4/").is_ok());
        assert!(Fallback::new("ftp://x").is_err());
        assert!(Fallback::new("127.0.0.1:4010").is_err());
        assert!(Fallback::new("not a url").is_err());
    }

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "close".parse().unwrap());
        h.insert(header::HOST, "127.0.0.1:1".parse().unwrap());
        h.insert("x-auth-key", "k".parse().unwrap());
        h.append("set-cookie", "a=1".parse().unwrap());
        h.append("set-cookie", "b=2".parse().unwrap());
        let out = end_to_end(&h);
        assert!(out.get(header::CONNECTION).is_none() && out.get(header::HOST).is_none());
        assert_eq!(out["x-auth-key"], "k");
        assert_eq!(out.get_all("set-cookie").iter().count(), 2);
    }
}
