//! GET on an item: the stored CSR in the success envelope, serialised once and kept. The fast
//! path (`App::answer_at_once`) answers with the same bytes. Only reads the store.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::fault::Fault;
use crate::route_table::MAX_CSR_ID_CHARS;
use crate::routes::extract::CsrPath;
use crate::routes::state::AppState;
use crate::routes::success::Success;
use crate::store::StoredCsr;

/// The `crash-on-id-shape` fault: 36 characters that are not a UUID.
pub(crate) fn crashes_on(state: &AppState, id: &str) -> bool {
    state.0.config.has(Fault::CrashOnIdShape)
        && id.chars().count() == MAX_CSR_ID_CHARS
        && uuid::Uuid::parse_str(id).is_err()
}

pub(crate) async fn get_csr(
    State(state): State<AppState>,
    path: CsrPath,
) -> Result<Response, ApiError> {
    if crashes_on(&state, path.custom_csr_id()?) {
        return Err(ApiError::Internal);
    }
    let stored = state
        .0
        .store
        .get(&path.scope, path.custom_csr_id()?)
        .ok_or(ApiError::CsrNotFound)?;
    get_answer(&stored)
}

/// A get's answer for `stored`: its body is serialised on the first get and kept, since the
/// object never changes.
pub(crate) fn get_answer(stored: &StoredCsr) -> Result<Response, ApiError> {
    let body = stored.served.get_or_init(|| {
        let envelope = Success {
            success: true,
            errors: [],
            messages: [],
            result: &stored.csr,
            result_info: None,
        };
        serde_json::to_vec(&envelope)
            .map(axum::body::Bytes::from)
            .unwrap_or_default()
    });
    if body.is_empty() {
        return Err(ApiError::Internal);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.clone(),
    )
        .into_response())
}
