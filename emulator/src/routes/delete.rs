//! DELETE on an item: removes the CSR from its scope (and, under a fault, keeps it listed) and
//! answers with its id. Never makes or signs anything.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::error::ApiError;
use crate::fault::Fault;
use crate::routes::extract::CsrPath;
use crate::routes::get::crashes_on;
use crate::routes::state::AppState;
use crate::routes::success::success;

pub(crate) async fn delete_csr(
    State(state): State<AppState>,
    path: CsrPath,
) -> Result<Response, ApiError> {
    let id = path.custom_csr_id()?;
    if crashes_on(&state, id) {
        return Err(ApiError::Internal);
    }
    let scope = match state.0.store.scope_of(id) {
        Some(holder) if state.0.config.has(Fault::DeleteIgnoresScope) => holder,
        _ => path.scope.clone(),
    };
    let removed = state
        .0
        .store
        .remove(&scope, id)
        .ok_or(ApiError::CsrNotFound)?;
    if state.0.config.has(Fault::ListDeleted) {
        let mut graveyard = state.0.graveyard.lock().unwrap_or_else(|p| p.into_inner());
        graveyard.entry(scope).or_default().push(removed.clone());
    }
    Ok(success(
        StatusCode::OK,
        serde_json::json!({ "id": removed.csr.id }),
        None,
    ))
}
