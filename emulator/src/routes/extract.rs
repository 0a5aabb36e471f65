//! The extractors every handler starts with: the checked path (credentials first, then the ids),
//! the create body and the list query, each refusing with Cloudflare's envelope. They never
//! answer a request; they only read it.

use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::Uri;
use axum::http::request::Parts;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::model::{Scope, ScopeKind};
use crate::preload::Planned;
use crate::reading::CollectionAlias;
use crate::route_table::{
    ACCOUNT_ID, CUSTOM_CSR_ID, ZONE_ID, plain_params, route_path, valid_csr_id, valid_scope_id,
};
use crate::routes::state::AppState;

/// Larger request bodies are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// How much of a too-large body is read (and dropped) before the 413, so that the client has
/// finished sending when it comes; beyond this the connection is closed mid-body.
const MAX_DRAINED_BYTES: usize = 16 << 20;

/// The account or zone of a request and, on item routes, the custom CSR id, both checked.
pub(crate) struct CsrPath {
    pub(crate) scope: Scope,
    custom_csr_id: Option<String>,
}

impl CsrPath {
    pub(crate) fn custom_csr_id(&self) -> Result<&str, ApiError> {
        self.custom_csr_id.as_deref().ok_or(ApiError::Internal)
    }
}

impl FromRequestParts<AppState> for CsrPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(&parts.headers, &state.0.config)?;
        let (kind, id, csr_id) = match plain_params(parts.uri.path()) {
            Some((kind, id, csr_id)) => (kind, id.to_owned(), csr_id.map(str::to_owned)),
            None => decoded_params(parts, state).await?,
        };
        if !valid_scope_id(&id) {
            return Err(ApiError::NoRoute {
                path: route_path(parts.uri.path()),
            });
        }
        let scope = Scope { kind, id };
        // Credentials were checked above, so only a caller who may see the scope makes its
        // existing CSRs appear.
        state
            .0
            .preload
            .ensure(&scope, |Planned { request, created }| {
                let scope = &scope;
                async move { state.0.store_new(scope, request, created).await.is_ok() }
            })
            .await;
        if state.0.sdk.is_on() {
            state.0.ensure_example(&scope).await;
        }
        let custom_csr_id = match csr_id {
            // `…/custom_csrs/.`: the lenient reading never gets here (see `to_collection`).
            Some(csr_id)
                if csr_id == "."
                    && state.0.config.reading.collection_alias() == CollectionAlias::RouteError =>
            {
                return Err(ApiError::NoRoute {
                    path: route_path(parts.uri.path()),
                });
            }
            Some(csr_id) if valid_csr_id(&csr_id) => Some(csr_id),
            Some(_) => return Err(ApiError::InvalidCsrId),
            None => None,
        };
        Ok(CsrPath {
            scope,
            custom_csr_id,
        })
    }
}

/// The parameters of a path with percent-escapes, decoded by axum. Undecodable ones (e.g.
/// invalid UTF-8) cannot name an account or zone.
async fn decoded_params(
    parts: &mut Parts,
    state: &AppState,
) -> Result<(ScopeKind, String, Option<String>), ApiError> {
    let no_route = |uri: &Uri| ApiError::NoRoute {
        path: route_path(uri.path()),
    };
    let params = match RawPathParams::from_request_parts(parts, state).await {
        Ok(p) => p,
        Err(_) => return Err(no_route(&parts.uri)),
    };
    let (mut scope_param, mut csr_id) = (None, None);
    for (key, value) in &params {
        match key {
            ACCOUNT_ID if scope_param.is_none() => scope_param = Some((ScopeKind::Account, value)),
            ZONE_ID if scope_param.is_none() => scope_param = Some((ScopeKind::Zone, value)),
            CUSTOM_CSR_ID => csr_id = Some(value.to_owned()),
            _ => return Err(no_route(&parts.uri)),
        }
    }
    match scope_param {
        Some((kind, id)) => Ok((kind, id.to_owned(), csr_id)),
        None => Err(no_route(&parts.uri)),
    }
}

/// A create body: read within the size limit and parsed as JSON whatever its Content-Type.
pub(crate) struct CsrBody(pub(crate) Value);

impl FromRequest<AppState> for CsrBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, ApiError> {
        let too_large = ApiError::BodyTooLarge {
            limit: MAX_BODY_BYTES,
        };
        let mut body = req.into_body();
        let mut kept = Vec::new();
        let mut received = 0usize;
        // Past the limit the rest is read and dropped, up to a cap, so that a client still
        // sending gets to read the 413 instead of a connection reset under its feet.
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| ApiError::InvalidJson)?.into_data() else {
                continue;
            };
            received = received.saturating_add(data.len());
            if received <= MAX_BODY_BYTES {
                kept.extend_from_slice(&data);
            } else if received > MAX_DRAINED_BYTES {
                return Err(too_large);
            }
        }
        if received > MAX_BODY_BYTES {
            return Err(too_large);
        }
        serde_json::from_slice(&kept)
            .map(CsrBody)
            .map_err(|_| ApiError::InvalidJson)
    }
}

/// List parameters as sent; parsed by hand so every bad value gets the envelope.
#[derive(Default)]
pub(crate) struct ListQuery {
    pub(crate) page: Option<String>,
    pub(crate) per_page: Option<String>,
    pub(crate) order: Option<String>,
    pub(crate) direction: Option<String>,
}

impl FromRequestParts<AppState> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::InvalidRequest {
                reason: "the query string cannot be decoded".into(),
            })?;
        let mut q = ListQuery::default();
        // Later occurrences win, as with most web frameworks.
        for (k, v) in pairs {
            match k.as_str() {
                "page" => q.page = Some(v),
                "per_page" => q.per_page = Some(v),
                "order" => q.order = Some(v),
                "direction" => q.direction = Some(v),
                _ => {}
            }
        }
        Ok(q)
    }
}
