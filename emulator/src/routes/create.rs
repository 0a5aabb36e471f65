//! POST on a collection: the body checked by the validator, then a CSR made and stored (see
//! `Shared::store_new`), answered with 201. Never parses or signs anything itself.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::fault::Fault;
use crate::model::MAX_COMMON_NAME_CHARS;
use crate::routes::extract::{CsrBody, CsrPath};
use crate::routes::state::AppState;
use crate::routes::success::success;
use crate::validate::{Rules, parse_create};

pub(crate) async fn create_csr(
    State(state): State<AppState>,
    path: CsrPath,
    CsrBody(body): CsrBody,
) -> Result<Response, ApiError> {
    let config = &state.0.config;
    let rules = Rules {
        reading: config.reading,
        ..state.0.sdk.rules()
    };
    let req = parse_create(&body, path.scope.kind, rules)?;
    if config.has(Fault::CommonNameLimitOffByOne)
        && req.common_name.chars().count() >= MAX_COMMON_NAME_CHARS
    {
        return Err(ApiError::CommonNameTooLong {
            max: MAX_COMMON_NAME_CHARS,
        });
    }
    let mut created = OffsetDateTime::now_utc();
    if config.has(Fault::CreatedAtFuture) {
        created += time::Duration::hours(1);
    }
    let stored = state.0.store_new(&path.scope, req, created).await?;
    Ok(success(StatusCode::CREATED, &stored.csr, None))
}
