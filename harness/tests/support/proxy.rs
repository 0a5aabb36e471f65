//! A proxy in front of a fresh embedded emulator that breaks exactly one rule of the contract
//! (a [`Fault`]) and is otherwise transparent: each check of the harness can be shown failing
//! against a server that breaks it, and only it.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::Creds;

/// The one thing the proxy gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwards everything unchanged.
    None,
    // Envelope.
    /// Every answer says `Content-Type: text/plain`.
    TextPlain,
    /// 4xx answers say `success: true` (what Prism does on a 401).
    SuccessOn4xx,
    /// Error codes are the HTTP status (below Cloudflare's floor of 1000).
    LowErrorCode,
    /// Failures carry `errors: []`.
    EmptyErrors,
    /// Every error code is 1000: well-formed, but not the documented one.
    UndocumentedErrorCode,
    /// 404s are an HTML page.
    HtmlNotFound,
    /// 400 and 403 messages repeat the credential the request carried.
    EchoCredential,
    /// Failures carry `result: {}`.
    FailureCarriesResult,
    /// Successes carry an error entry.
    ErrorsOnSuccess,
    // Schema.
    /// CSR ids are 40 characters (mapped back on the way in, so the server still finds them).
    PaddedIds,
    /// `key_type` rsa2048 becomes "rsa4096".
    KeyTypeRsa4096,
    /// `created_at` is not RFC 3339.
    CreatedAtNotRfc3339,
    /// `country` is "XX", not an ISO 3166 code.
    CountryXX,
    /// `common_name` is longer than 64 characters.
    CommonNameOver64,
    /// `result_info.count` is one more than the page holds.
    ResultInfoCountOffByOne,
    // PEM.
    /// `csr` is a PEM block cut short.
    TruncatedPem,
    /// `csr` is a valid CSR for another name.
    ForeignCsr,
    /// The last byte of the CSR's signature is flipped.
    FlippedSignature,
    /// `key_type` says rsa2048 for P-256 keys and p256v1 for RSA keys.
    SwappedKeyTypeLabel,
    /// `csr` is a well-formed PEM block whose bytes are no CertificationRequest.
    GarbageDer,
    /// `sans` lists one name more than the CSR holds.
    ExtraSanInAnswer,
    /// `organization` differs from the CSR's O.
    OrganizationChanged,
    // Auth.
    /// Any request gets the valid token instead of what it carried.
    AcceptAnyCredential,
    // Behaviour.
    /// A get of an unknown id answers 200 with an object.
    UnknownIdFound,
    /// An id over 36 characters is a 500.
    LongIdServerError,
    /// Every account id means the configured account, every zone id the configured zone.
    IgnoreScopeId,
    /// A create answers 200 instead of 201.
    CreateAnswers200,
    /// A create answer leaves out `organizational_unit`.
    CreateDropsOrganizationalUnit,
    /// A create the server refuses with 400 answers 201 with an object.
    AcceptInvalidCreates,
    /// Pages past the end repeat page 1.
    EndlessList,
    /// Each page after the first repeats the page before it.
    DuplicatesAcrossPages,
    /// A deleted CSR can still be fetched.
    GetAfterDelete,
    /// A page past the end is a 404.
    PagePastEndNotFound,
    /// Gets of account CSRs leave out `description`.
    GetDropsDescription,
    /// Zone CSRs carry the account-only fields `account_tag`, `name` and `description`.
    ZoneObjectsCarryAccountFields,
    // Transient trouble, for --retries and 429 handling.
    /// The first list request of each scope kind answers 503; later ones pass.
    FirstListUnavailable,
    /// The first list request of each scope kind answers 429 with `Retry-After: 1`.
    FirstListRateLimited,
    // Drift: what the contract allows but does not name. Not a fault: a run still passes.
    /// Every CustomCsr carries a `fingerprint`, `result_info` a `cursor`, every failure a
    /// second error with the undocumented code 1499, every answer an
    /// `x-ratelimit-policy-next` header.
    Drift,
}

/// A running proxy and the emulator behind it. Dropping it stops both.
pub struct FaultyProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
    emulator: Option<csr_emulator::Emulator>,
}

impl FaultyProxy {
    pub fn start(fault: Fault) -> io::Result<FaultyProxy> {
        FaultyProxy::start_preloaded(fault, 0)
    }

    /// [`FaultyProxy::start`] in front of an emulator whose scopes already hold `preload`
    /// CSRs each, for `--read-only` runs.
    pub fn start_preloaded(fault: Fault, preload: usize) -> io::Result<FaultyProxy> {
        let emulator = csr_emulator::Emulator::start(csr_emulator::Config {
            preload,
            ..csr_emulator::Config::default()
        })?;
        let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("faulty-proxy")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared {
            fault,
            upstream: emulator.root_url(),
            token: emulator.config().token.clone(),
            client: reqwest::Client::builder()
                .no_proxy()
                // A pooled connection the emulator has just closed (after refusing a body
                // too large to read) fails the next request with it: a fault nobody asked for.
                .pool_max_idle_per_host(0)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(io::Error::other)?,
            objects: Mutex::default(),
            deleted: Mutex::default(),
            log: Mutex::default(),
            once: Mutex::default(),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let (stop, mut stopped) = watch::channel(false);
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let thread = std::thread::Builder::new()
            .name("faulty-proxy".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    });
                    let _ = serve.await;
                });
                // Keep-alive connections of the harness would otherwise hold the drop.
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        Ok(FaultyProxy {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
            emulator: Some(emulator),
        })
    }

    /// `http://127.0.0.1:PORT/client/v4`.
    pub fn base_url(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    /// Every request the proxy received, in order: method, path with query, and body.
    pub fn requests(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The credentials the emulator behind the proxy accepts.
    pub fn creds(&self) -> Creds {
        Creds::of_emulator(self.emulator.as_ref().expect("running").config())
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        drop(self.emulator.take());
    }
}

struct Shared {
    fault: Fault,
    upstream: String,
    token: String,
    client: reqwest::Client,
    /// Every CSR object seen in an answer, by id, for the fault that serves deleted ones.
    objects: Mutex<HashMap<String, Value>>,
    deleted: Mutex<HashSet<String>>,
    /// What arrived, for tests that compare the requests of two runs.
    log: Mutex<Vec<String>>,
    /// What happened once already, for the faults that strike only the first time.
    once: Mutex<HashSet<String>>,
}

/// A request as it goes upstream.
struct Outgoing {
    method: Method,
    /// Path and query, e.g. `/client/v4/zones/z/custom_csrs?page=2`.
    target: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// An answer as it goes back.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn set_json(&mut self, v: &Value) {
        self.body = serde_json::to_vec(v).expect("serialise JSON");
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }

    /// Applies `f` to the body's JSON, if it is JSON.
    fn edit(&mut self, f: impl FnOnce(&mut Value)) {
        if let Some(mut v) = self.json() {
            f(&mut v);
            self.set_json(&v);
        }
    }

    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn failure(status: u16, code: u64, message: &str) -> Answer {
        let mut a = Answer {
            status,
            headers: HeaderMap::new(),
            body: Vec::new(),
        };
        a.set_json(&json!({
            "success": false, "errors": [{"code": code, "message": message}],
            "messages": [], "result": null
        }));
        a
    }

    fn success(status: u16, result: Value) -> Answer {
        let mut a = Answer {
            status,
            headers: HeaderMap::new(),
            body: Vec::new(),
        };
        a.set_json(&json!({"success": true, "errors": [], "messages": [], "result": result}));
        a
    }
}

/// Where a request goes: `/{accounts|zones}/{scope_id}/custom_csrs[/{id}]`.
#[derive(Debug, Clone)]
struct Route {
    kind: String,
    scope_id: String,
    id: Option<String>,
}

const PREFIX: &str = "/client/v4";

fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

fn route(target: &str) -> Option<Route> {
    let path = split_target(target).0;
    let path = path.strip_prefix(PREFIX).unwrap_or(path);
    match path.trim_start_matches('/').split('/').collect::<Vec<_>>()[..] {
        [kind @ ("accounts" | "zones"), scope, "custom_csrs"] => Some(Route {
            kind: kind.into(),
            scope_id: scope.into(),
            id: None,
        }),
        [kind @ ("accounts" | "zones"), scope, "custom_csrs", id] if !id.is_empty() => {
            Some(Route {
                kind: kind.into(),
                scope_id: scope.into(),
                id: Some(id.into()),
            })
        }
        _ => None,
    }
}

fn query_param(target: &str, name: &str) -> Option<String> {
    split_target(target)
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn with_query_param(target: &str, name: &str, value: &str) -> String {
    let (path, query) = split_target(target);
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(name))
        .map(String::from)
        .collect();
    pairs.push(format!("{name}={value}"));
    format!("{path}?{}", pairs.join("&"))
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b.to_vec(),
        Err(e) => {
            return to_response(Answer::failure(400, 10000, &format!("proxy: {e}")));
        }
    };
    shared.log.lock().unwrap().push(format!(
        "{} {} {}",
        parts.method,
        parts.uri,
        String::from_utf8_lossy(&body)
    ));
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut out = Outgoing {
        method: parts.method,
        target,
        headers: parts.headers,
        body,
    };
    let received = out.headers.clone();
    let answer = match shared.on_request(&mut out) {
        Some(a) => a,
        None => {
            let a = shared.send(&out).await;
            shared.on_response(&out, &received, a).await
        }
    };
    to_response(answer)
}

fn to_response(a: Answer) -> Response {
    let mut response = Response::new(Body::from(a.body));
    *response.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in &a.headers {
        if name != header::CONTENT_LENGTH
            && name != header::TRANSFER_ENCODING
            && name != header::CONNECTION
        {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

const PAD: &str = "-pad";

impl Shared {
    async fn send(&self, out: &Outgoing) -> Answer {
        let mut headers = out.headers.clone();
        for h in [
            header::HOST,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::CONNECTION,
        ] {
            headers.remove(h);
        }
        let result = self
            .client
            .request(
                out.method.clone(),
                format!("{}{}", self.upstream, out.target),
            )
            .headers(headers)
            .body(out.body.clone())
            .send()
            .await;
        let response = match result {
            Ok(r) => r,
            Err(e) => return Answer::failure(502, 10000, &format!("proxy: upstream: {e}")),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(b) => Answer {
                status,
                headers,
                body: b.to_vec(),
            },
            Err(e) => Answer::failure(502, 10000, &format!("proxy: upstream body: {e}")),
        }
    }

    /// Rewrites the request; `Some` answers it without asking the emulator.
    fn on_request(&self, out: &mut Outgoing) -> Option<Answer> {
        let r = route(&out.target);
        let first_list = || {
            let r = r.as_ref()?;
            (out.method == Method::GET && r.id.is_none())
                .then(|| self.once.lock().unwrap().insert(r.kind.clone()))
                .filter(|first| *first)
        };
        match self.fault {
            Fault::FirstListUnavailable if first_list().is_some() => {
                return Some(Answer::failure(503, 1500, "try again later"));
            }
            Fault::FirstListRateLimited if first_list().is_some() => {
                let mut a = Answer::failure(
                    429,
                    971,
                    "Please wait and consider throttling your request speed",
                );
                a.headers
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return Some(a);
            }
            Fault::PaddedIds => {
                if let Some(id) = r.as_ref().and_then(|r| r.id.as_ref())
                    && let Some(real) = id.strip_suffix(PAD)
                    && real.len() == 36
                {
                    let (path, query) = split_target(&out.target);
                    let path = format!("{}{real}", &path[..path.len() - id.len()]);
                    out.target = if query.is_empty() {
                        path
                    } else {
                        format!("{path}?{query}")
                    };
                }
            }
            Fault::AcceptAnyCredential => {
                for h in ["authorization", "x-auth-email", "x-auth-key"] {
                    out.headers.remove(h);
                }
                out.headers.insert(
                    header::AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {}", self.token)).expect("token"),
                );
            }
            Fault::IgnoreScopeId => {
                if let Some(r) = &r {
                    let configured = if r.kind == "accounts" {
                        super::ACCOUNT_ID
                    } else {
                        super::ZONE_ID
                    };
                    out.target = out.target.replacen(
                        &format!("/{}/{}/", r.kind, r.scope_id),
                        &format!("/{}/{configured}/", r.kind),
                        1,
                    );
                }
            }
            Fault::LongIdServerError
                if r.as_ref()
                    .and_then(|r| r.id.as_ref())
                    .is_some_and(|id| id.len() > 36) =>
            {
                return Some(Answer::failure(500, 10001, "internal server error"));
            }
            _ => {}
        }
        None
    }

    async fn on_response(&self, out: &Outgoing, received: &HeaderMap, mut a: Answer) -> Answer {
        let r = route(&out.target);
        let is = |m: Method| out.method == m;
        let list = r.as_ref().is_some_and(|r| r.id.is_none()) && is(Method::GET);
        let create = r.as_ref().is_some_and(|r| r.id.is_none()) && is(Method::POST);
        let get = r.as_ref().is_some_and(|r| r.id.is_some()) && is(Method::GET);
        let delete = r.as_ref().is_some_and(|r| r.id.is_some()) && is(Method::DELETE);
        let page: u64 = query_param(&out.target, "page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        if a.ok() && r.is_some() {
            self.remember(&a);
        }
        match self.fault {
            Fault::None
            | Fault::AcceptAnyCredential
            | Fault::IgnoreScopeId
            | Fault::LongIdServerError
            | Fault::FirstListUnavailable
            | Fault::FirstListRateLimited => {}
            Fault::Drift => {
                a.headers.insert(
                    "x-ratelimit-policy-next",
                    HeaderValue::from_static("1200;w=300"),
                );
                edit_csrs(&mut a, r.is_some(), |o| {
                    o.insert("fingerprint".into(), json!("sha256:00"));
                });
                if list && a.ok() {
                    a.edit(|v| {
                        if let Some(info) = v.get_mut("result_info").and_then(Value::as_object_mut)
                        {
                            info.insert("cursor".into(), Value::Null);
                        }
                    });
                }
                if !a.ok() {
                    a.edit(|v| {
                        if let Some(errors) = v.get_mut("errors").and_then(Value::as_array_mut) {
                            errors.push(json!({"code": 1499, "message": "a newer error"}));
                        }
                    });
                }
            }
            Fault::TextPlain => {
                a.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
            }
            Fault::SuccessOn4xx => {
                if (400..500).contains(&a.status) {
                    a.edit(|v| v["success"] = json!(true));
                }
            }
            Fault::LowErrorCode => {
                let status = a.status;
                if !a.ok() {
                    a.edit(|v| {
                        for e in v["errors"].as_array_mut().into_iter().flatten() {
                            e["code"] = json!(status);
                        }
                    });
                }
            }
            Fault::UndocumentedErrorCode => {
                if !a.ok() {
                    a.edit(|v| {
                        for e in v["errors"].as_array_mut().into_iter().flatten() {
                            e["code"] = json!(1000);
                        }
                    });
                }
            }
            Fault::EmptyErrors => {
                if !a.ok() {
                    a.edit(|v| v["errors"] = json!([]));
                }
            }
            Fault::HtmlNotFound => {
                if a.status == 404 {
                    a.body = b"<html><body><h1>404 Not Found</h1></body></html>".to_vec();
                    a.headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    );
                }
            }
            Fault::EchoCredential => {
                let sent = ["authorization", "x-auth-key"]
                    .iter()
                    .find_map(|h| received.get(*h).and_then(|v| v.to_str().ok()));
                if let (400 | 403, Some(sent)) = (a.status, sent) {
                    a.edit(|v| {
                        if let Some(m) = v.pointer_mut("/errors/0/message") {
                            *m = json!(format!("{} (got {sent})", m.as_str().unwrap_or("")));
                        }
                    });
                }
            }
            Fault::FailureCarriesResult => {
                if !a.ok() {
                    a.edit(|v| v["result"] = json!({}));
                }
            }
            Fault::ErrorsOnSuccess => {
                if a.ok() {
                    a.edit(|v| v["errors"] = json!([{"code": 1000, "message": "all is well"}]));
                }
            }
            Fault::PaddedIds => {
                if a.ok() && r.is_some() {
                    a.edit(|v| {
                        each_result_object(v, |o| {
                            if let Some(Value::String(id)) = o.get_mut("id")
                                && id.len() == 36
                            {
                                id.push_str(PAD);
                            }
                        })
                    });
                }
            }
            Fault::KeyTypeRsa4096 => edit_csrs(&mut a, r.is_some(), |o| {
                if o.get("key_type") == Some(&json!("rsa2048")) {
                    o.insert("key_type".into(), json!("rsa4096"));
                }
            }),
            Fault::CreatedAtNotRfc3339 => edit_csrs(&mut a, r.is_some(), |o| {
                if o.contains_key("created_at") {
                    o.insert("created_at".into(), json!("Tue, 01 Apr 2025 10:00:00 GMT"));
                }
            }),
            Fault::CountryXX => edit_csrs(&mut a, r.is_some(), |o| {
                if o.contains_key("country") {
                    o.insert("country".into(), json!("XX"));
                }
            }),
            Fault::CommonNameOver64 => edit_csrs(&mut a, r.is_some(), |o| {
                if let Some(Value::String(cn)) = o.get_mut("common_name") {
                    *cn = format!("{}.{cn}", "x".repeat(65));
                }
            }),
            Fault::ResultInfoCountOffByOne => {
                if a.ok() && list {
                    a.edit(|v| {
                        if let Some(c) = v.pointer("/result_info/count").and_then(Value::as_u64) {
                            v["result_info"]["count"] = json!(c + 1);
                        }
                    });
                }
            }
            Fault::TruncatedPem => edit_csrs(&mut a, r.is_some(), |o| {
                if o.contains_key("csr") {
                    o.insert(
                        "csr".into(),
                        json!("-----BEGIN CERTIFICATE REQUEST-----\nMIICYzCCAUsCAQAwHj..."),
                    );
                }
            }),
            Fault::ForeignCsr => edit_csrs(&mut a, r.is_some(), |o| {
                if o.contains_key("csr") {
                    o.insert("csr".into(), json!(foreign_csr()));
                }
            }),
            Fault::FlippedSignature => edit_csrs(&mut a, r.is_some(), |o| {
                if let Some(Value::String(pem)) = o.get_mut("csr")
                    && let Some(flipped) = flip_last_der_byte(pem)
                {
                    *pem = flipped;
                }
            }),
            Fault::SwappedKeyTypeLabel => edit_csrs(&mut a, r.is_some(), |o| {
                let swapped = match o.get("key_type").and_then(Value::as_str) {
                    Some("rsa2048") => "p256v1",
                    Some("p256v1") => "rsa2048",
                    _ => return,
                };
                o.insert("key_type".into(), json!(swapped));
            }),
            Fault::GarbageDer => edit_csrs(&mut a, r.is_some(), |o| {
                let der = base64_encode(b"this is not a PKCS#10 CertificationRequest at all");
                o.insert(
                    "csr".into(),
                    json!(format!(
                        "-----BEGIN CERTIFICATE REQUEST-----\n{der}\n-----END CERTIFICATE REQUEST-----\n"
                    )),
                );
            }),
            Fault::ExtraSanInAnswer => edit_csrs(&mut a, r.is_some(), |o| {
                if let Some(Value::Array(sans)) = o.get_mut("sans") {
                    sans.push(json!("extra.csr-conformance.net"));
                }
            }),
            Fault::OrganizationChanged => edit_csrs(&mut a, r.is_some(), |o| {
                if o.contains_key("organization") {
                    o.insert("organization".into(), json!("Someone Else Ltd"));
                }
            }),
            Fault::GetDropsDescription => {
                if get && a.ok() {
                    a.edit(|v| {
                        if let Some(o) = v["result"].as_object_mut() {
                            o.remove("description");
                        }
                    });
                }
            }
            Fault::ZoneObjectsCarryAccountFields => {
                let zone = r.as_ref().is_some_and(|r| r.kind == "zones");
                edit_csrs(&mut a, zone, |o| {
                    o.insert("account_tag".into(), json!(super::ACCOUNT_ID));
                    o.insert("name".into(), json!("leaked account name"));
                    o.insert("description".into(), json!("leaked account description"));
                })
            }
            Fault::UnknownIdFound => {
                if get && a.status == 404 {
                    let id = r.as_ref().and_then(|r| r.id.clone()).unwrap_or_default();
                    a = Answer::success(200, made_up_object(&id));
                }
            }
            Fault::CreateAnswers200 => {
                if create && a.status == 201 {
                    a.status = 200;
                }
            }
            Fault::CreateDropsOrganizationalUnit => {
                if create && a.ok() {
                    a.edit(|v| {
                        if let Some(o) = v["result"].as_object_mut() {
                            o.remove("organizational_unit");
                        }
                    });
                }
            }
            Fault::AcceptInvalidCreates => {
                if create && a.status == 400 {
                    a = Answer::success(201, made_up_object(&made_up_id(&out.body)));
                }
            }
            Fault::EndlessList => {
                if list && a.ok() && page > 1 && is_empty_page(&a) {
                    let first = Outgoing {
                        method: Method::GET,
                        target: with_query_param(&out.target, "page", "1"),
                        headers: out.headers.clone(),
                        body: Vec::new(),
                    };
                    a = self.send(&first).await;
                    a.edit(|v| v["result_info"]["page"] = json!(page));
                }
            }
            Fault::DuplicatesAcrossPages => {
                if list && a.ok() && page > 1 && !is_empty_page(&a) {
                    let before = Outgoing {
                        method: Method::GET,
                        target: with_query_param(&out.target, "page", &(page - 1).to_string()),
                        headers: out.headers.clone(),
                        body: Vec::new(),
                    };
                    let previous = self.send(&before).await.json();
                    let repeated: Vec<Value> = previous
                        .as_ref()
                        .and_then(|p| p["result"].as_array().cloned())
                        .unwrap_or_default();
                    a.edit(|v| {
                        if let Some(items) = v["result"].as_array_mut() {
                            items.extend(repeated);
                        }
                    });
                }
            }
            Fault::GetAfterDelete => {
                let id = r.as_ref().and_then(|r| r.id.clone()).unwrap_or_default();
                if delete && a.ok() {
                    self.deleted.lock().unwrap().insert(id);
                } else if get && a.status == 404 && self.deleted.lock().unwrap().contains(&id) {
                    let cached = self.objects.lock().unwrap().get(&id).cloned();
                    if let Some(object) = cached {
                        a = Answer::success(200, object);
                    }
                }
            }
            Fault::PagePastEndNotFound => {
                if list && a.ok() && page > 1 && is_empty_page(&a) {
                    a = Answer::failure(404, 10404, "page not found");
                }
            }
        }
        a
    }

    fn remember(&self, a: &Answer) {
        let Some(mut v) = a.json() else { return };
        let mut objects = self.objects.lock().unwrap();
        each_result_object(&mut v, |o| {
            if let Some(id) = o.get("id").and_then(Value::as_str)
                && o.contains_key("csr")
            {
                objects.insert(id.to_string(), Value::Object(o.clone()));
            }
        });
    }
}

/// A bare object under the given id. It never depends on what the run created before, so a
/// trial judges the same answer whichever trials ran first (in a whole run or in a shard).
fn made_up_object(id: &str) -> Value {
    json!({
        "id": id,
        "country": "PT", "state": "Lisboa", "locality": "Lisboa",
        "organization": "made up", "common_name": "made-up.csr-conformance.net",
        "sans": ["made-up.csr-conformance.net"], "key_type": "p256v1",
        "created_at": "2025-01-01T00:00:00Z"
    })
}

/// A plausible UUID for an object that was never created.
fn made_up_id(seed: &[u8]) -> String {
    let h = seed
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        })
        .to_le_bytes();
    let hex: String = h
        .iter()
        .chain(h.iter())
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn is_empty_page(a: &Answer) -> bool {
    a.json()
        .and_then(|v| v["result"].as_array().map(Vec::is_empty))
        .unwrap_or(false)
}

/// Calls `f` on `/result` when it is an object, or on each object of `/result` when it is an
/// array: the CSR objects of create, get and list answers (and the `{id}` of a delete).
fn each_result_object(v: &mut Value, mut f: impl FnMut(&mut Map<String, Value>)) {
    match v.get_mut("result") {
        Some(Value::Object(o)) => f(o),
        Some(Value::Array(items)) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(f),
        _ => {}
    }
}

/// Edits the CSR objects of a successful answer of the Custom CSR API.
fn edit_csrs(a: &mut Answer, api: bool, mut f: impl FnMut(&mut Map<String, Value>)) {
    if a.ok() && api {
        a.edit(|v| {
            each_result_object(v, |o| {
                if o.contains_key("csr") {
                    f(o)
                }
            })
        });
    }
}

/// A valid P-256 CSR for a name no fixture uses; made once, it is the same in every answer.
fn foreign_csr() -> String {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let mut params =
            rcgen::CertificateParams::new(vec!["someone-else.csr-conformance.net".into()])
                .expect("params");
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "someone-else.csr-conformance.net",
        );
        let key = rcgen::KeyPair::generate().expect("P-256 key");
        params
            .serialize_request(&key)
            .and_then(|csr| csr.pem())
            .expect("foreign CSR")
    })
    .clone()
}

/// The same PEM with the last DER byte (the end of the signature) flipped: still a well-formed
/// CSR, but one whose signature no longer verifies.
fn flip_last_der_byte(pem: &str) -> Option<String> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect();
    let mut der = base64_decode(&b64)?;
    *der.last_mut()? ^= 0x01;
    let encoded = base64_encode(&der);
    let mut out = String::from("-----BEGIN CERTIFICATE REQUEST-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).ok()?);
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE REQUEST-----\n");
    Some(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(B64[(v >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|b| *b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
