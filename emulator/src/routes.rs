//! The router: routes, extractors that turn every rejection into Cloudflare's envelope, and
//! the handlers of the four operations.

use std::sync::Arc;

use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, Query, RawPathParams, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tower::Layer;

use crate::auth::authenticate;
use crate::config::Config;
use crate::csr::sign_request;
use crate::error::{ApiError, sanitize_path};
use crate::fallback::Fallback;
use crate::fault::{DROP_CREATES_AT, Fault, KEPT_SANS, escape_dn};
use crate::guard::{EnvelopeGuard, EnvelopeGuardLayer};
use crate::key_pool::KeyPool;
use crate::model::{CustomCsr, Scope, ScopeKind, format_timestamp};
use crate::preload::{Planned, Preloader};
use crate::rate_limit::RateLimiter;
use crate::reading::{CollectionAlias, ListParamLeeway};
use crate::sdk_suite::{EXAMPLE_ID, SdkSuite, example_created, example_request};
use crate::store::{Direction, Limits, ListOrder, Store, StoredCsr};
use crate::validate::{CreateCustomCsr, Rules, parse_create};

/// Larger request bodies are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// How much of a too-large body is read (and dropped) before the 413, so that the client has
/// finished sending when it comes; beyond this the connection is closed mid-body.
const MAX_DRAINED_BYTES: usize = 16 << 20;
/// Account and zone ids are at most 32 characters (32 hex digits in practice).
const MAX_SCOPE_ID_CHARS: usize = 32;
/// Custom CSR ids are at most 36 characters (a UUID in practice).
const MAX_CSR_ID_CHARS: usize = 36;
/// Heap the store may hold across all scopes, besides the CSR count caps in `Config`.
const MAX_STORE_BYTES: usize = 256 << 20;
const MIN_PER_PAGE: u64 = 5;
const MAX_PER_PAGE: u64 = 50;

#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    config: Config,
    store: Store,
    /// What `list-deleted` keeps listing after a delete.
    graveyard: std::sync::Mutex<std::collections::HashMap<Scope, Vec<Arc<StoredCsr>>>>,
    keys: KeyPool,
    limiter: Option<RateLimiter>,
    preload: Preloader,
    sdk: SdkSuite,
    /// The upstream for other routes, or why the configured one cannot be used.
    fallback: Option<Result<Fallback, String>>,
}

/// Whether `url` can serve as `Config::fallback`; the reason if not.
pub fn check_fallback(url: &str) -> Result<(), String> {
    Fallback::new(url).map(|_| ())
}

/// The whole API: the router inside the envelope guard, with a short way past both for the
/// one request load tests send most, a GET of a CSR that exists (see [`App::answer_at_once`]).
#[derive(Clone)]
pub struct App {
    state: AppState,
    /// Whether nothing configured changes a get's answer, so that the short way may be taken.
    plain_gets: bool,
    /// Whether `…/custom_csrs/` and `…/custom_csrs/.` are the collection (the lenient
    /// reading): such requests are sent on with the collection's path, before anything else.
    collection_aliases: bool,
    guarded: EnvelopeGuard<Router>,
}

impl App {
    /// What `axum::serve` takes: every connection gets a clone of this service.
    pub fn into_make_service(self) -> tower::make::Shared<Self> {
        tower::make::Shared::new(self)
    }

    /// The answer to a GET of an existing CSR with valid credentials on a plain path, read
    /// straight from the store: exactly what the router's `get_csr` answers (the same cached
    /// bytes), without routing, extractors and their boxed futures, which were a tenth of a
    /// GET's time. Anything else (an error, an odd path, a missing CSR) is left to the router,
    /// and so is everything when a configured behaviour could change the answer, or a fault
    /// is on.
    fn answer_at_once(&self, req: &Request) -> Option<Response> {
        if !self.plain_gets || req.method() != axum::http::Method::GET {
            return None;
        }
        let (kind, id, Some(csr_id)) = plain_params(req.uri().path())? else {
            return None;
        };
        if !valid_scope_id(id) || !valid_csr_id(csr_id) {
            return None;
        }
        authenticate(req.headers(), &self.state.0.config).ok()?;
        let scope = Scope {
            kind,
            id: id.to_owned(),
        };
        let stored = self.state.0.store.get(&scope, csr_id)?;
        get_answer(&stored).ok()
    }
}

impl tower::Service<Request> for App {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Answer<<EnvelopeGuard<Router> as tower::Service<Request>>::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower::Service::<Request>::poll_ready(&mut self.guarded, cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if self.collection_aliases {
            to_collection(&mut req);
        }
        match self.answer_at_once(&req) {
            Some(answer) => Answer::AtOnce {
                answer: Some(answer),
            },
            None => Answer::Routed {
                routed: self.guarded.call(req),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// An answer made at once, or the router's.
    #[project = AnswerProj]
    pub enum Answer<F> {
        AtOnce { answer: Option<Response> },
        Routed { #[pin] routed: F },
    }
}

impl<F> std::future::Future for Answer<F>
where
    F: std::future::Future<Output = Result<Response, std::convert::Infallible>>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.project() {
            AnswerProj::AtOnce { answer } => {
                std::task::Poll::Ready(Ok(answer.take().unwrap_or_default()))
            }
            AnswerProj::Routed { routed } => routed.poll(cx),
        }
    }
}

/// Makes a [`App`] to serve with `axum::serve(listener, app.into_make_service())` or to call
/// as a tower service.
pub fn app(config: Config) -> App {
    let state = AppState(Arc::new(Shared {
        store: Store::new(Limits {
            per_scope: config.max_csrs_per_scope,
            total: config.max_csrs_total,
            total_bytes: MAX_STORE_BYTES,
        }),
        graveyard: std::sync::Mutex::default(),
        keys: KeyPool::new(config.key_pool_size, config.reuse_keys),
        limiter: config.rate_limit.map(RateLimiter::new),
        preload: Preloader::new(config.preload),
        sdk: SdkSuite::new(config.sdk_suite),
        fallback: config.fallback.as_deref().map(Fallback::new),
        config,
    }));
    let latency = state.0.config.latency;

    // Credentials are checked first thing in the `CsrPath` extractor every handler starts with,
    // so an unknown route or an unsupported method is a routing error, answered before
    // credentials are looked at. A middleware per request costs about a tenth of a GET's time,
    // so the rate limiter's, which adds headers to the answer, is there only when configured.
    let mut collection = get(list_csrs).post(create_csr);
    let mut item = get(get_csr).delete(delete_csr);
    if state.0.limiter.is_some() {
        let limit = middleware::from_fn_with_state(state.clone(), rate_limit);
        collection = collection.route_layer(limit.clone());
        item = item.route_layer(limit);
    }
    let mut router = Router::new();
    for prefix in ["", "/client/v4"] {
        for scope in ["accounts/{account_id}", "zones/{zone_id}"] {
            router = router
                .route(&format!("{prefix}/{scope}/custom_csrs"), collection.clone())
                .route(
                    &format!("{prefix}/{scope}/custom_csrs/{{custom_csr_id}}"),
                    item.clone(),
                );
        }
    }
    let mut router = router
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state.clone());
    if let Some(delay) = latency {
        router = router.layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
                tokio::time::sleep(delay).await;
                next.run(req).await
            },
        ));
    }
    // Around the router, not layered into it: a layer inside wraps every route in one more
    // boxed service, which cost a tenth of a GET's throughput.
    let guarded = EnvelopeGuardLayer {
        body_limit: MAX_BODY_BYTES,
    }
    .layer(router);
    let c = &state.0.config;
    // What `CsrPath` and `get_csr` do beyond reading the store: rate limits, latency, the
    // first sight of a scope (preload, the SDK suite's example). Faults are there to be caught
    // by the harness, not to be fast, so with any fault on (today only the id-shape one
    // touches a get) every request goes through the router, and a fault added later cannot
    // be skipped by the short way.
    let plain_gets = c.rate_limit.is_none()
        && c.latency.is_none()
        && c.preload == 0
        && !c.sdk_suite
        && c.faults.is_empty();
    let collection_aliases = c.reading.collection_alias() == CollectionAlias::Collection;
    App {
        state,
        plain_gets,
        collection_aliases,
        guarded,
    }
}

/// For `[/client/v4]/{accounts|zones}/{id}/custom_csrs/` and the same with a last segment that
/// decodes to `.` (`.`, `%2E`, `%2e`): the collection's path, `…/custom_csrs`.
fn collection_alias(path: &str) -> Option<&str> {
    let (collection, last) = path.rsplit_once('/')?;
    if !(last.is_empty() || last == "." || last.eq_ignore_ascii_case("%2e")) {
        return None;
    }
    let rest = collection.strip_prefix("/client/v4").unwrap_or(collection);
    let mut segments = rest.strip_prefix('/')?.split('/');
    let is_collection = matches!(segments.next(), Some("accounts" | "zones"))
        && segments.next().is_some()
        && segments.next() == Some("custom_csrs")
        && segments.next().is_none();
    is_collection.then_some(collection)
}

/// Points a request for an alias of a collection (see [`collection_alias`]) at the collection
/// itself, query included, so that the router answers it exactly as the collection.
fn to_collection(req: &mut Request) {
    let Some(collection) = collection_alias(req.uri().path()) else {
        return;
    };
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{collection}?{query}"),
        None => collection.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    let Ok(path_and_query) = path_and_query.parse() else {
        return;
    };
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
}

/// The path as Cloudflare names it in routing errors: without the `/client/v4` base.
pub(crate) fn route_path(path: &str) -> String {
    let path = path.strip_prefix("/client/v4").unwrap_or(path);
    sanitize_path(if path.is_empty() { "/" } else { path })
}

/// Routes the emulator does not serve: forwarded to the fallback when there is one, otherwise
/// Cloudflare's route error.
async fn no_route(State(state): State<AppState>, req: Request) -> Response {
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
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
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

/// The account or zone of a request and, on item routes, the custom CSR id, both checked.
pub(crate) struct CsrPath {
    scope: Scope,
    custom_csr_id: Option<String>,
}

impl CsrPath {
    fn custom_csr_id(&self) -> Result<&str, ApiError> {
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

/// The parameters of a path the router matched, read straight from it when it holds no
/// percent-escape: `[/client/v4]/{accounts|zones}/{id}/custom_csrs[/{custom_csr_id}]`. This
/// runs on every request, and the decoding extractor's allocations showed in profiles.
fn plain_params(path: &str) -> Option<(ScopeKind, &str, Option<&str>)> {
    if path.contains('%') {
        return None;
    }
    let path = path.strip_prefix("/client/v4").unwrap_or(path);
    let mut segments = path.strip_prefix('/')?.split('/');
    let kind = match segments.next()? {
        "accounts" => ScopeKind::Account,
        "zones" => ScopeKind::Zone,
        _ => return None,
    };
    let id = segments.next()?;
    if segments.next()? != "custom_csrs" {
        return None;
    }
    let csr_id = segments.next();
    segments.next().is_none().then_some((kind, id, csr_id))
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
            "account_id" if scope_param.is_none() => {
                scope_param = Some((ScopeKind::Account, value))
            }
            "zone_id" if scope_param.is_none() => scope_param = Some((ScopeKind::Zone, value)),
            "custom_csr_id" => csr_id = Some(value.to_owned()),
            _ => return Err(no_route(&parts.uri)),
        }
    }
    match scope_param {
        Some((kind, id)) => Ok((kind, id.to_owned(), csr_id)),
        None => Err(no_route(&parts.uri)),
    }
}

/// Ids are opaque to Cloudflare's SDKs (their tests use `account_id`), so any short id made
/// of letters, digits, `-` and `_` names a scope; `..` and the like never do.
fn valid_scope_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SCOPE_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_csr_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CSR_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A create body: read within the size limit and parsed as JSON whatever its Content-Type.
pub(crate) struct CsrBody(Value);

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
    page: Option<String>,
    per_page: Option<String>,
    order: Option<String>,
    direction: Option<String>,
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

#[derive(Serialize)]
struct Success<T: Serialize> {
    success: bool,
    errors: [(); 0],
    messages: [(); 0],
    result: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_info: Option<ResultInfo>,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
struct ResultInfo {
    page: u64,
    per_page: u64,
    count: u64,
    total_count: u64,
    total_pages: u64,
}

fn success<T: Serialize>(
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

async fn list_csrs(
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

async fn create_csr(
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
        && req.common_name.chars().count() >= crate::model::MAX_COMMON_NAME_CHARS
    {
        return Err(ApiError::CommonNameTooLong {
            max: crate::model::MAX_COMMON_NAME_CHARS,
        });
    }
    let mut created = OffsetDateTime::now_utc();
    if config.has(Fault::CreatedAtFuture) {
        created += time::Duration::hours(1);
    }
    let stored = state.0.store_new(&path.scope, req, created).await?;
    Ok(success(StatusCode::CREATED, &stored.csr, None))
}

impl Shared {
    /// Generates the key and the CSR for a checked create request and stores it as made at
    /// `created`.
    async fn store_new(
        &self,
        scope: &Scope,
        req: CreateCustomCsr,
        created: OffsetDateTime,
    ) -> Result<Arc<StoredCsr>, ApiError> {
        let key = self
            .keys
            .key_for(req.key_type)
            .await
            .map_err(|_| ApiError::Internal)?;
        let mut signed = req.clone();
        if self.config.has(Fault::EscapeDnSpecials) {
            for field in [
                &mut signed.country,
                &mut signed.state,
                &mut signed.locality,
                &mut signed.organization,
                &mut signed.common_name,
            ] {
                *field = escape_dn(field);
            }
            signed.organizational_unit = signed.organizational_unit.as_deref().map(escape_dn);
        }
        if self.config.has(Fault::TruncateSans) {
            signed.sans.truncate(KEPT_SANS);
        }
        let pem = sign_request(&signed, &key).map_err(|e| e.api_error())?;
        let id = uuid::Uuid::new_v4().to_string();
        let stored = StoredCsr::new(
            custom_csr(scope, req, id, pem, created),
            key.serialize_der(),
        );
        if self.config.has(Fault::DropCreatesWhenFull)
            && self.store.snapshot(scope).len() >= DROP_CREATES_AT
        {
            return Ok(Arc::new(stored));
        }
        if self.config.has(Fault::RacyCreates) {
            let mut csrs = self.store.snapshot(scope);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let stored = Arc::new(stored);
            csrs.insert(stored.csr.id.clone(), stored.clone());
            self.store.replace(scope, csrs);
            return Ok(stored);
        }
        self.store.insert(scope, stored)
    }

    /// Puts the spec's example CSR (SDK-suite profile) back into `scope` if it is not there.
    async fn ensure_example(&self, scope: &Scope) {
        if self.store.get(scope, EXAMPLE_ID).is_some() {
            return;
        }
        let req = example_request(scope.kind);
        let signed = self
            .sdk
            .signed(|| async {
                let key = self.keys.key_for(req.key_type).await.ok()?;
                let pem = sign_request(&req, &key).ok()?;
                Some((pem, key.serialize_der()))
            })
            .await;
        let Some((pem, key_der)) = signed else { return };
        let csr = custom_csr(
            scope,
            req,
            EXAMPLE_ID.to_owned(),
            pem.clone(),
            example_created(),
        );
        // A full store simply goes without the example; the request then answers as usual.
        let _ = self
            .store
            .insert_if_absent(scope, StoredCsr::new(csr, key_der.clone()));
    }
}

/// The object a scope serves for a CSR made from `req`.
fn custom_csr(
    scope: &Scope,
    req: CreateCustomCsr,
    id: String,
    pem: String,
    created: OffsetDateTime,
) -> CustomCsr {
    // Served with microseconds, so keep exactly that for sorting too.
    let created = created
        .replace_nanosecond(created.microsecond() * 1_000)
        .unwrap_or(created);
    let account_tag = match scope.kind {
        ScopeKind::Account => Some(scope.id.clone()),
        ScopeKind::Zone => None,
    };
    CustomCsr {
        id,
        created_at: format_timestamp(created),
        key_type: req.key_type,
        csr: pem,
        common_name: req.common_name,
        country: req.country,
        state: req.state,
        locality: req.locality,
        organization: req.organization,
        organizational_unit: req.organizational_unit,
        sans: req.sans,
        account_tag,
        name: req.name,
        description: req.description,
        created,
    }
}

/// The `crash-on-id-shape` fault: 36 characters that are not a UUID.
fn crashes_on(state: &AppState, id: &str) -> bool {
    state.0.config.has(Fault::CrashOnIdShape)
        && id.chars().count() == MAX_CSR_ID_CHARS
        && uuid::Uuid::parse_str(id).is_err()
}

async fn get_csr(State(state): State<AppState>, path: CsrPath) -> Result<Response, ApiError> {
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
fn get_answer(stored: &StoredCsr) -> Result<Response, ApiError> {
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

async fn delete_csr(State(state): State<AppState>, path: CsrPath) -> Result<Response, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::{Service, ServiceExt};

    const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";

    fn request(method: &str, uri: &str, token: Option<&str>, body: Option<&str>) -> Request {
        let mut r = axum::http::Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .unwrap()
    }

    async fn parts(r: Response) -> (StatusCode, Option<HeaderValue>, axum::body::Bytes) {
        let status = r.status();
        let ct = r.headers().get(header::CONTENT_TYPE).cloned();
        (
            status,
            ct,
            r.into_body().collect().await.unwrap().to_bytes(),
        )
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_short_way_answers_exactly_as_the_router_and_only_a_plain_get_that_succeeds() {
        let rt = runtime();
        let app = app(Config {
            key_pool_size: 0,
            ..Config::default()
        });
        let body = r#"{"country":"PT","state":"Lisboa","locality":"Lisboa","organization":"O",
            "common_name":"short.cloudflare-demo.com","sans":["short.cloudflare-demo.com"],
            "key_type":"p256v1"}"#;
        let created = rt.block_on(app.clone().oneshot(request(
            "POST",
            "/client/v4/zones/z1/custom_csrs",
            Some(TOKEN),
            Some(body),
        )));
        let (status, _, bytes) = rt.block_on(parts(created.unwrap()));
        assert_eq!(status, StatusCode::CREATED);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let id = v["result"]["id"].as_str().unwrap().to_owned();

        for uri in [
            format!("/client/v4/zones/z1/custom_csrs/{id}"),
            format!("/zones/z1/custom_csrs/{id}"),
        ] {
            let get = || request("GET", &uri, Some(TOKEN), None);
            let short = app.answer_at_once(&get()).expect("taken the short way");
            let mut guarded = app.guarded.clone();
            let routed = rt.block_on(guarded.call(get())).unwrap();
            let (short, routed) = (rt.block_on(parts(short)), rt.block_on(parts(routed)));
            assert_eq!(short, routed);
            assert_eq!(short.0, StatusCode::OK);
            // And the service as a whole answers the same.
            let whole = rt.block_on(app.clone().oneshot(get())).unwrap();
            assert_eq!(rt.block_on(parts(whole)), routed);
        }
        // Everything else is the router's to answer.
        for (method, uri, token) in [
            ("GET", format!("/zones/z1/custom_csrs/{id}"), None),
            ("GET", format!("/zones/z1/custom_csrs/{id}"), Some("wrong")),
            ("GET", format!("/zones/z2/custom_csrs/{id}"), Some(TOKEN)),
            ("GET", format!("/accounts/z1/custom_csrs/{id}"), Some(TOKEN)),
            ("GET", format!("/zones/z1/custom_csrs/{id}x"), Some(TOKEN)),
            ("GET", format!("/zones/z%31/custom_csrs/{id}"), Some(TOKEN)),
            (
                "GET",
                format!("/zones/z1/custom_csrs/{id}/more"),
                Some(TOKEN),
            ),
            ("GET", "/zones/z1/custom_csrs".to_owned(), Some(TOKEN)),
            ("DELETE", format!("/zones/z1/custom_csrs/{id}"), Some(TOKEN)),
        ] {
            let r = request(method, &uri, token, None);
            assert!(app.answer_at_once(&r).is_none(), "{method} {uri} {token:?}");
        }
        // A configuration that could change a get's answer turns the short way off.
        for config in [
            Config {
                latency: Some(std::time::Duration::from_millis(1)),
                ..Config::default()
            },
            Config {
                preload: 1,
                ..Config::default()
            },
            Config {
                sdk_suite: true,
                ..Config::default()
            },
            Config {
                rate_limit: Some(crate::config::RateLimit::CLOUDFLARE),
                ..Config::default()
            },
            Config {
                faults: vec![Fault::CrashOnIdShape],
                ..Config::default()
            },
            Config {
                faults: vec![Fault::RacyCreates],
                ..Config::default()
            },
        ] {
            assert!(!app_with(config).plain_gets);
        }
        assert!(app.plain_gets);
    }

    #[test]
    fn collection_aliases_are_only_a_slash_or_a_dot_right_after_the_collection() {
        for (path, alias) in [
            ("/accounts/a/custom_csrs/", Some("/accounts/a/custom_csrs")),
            (
                "/client/v4/zones/z/custom_csrs/.",
                Some("/client/v4/zones/z/custom_csrs"),
            ),
            (
                "/zones/z%31/custom_csrs/%2e",
                Some("/zones/z%31/custom_csrs"),
            ),
            ("/zones/z/custom_csrs/%2E", Some("/zones/z/custom_csrs")),
            ("/zones/z/custom_csrs", None),
            ("/zones/z/custom_csrs/..", None),
            ("/zones/z/custom_csrs/%2E%2E", None),
            ("/zones/z/custom_csrs//", None),
            ("/zones/z/custom_csrs/id/", None),
            ("/zones/custom_csrs/", None),
            ("/users/z/custom_csrs/", None),
            ("/client/v4/client/v4/zones/z/custom_csrs/", None),
        ] {
            assert_eq!(collection_alias(path), alias, "{path}");
        }
        let mut req = request("GET", "/zones/z/custom_csrs/%2E?page=2", None, None);
        to_collection(&mut req);
        assert_eq!(req.uri(), "/zones/z/custom_csrs?page=2");
    }

    #[test]
    fn in_every_reading_the_short_way_answers_as_the_router_and_never_for_an_alias() {
        let rt = runtime();
        for reading in crate::Reading::ALL {
            let app = app_with(Config {
                reading,
                ..Config::default()
            });
            assert!(app.plain_gets, "{reading}: a reading changes no get");
            let body = r#"{"country":"PT","state":"Lisboa","locality":"Lisboa","organization":"O",
                "common_name":"short.cloudflare-demo.com","sans":["short.cloudflare-demo.com"],
                "key_type":"p256v1"}"#;
            let created = rt.block_on(app.clone().oneshot(request(
                "POST",
                "/zones/z1/custom_csrs",
                Some(TOKEN),
                Some(body),
            )));
            let (_, _, bytes) = rt.block_on(parts(created.unwrap()));
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            let id = v["result"]["id"].as_str().unwrap().to_owned();
            let get = || {
                request(
                    "GET",
                    &format!("/zones/z1/custom_csrs/{id}"),
                    Some(TOKEN),
                    None,
                )
            };
            let short = app.answer_at_once(&get()).expect("taken the short way");
            let routed = rt.block_on(app.guarded.clone().call(get())).unwrap();
            assert_eq!(rt.block_on(parts(short)), rt.block_on(parts(routed)));
            for uri in [
                "/zones/z1/custom_csrs/",
                "/zones/z1/custom_csrs/.",
                "/zones/z1/custom_csrs/%2E",
                "/client/v4/zones/z1/custom_csrs/",
            ] {
                let mut req = request("GET", uri, Some(TOKEN), None);
                assert!(app.answer_at_once(&req).is_none(), "{reading} {uri}");
                to_collection(&mut req);
                assert!(app.answer_at_once(&req).is_none(), "{reading} {uri}");
            }
        }
    }

    fn app_with(config: Config) -> App {
        app(Config {
            key_pool_size: 0,
            ..config
        })
    }
}
