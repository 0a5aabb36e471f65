//! The success envelope (`success`, empty `errors` and `messages`, `result`, `result_info`)
//! every 2xx answer is made of. Errors are never shaped here: `ApiError` owns that.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Success<T: Serialize> {
    pub(crate) success: bool,
    pub(crate) errors: [(); 0],
    pub(crate) messages: [(); 0],
    pub(crate) result: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result_info: Option<ResultInfo>,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResultInfo {
    pub(crate) page: u64,
    pub(crate) per_page: u64,
    pub(crate) count: u64,
    pub(crate) total_count: u64,
    pub(crate) total_pages: u64,
}

/// A 2xx answer with `result` (and, for a list, `result_info`) in the envelope.
pub(crate) fn success<T: Serialize>(
    status: StatusCode,
    result: T,
    result_info: Option<ResultInfo>,
) -> Response {
    let body = Success {
        success: true,
        errors: [],
        messages: [],
        result,
        result_info,
    };
    (status, Json(body)).into_response()
}
