//! GET on a collection: the list parameters as the reading takes them, then one page of the
//! scope's CSRs, sorted. Only reads the store.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::error::ApiError;
use crate::fault::Fault;
use crate::model::{CustomCsr, ScopeKind};
use crate::reading::ListParamLeeway;
use crate::routes::extract::{CsrPath, ListQuery};
use crate::routes::state::AppState;
use crate::routes::success::{ResultInfo, success};
use crate::store::{Direction, ListOrder};

const MIN_PER_PAGE: u64 = 5;
const MAX_PER_PAGE: u64 = 50;

pub(crate) async fn list_csrs(
    State(state): State<AppState>,
    path: CsrPath,
    query: ListQuery,
) -> Result<Response, ApiError> {
    let default_per_page = match path.scope.kind {
        ScopeKind::Account => MAX_PER_PAGE,
        ScopeKind::Zone => 20,
    };
    let reading = state.0.config.reading;
    let leeway = reading.list_param_leeway();
    let refuse = leeway == ListParamLeeway::Refuse;
    let page = match number_param("page", query.page.as_deref(), leeway)? {
        None => 1,
        Some(n) if n >= 1 => n as u64,
        Some(_) if refuse => {
            return Err(ApiError::InvalidRequest {
                reason: "page must be at least 1".into(),
            });
        }
        Some(_) => 1,
    };
    let asked_per_page = number_param("per_page", query.per_page.as_deref(), leeway)?;
    if state.0.config.has(Fault::CrashOnLargePerPage)
        && asked_per_page.is_some_and(|n| n > MAX_PER_PAGE as i64)
    {
        return Err(ApiError::Internal);
    }
    let per_page_range = MIN_PER_PAGE as i64..=MAX_PER_PAGE as i64;
    let per_page = match asked_per_page {
        None => default_per_page,
        Some(n) if refuse && !per_page_range.contains(&n) => {
            return Err(ApiError::InvalidRequest {
                reason: format!("per_page must be from {MIN_PER_PAGE} to {MAX_PER_PAGE}"),
            });
        }
        Some(n) => n.clamp(*per_page_range.start(), *per_page_range.end()) as u64,
    };
    let sorts = match path.scope.kind {
        ScopeKind::Account => true,
        ScopeKind::Zone => reading.zone_sorts(),
    };
    let ignore_unknown = reading.ignores_unknown_sort_values();
    let (order, direction) = if sorts {
        (
            match query.order.as_deref() {
                None => ListOrder::default(),
                Some("name") => ListOrder::Name,
                Some("account_tag") => ListOrder::AccountTag,
                Some("created_at") => ListOrder::CreatedAt,
                Some(_) if ignore_unknown => ListOrder::default(),
                Some(_) => {
                    return Err(ApiError::InvalidRequest {
                        reason: "order must be one of name, account_tag, created_at".into(),
                    });
                }
            },
            match query.direction.as_deref() {
                None => Direction::default(),
                Some("asc") => Direction::Asc,
                Some("desc") => Direction::Desc,
                Some(_) if ignore_unknown => Direction::default(),
                Some(_) => {
                    return Err(ApiError::InvalidRequest {
                        reason: "direction must be asc or desc".into(),
                    });
                }
            },
        )
    } else {
        // Zones take no sort parameters (unless the reading honours them): oldest first.
        (ListOrder::CreatedAt, Direction::Asc)
    };

    let order = if state.0.config.has(Fault::IgnoreSortValue) && order == ListOrder::Name {
        ListOrder::default()
    } else {
        order
    };
    let direction = if state.0.config.has(Fault::IgnoreDirection) {
        Direction::Asc
    } else {
        direction
    };
    let mut all = state.0.store.list(&path.scope, order, direction);
    if state.0.config.has(Fault::ListDeleted) {
        let graveyard = state.0.graveyard.lock().unwrap_or_else(|p| p.into_inner());
        all.extend(graveyard.get(&path.scope).into_iter().flatten().cloned());
    }
    let total = all.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let items: Vec<&CustomCsr> = all
        .iter()
        .skip(start)
        .take(per_page as usize)
        .map(|s| &s.csr)
        .collect();
    let info = ResultInfo {
        page,
        per_page,
        count: items.len() as u64,
        total_count: total,
        total_pages: if total == 0 {
            state.0.config.reading.empty_total_pages()
        } else {
            total.div_ceil(per_page)
        },
    };
    Ok(success(StatusCode::OK, items, Some(info)))
}

/// A whole number from a query value; SDKs typed with floats may send `5.0`. Fractions are
/// truncated, and what is no number at all is refused, or taken as absent when the reading
/// forgives it; the strict reading refuses fractions too.
fn number_param(
    name: &str,
    raw: Option<&str>,
    leeway: ListParamLeeway,
) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    if let Ok(n) = raw.trim().parse::<i64>() {
        return Ok(Some(n));
    }
    match raw.trim().parse::<f64>() {
        // `as` saturates, which is what a huge page number should do.
        Ok(f) if f.is_finite() && (f.fract() == 0.0 || leeway != ListParamLeeway::Refuse) => {
            Ok(Some(f.trunc() as i64))
        }
        Ok(f) if f.is_finite() => Err(ApiError::InvalidRequest {
            reason: format!("{name} must be a whole number"),
        }),
        _ if leeway == ListParamLeeway::Forgive => Ok(None),
        _ => Err(ApiError::InvalidRequest {
            reason: format!("{name} must be a number"),
        }),
    }
}
