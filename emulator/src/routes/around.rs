//! What runs around the four handlers: the answer to routes the emulator does not serve
//! (forwarded to the fallback, or the route error) and the rate-limit middleware. Never touches
//! the store.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::route_table::route_path;
use crate::routes::state::AppState;

/// Routes the emulator does not serve: forwarded to the fallback when there is one, otherwise
/// Cloudflare's route error.
pub(crate) async fn no_route(State(state): State<AppState>, req: Request) -> Response {
    match &state.0.fallback {
        Some(Ok(fallback)) => fallback.forward(req).await,
        Some(Err(reason)) => ApiError::FallbackUnavailable {
            upstream: "--fallback".into(),
            reason: reason.clone(),
        }
        .into_response(),
        None => ApiError::NoRoute {
            path: route_path(req.uri().path()),
        }
        .into_response(),
    }
}

/// Charges the credential's budget (a request without a valid one is answered by `CsrPath`).
pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (Some(limiter), Ok(credential)) = (
        &state.0.limiter,
        authenticate(req.headers(), &state.0.config),
    ) else {
        return next.run(req).await;
    };
    match limiter.charge(credential.rate_limit_key()) {
        Err(e) => e.into_response(),
        Ok(budget) => {
            let mut response = next.run(req).await;
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from(budget.limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(budget.remaining));
            response
        }
    }
}
