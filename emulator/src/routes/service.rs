//! The whole API as one tower service: the router (route table to handlers, layers) inside the
//! envelope guard, and the fast path past both for a plain GET. Wiring only: it never
//! validates, signs or lists anything itself.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Uri;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tower::Layer;

use crate::auth::authenticate;
use crate::config::Config;
use crate::fallback::Fallback;
use crate::guard::{EnvelopeGuard, EnvelopeGuardLayer};
use crate::model::Scope;
use crate::reading::CollectionAlias;
use crate::route_table::{collection_alias, plain_params, templates, valid_csr_id, valid_scope_id};
use crate::routes::around::{no_route, rate_limit};
use crate::routes::create::create_csr;
use crate::routes::delete::delete_csr;
use crate::routes::extract::MAX_BODY_BYTES;
use crate::routes::get::{get_answer, get_csr};
use crate::routes::list::list_csrs;
use crate::routes::state::AppState;

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
    let state = AppState::new(config);
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
    for (collection_path, item_path) in templates() {
        router = router
            .route(&collection_path, collection.clone())
            .route(&item_path, item.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{HeaderValue, StatusCode, header};
    use http_body_util::BodyExt;
    use serde_json::Value;
    use tower::{Service, ServiceExt};

    use crate::fault::Fault;

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
        for reading in crate::reading::Reading::ALL {
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
