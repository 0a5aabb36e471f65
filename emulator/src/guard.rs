//! The last line of defence: whatever axum or hyper answered on their own (a 405, a failed
//! extractor we did not wrap) leaves as Cloudflare's JSON envelope, never as text/plain.
//!
//! A tower layer rather than `axum::middleware::from_fn`: it sits on every request, and
//! `from_fn` boxes the inner service and its future each time, which cost about a tenth of a
//! GET's throughput. This one only wraps the inner future.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::{ApiError, Shaped};

/// Wraps a router so that every answer it did not shape itself is shaped.
#[derive(Clone, Copy)]
pub struct EnvelopeGuardLayer {
    /// The body limit a 413 names.
    pub body_limit: usize,
}

impl<S> Layer<S> for EnvelopeGuardLayer {
    type Service = EnvelopeGuard<S>;

    fn layer(&self, inner: S) -> EnvelopeGuard<S> {
        EnvelopeGuard {
            inner,
            body_limit: self.body_limit,
        }
    }
}

#[derive(Clone)]
pub struct EnvelopeGuard<S> {
    inner: S,
    body_limit: usize,
}

impl<S> Service<Request> for EnvelopeGuard<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Guarded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Guarded<S::Future> {
        // A clone of the URI shares its bytes: no copy of the path on the way of a success.
        let uri = req.uri().clone();
        Guarded {
            inner: self.inner.call(req),
            uri: Some(uri),
            body_limit: self.body_limit,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner answer, shaped when it needs to be.
    pub struct Guarded<F> {
        #[pin]
        inner: F,
        uri: Option<Uri>,
        body_limit: usize,
    }
}

impl<F> Future for Guarded<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = ready!(this.inner.poll(cx));
        let uri = this.uri.take().unwrap_or_default();
        Poll::Ready(Ok(shape(response, &uri, *this.body_limit)))
    }
}

fn shape(response: Response, uri: &Uri, body_limit: usize) -> Response {
    if response.status().is_success() || response.extensions().get::<Shaped>().is_some() {
        return response;
    }
    let error = match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge { limit: body_limit },
        StatusCode::NOT_FOUND => ApiError::NoRoute {
            path: crate::route_table::route_path(uri.path()),
        },
        s if s.is_client_error() => ApiError::InvalidRequest {
            reason: "the request could not be understood".into(),
        },
        _ => ApiError::Internal,
    };
    let mut shaped = error.into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        shaped.headers_mut().insert(header::ALLOW, allow.clone());
    }
    shaped
}
