//! A run's shared state: the target, the loaded cases, the one executor, the record of every
//! case's exchanges (each case runs once, whichever trial asks first), and the CSRs to clean up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::cases::{AuthMode, BodyTemplate, Builtin, Case, CaseBody, Step};
use crate::checks::{self, Operation, expect};
use crate::executor::{Executor, ExecutorConfig, TransportError};
pub use crate::holds::{ScopeHold, ScopeLock, Use};
use crate::limits::{CLEANUP_BUDGET, Limits};
use crate::model::{Body, Credentials, Exchange, Finding, HeaderValue, Request, Scope, SecretRef};
use crate::read_only;
use crate::schemas::Schemas;
use crate::template;

/// Where requests go and with what.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// Start the embedded emulator in-process.
    Embedded,
    Remote {
        base_url: String,
        credentials: Credentials,
    },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub target: TargetSpec,
    pub scopes: Vec<Scope>,
    pub read_only: bool,
    pub strict: bool,
    pub timeout: Duration,
    /// The run's one seed: every generated trial derives its inputs from it.
    pub seed: u64,
    /// `--cases N`: generated cases per property, instead of what the property file says.
    pub cases: Option<u32>,
}

/// What running a case produced.
#[derive(Debug, Default)]
pub struct CaseRun {
    pub exchanges: Vec<Exchange>,
    pub findings: Vec<Finding>,
    pub error: Option<String>,
    pub skipped: Option<String>,
    pub vars: HashMap<String, Value>,
    /// Every wait for a 429's Retry-After, one line each.
    pub waits: Vec<String>,
    /// The last answer could not be judged at all (a redirect, a success that is not JSON):
    /// `error` says why, for every check family.
    pub unjudgeable: bool,
}

/// The connection to a target, made on first use so that `--list` touches nothing.
pub struct Live {
    pub rt: Arc<Runtime>,
    pub executor: Arc<Executor>,
    // Held so the embedded emulator lives as long as the run.
    _emulator: Option<csr_emulator::Emulator>,
}

pub struct Session {
    pub settings: Settings,
    pub cases: Vec<Case>,
    pub schemas: Result<Schemas, String>,
    live: OnceLock<Result<Live, String>>,
    runs: Vec<Vec<OnceLock<Arc<CaseRun>>>>,
    listings: Vec<OnceLock<Result<Vec<Value>, String>>>,
    created: Arc<Mutex<Vec<(Scope, String)>>>,
    run_id: String,
    /// Per scope: who may send to it at once (see [`crate::holds`]).
    scope_locks: Vec<ScopeLock>,
    generated: AtomicUsize,
    limits: Arc<Limits>,
}

/// Ids of the scopes the embedded emulator is exercised under.
pub const EMBEDDED_ACCOUNT: &str = "6c0a5b9e2f1d4c3a8b7e6d5c4b3a2910";
pub const EMBEDDED_ZONE: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// CSRs each scope of the embedded emulator holds before the run touches it.
pub const EMBEDDED_PRELOAD: usize = 4;

/// Distinct keys of each type the embedded emulator makes before it signs new CSRs with those
/// in turn. No answer shows a key, and at `--cases 10000` key generation was most of the run's
/// CPU.
pub const EMBEDDED_KEYS: usize = 4;

/// A bearer token that is well formed but never valid.
const WRONG_TOKEN: &str = "csrConformanceWrongToken0000000000000000";
/// A global API key that is well formed (37 hex digits) but never valid.
const WRONG_KEY: &str = "0000000000000000000000000000000c5c0f0";
const STAND_IN_EMAIL: &str = "conformance@csr-conformance.invalid";

impl Session {
    pub fn new(settings: Settings, cases: Vec<Case>, schemas: Result<Schemas, String>) -> Session {
        let runs = settings
            .scopes
            .iter()
            .map(|_| cases.iter().map(|_| OnceLock::new()).collect())
            .collect();
        let listings = settings.scopes.iter().map(|_| OnceLock::new()).collect();
        let scope_locks = settings.scopes.iter().map(|_| ScopeLock::new()).collect();
        Session {
            settings,
            cases,
            schemas,
            live: OnceLock::new(),
            runs,
            listings,
            created: Arc::new(Mutex::new(Vec::new())),
            run_id: uuid::Uuid::new_v4().simple().to_string()[..16].to_string(),
            scope_locks,
            generated: AtomicUsize::new(0),
            limits: Arc::new(Limits::unbounded()),
        }
    }

    /// Holds scope `scope_idx` for `use_` until the hold is dropped, once no hold that use
    /// cannot go beside is had or asked for before it.
    pub fn hold_scope(&self, scope_idx: usize, use_: Use) -> ScopeHold<'_> {
        self.scope_locks[scope_idx].hold(use_)
    }

    /// The holds a hand-written case needs: the list walk pages through the whole scope, and a
    /// concurrent create or delete would shift its pages under it (an item seen twice or not at
    /// all), so it runs alone. Every other case may list the scope and judge what it sees. A
    /// case that reads the sibling scope also holds that one, as a lister, so that it never
    /// sees what a generated case leaves there for a moment (an unspecified create's
    /// lower-case country). Holds are taken in scope order, so no two cases can each
    /// wait for the other's.
    pub fn hold_scope_for_case(&self, scope_idx: usize, case_idx: usize) -> Vec<ScopeHold<'_>> {
        let case = &self.cases[case_idx];
        let walks_the_list = matches!(case.body, CaseBody::Builtin(Builtin::ListPagination));
        let reads_the_sibling = match &case.body {
            CaseBody::Steps(steps) => steps.iter().any(|s| s.path.contains("${sibling_scope}")),
            CaseBody::Builtin(_) => false,
        };
        let sibling = self.sibling(scope_idx).filter(|_| reads_the_sibling);
        (0..self.scope_locks.len())
            .filter(|i| *i == scope_idx || Some(*i) == sibling)
            .map(|i| {
                let alone = i == scope_idx && walks_the_list;
                self.hold_scope(i, if alone { Use::Alone } else { Use::Lists })
            })
            .collect()
    }

    /// The scope `${sibling_scope}` means in scope `scope_idx`: the first of the other kind.
    fn sibling(&self, scope_idx: usize) -> Option<usize> {
        let scopes = &self.settings.scopes;
        scopes
            .iter()
            .position(|s| s.segment() != scopes[scope_idx].segment())
    }

    /// Requests sent so far, and how many of them generated trials sent.
    pub fn requests_sent(&self) -> (usize, usize) {
        let total = self
            .live_if_started()
            .map_or(0, |l| l.executor.requests_sent());
        (total, self.generated.load(Ordering::Relaxed))
    }

    /// Sends a generated request and remembers what it created, for cleanup.
    pub fn send_generated(&self, request: &Request) -> Result<Exchange, TransportError> {
        let live = self
            .live()
            .map_err(|e| TransportError::Other(request.line(), e))?;
        self.generated.fetch_add(1, Ordering::Relaxed);
        let ex = live.rt.block_on(live.executor.send(request))?;
        self.track_created(&ex);
        judgeable(ex)
    }

    /// Sends generated requests all at once (a concurrency burst); answers in request order.
    pub fn send_generated_together(
        &self,
        requests: &[Request],
    ) -> Result<Vec<Exchange>, TransportError> {
        let live = self
            .live()
            .map_err(|e| TransportError::Other("a burst".into(), e))?;
        self.generated.fetch_add(requests.len(), Ordering::Relaxed);
        let results = live.rt.block_on(async {
            let handles: Vec<_> = requests
                .iter()
                .cloned()
                .map(|r| {
                    let executor = live.executor.clone();
                    tokio::spawn(async move { executor.send(&r).await })
                })
                .collect();
            let mut out = Vec::new();
            for (h, r) in handles.into_iter().zip(requests) {
                out.push(
                    h.await
                        .unwrap_or_else(|e| Err(TransportError::Other(r.line(), e.to_string()))),
                );
            }
            out
        });
        let mut exchanges = Vec::new();
        for r in results {
            let ex = r?;
            self.track_created(&ex);
            exchanges.push(judgeable(ex)?);
        }
        Ok(exchanges)
    }

    /// The same session under the run's limits (in flight, pace, breaker, stop).
    pub fn with_limits(mut self, limits: Arc<Limits>) -> Session {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Arc<Limits> {
        &self.limits
    }

    /// The target connection, started on first call.
    pub fn live(&self) -> Result<&Live, String> {
        self.live
            .get_or_init(|| self.connect())
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The target connection if a trial has made it.
    pub fn live_if_started(&self) -> Option<&Live> {
        self.live.get().and_then(|l| l.as_ref().ok())
    }

    /// The base URL, once known (for reports).
    pub fn base_url(&self) -> Option<String> {
        match &self.settings.target {
            TargetSpec::Remote { base_url, .. } => Some(base_url.clone()),
            TargetSpec::Embedded => self
                .live_if_started()
                .map(|l| l.executor.base_url().to_string()),
        }
    }

    /// Every secret value in play, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        match self.live_if_started() {
            Some(l) => l
                .executor
                .credentials()
                .secrets()
                .into_iter()
                .map(String::from)
                .collect(),
            None => match &self.settings.target {
                TargetSpec::Remote { credentials, .. } => credentials
                    .secrets()
                    .into_iter()
                    .map(String::from)
                    .collect(),
                TargetSpec::Embedded => Vec::new(),
            },
        }
    }

    fn connect(&self) -> Result<Live, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let (base_url, credentials, emulator) = match &self.settings.target {
            TargetSpec::Remote {
                base_url,
                credentials,
            } => (base_url.clone(), credentials.clone(), None),
            TargetSpec::Embedded => {
                // Scopes start with CSRs of their own, as real accounts do, so that reads
                // (and --read-only runs) have something the harness did not write.
                let config = csr_emulator::Config {
                    preload: EMBEDDED_PRELOAD,
                    reuse_keys: EMBEDDED_KEYS,
                    ..csr_emulator::Config::default()
                };
                // On the client's runtime: one runtime, and an answer wakes no other threads.
                let emulator = csr_emulator::Emulator::start_in(rt.handle(), config)
                    .map_err(|e| format!("cannot start the embedded emulator: {e}"))?;
                let c = emulator.config();
                let credentials = Credentials {
                    token: Some(c.token.clone()),
                    email: Some(c.email.clone()),
                    api_key: Some(c.api_key.clone()),
                };
                (emulator.base_url(), credentials, Some(emulator))
            }
        };
        let executor = Arc::new(
            Executor::new(ExecutorConfig {
                base_url,
                credentials: credentials.clone(),
                timeout: self.settings.timeout,
                retries_on_429: 3,
            })?
            .with_limits(self.limits.clone()),
        );
        // Ctrl-C stops the run: what is in flight ends at once, the unfinished trials are
        // reported as errors, and the cleanup and the report follow as usual. A second
        // Ctrl-C gives up on all that.
        let limits = self.limits.clone();
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("csr-conformance: interrupted; cleaning up and writing the report (Ctrl-C again to quit now)");
                limits.stop.trip(crate::limits::INTERRUPTED);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        Ok(Live {
            rt: Arc::new(rt),
            executor,
            _emulator: emulator,
        })
    }

    /// The result of case `case` in scope `scope` if it has run (nothing is run for it).
    pub fn finished(&self, scope: usize, case: usize) -> Option<Arc<CaseRun>> {
        self.runs[scope][case].get().cloned()
    }

    /// The token this run puts in the names it makes (`${run_id}`).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The result of running case `case` in scope `scope`, running it if nobody has yet.
    pub fn run(&self, scope: usize, case: usize) -> Arc<CaseRun> {
        self.runs[scope][case]
            .get_or_init(|| Arc::new(self.execute(scope, case)))
            .clone()
    }

    /// Runs case `case` in scope `scope` once more, for `--retries`; the first run's result
    /// stays what fixtures and other trials see.
    pub fn rerun(&self, scope: usize, case: usize) -> Arc<CaseRun> {
        Arc::new(self.execute(scope, case))
    }

    fn execute(&self, scope_idx: usize, case_idx: usize) -> CaseRun {
        let case = &self.cases[case_idx];
        let mut run = CaseRun::default();
        if self.settings.read_only {
            // Paging through what exists judges the list without writing anything.
            let reads_only = matches!(case.body, CaseBody::Builtin(Builtin::ListPagination));
            if let Some(method) = case.write_method().filter(|_| !reads_only) {
                run.skipped = Some(format!(
                    "sends {method}, which writes: skipped with --read-only"
                ));
                return run;
            }
            if let Some(reason) = read_only::guessed_expectation(case) {
                run.skipped = Some(reason);
                return run;
            }
        }
        let live = match self.live() {
            Ok(l) => l,
            Err(e) => {
                run.error = Some(e);
                return run;
            }
        };
        match &case.body {
            CaseBody::Steps(steps) => {
                for (i, step) in steps.iter().enumerate() {
                    let label = (steps.len() > 1).then(|| format!("step {}", i + 1));
                    if !self.execute_step(live, scope_idx, step, label.as_deref(), &mut run) {
                        break;
                    }
                }
                if case.fixture
                    && let Some(ex) = run.exchanges.last()
                    && let Some(result) = body_json(ex).and_then(|b| b.get("result").cloned())
                {
                    run.vars.insert("result".into(), result);
                }
            }
            CaseBody::Builtin(Builtin::ListPagination) => {
                self.list_pagination(live, scope_idx, &mut run)
            }
        }
        crate::record::replay::describe_drift(case, &mut run.findings);
        run
    }

    /// Runs one step; false when the case cannot go on.
    fn execute_step(
        &self,
        live: &Live,
        scope_idx: usize,
        step: &Step,
        label: Option<&str>,
        run: &mut CaseRun,
    ) -> bool {
        let mut stop: Option<Stop> = None;
        let request = {
            let vars = &run.vars;
            let mut resolve = |name: &str| -> Result<Value, String> {
                self.resolve(scope_idx, name, vars).map_err(|s| {
                    let text = s.text().to_string();
                    stop = Some(s);
                    text
                })
            };
            self.build_request(step, live.executor.credentials(), &mut resolve)
        };
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                match stop {
                    Some(Stop::Skip(reason)) => run.skipped = Some(reason),
                    _ if is_skip(&e) => run.skipped = Some(e),
                    _ => run.error = Some(format!("{}: {e}", step.origin)),
                }
                return false;
            }
        };
        let exchange = match live
            .rt
            .block_on(live.executor.send_noting(&request, &mut run.waits))
        {
            Ok(ex) => ex,
            Err(e) => {
                run.error = Some(e.to_string());
                return false;
            }
        };
        self.track_created(&exchange);
        if let Some(why) = unjudgeable(&exchange) {
            run.error = Some(why);
            run.unjudgeable = true;
            run.exchanges.push(exchange);
            return false;
        }

        let mut stop = None;
        let resolved = {
            let vars = &run.vars;
            let mut resolve = |name: &str| -> Result<Value, String> {
                self.resolve(scope_idx, name, vars).map_err(|s| {
                    let t = s.text().to_string();
                    stop = Some(s);
                    t
                })
            };
            resolve_expect(step, &request, self.settings.strict, &mut resolve)
        };
        let resolved = match resolved {
            Ok(r) => r,
            Err(e) => {
                match stop {
                    Some(Stop::Skip(reason)) => run.skipped = Some(reason),
                    _ => run.error = Some(format!("{}: {e}", step.origin)),
                }
                run.exchanges.push(exchange);
                return false;
            }
        };
        let mut findings = expect::check(&exchange, &resolved);
        if let Some(name) = &step.expect.schema {
            match (&self.schemas, body_json(&exchange)) {
                (Ok(s), Some(b)) => findings.extend(s.check(name, b)),
                (Ok(_), None) => {}
                (Err(e), _) => {
                    run.error = Some(format!("schemas could not be loaded: {e}"));
                }
            }
        }
        let body = body_json(&exchange);
        let mut go_on = true;
        for (var, pointer) in &step.capture {
            match body.as_ref().and_then(|b| b.pointer(pointer)) {
                Some(v) => {
                    run.vars.insert(var.clone(), v.clone());
                }
                None => {
                    findings.push(Finding::new(
                        "expect.capture",
                        pointer.clone(),
                        format!("a value to capture as {var}"),
                        "(missing)",
                        format!("later steps need {pointer:?} from this answer"),
                    ));
                    go_on = false;
                }
            }
        }
        if let Some(label) = label {
            for f in &mut findings {
                f.message = format!("{label} ({}): {}", request.line(), f.message);
            }
        }
        run.findings.extend(findings);
        run.exchanges.push(exchange);
        go_on
    }

    fn build_request(
        &self,
        step: &Step,
        creds: &Credentials,
        resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
    ) -> Result<Request, String> {
        let path = template::render_path(&step.path, resolve)?;
        let mut query = Vec::new();
        for (k, v) in &step.query {
            query.push((k.clone(), template::render(v, resolve)?));
        }
        let mut headers = Vec::new();
        for (k, v) in &step.headers {
            headers.push((
                k.clone(),
                HeaderValue::Literal(template::render(v, resolve)?),
            ));
        }
        headers.extend(auth_headers(step.auth, creds)?);
        let body = match &step.body {
            None => None,
            Some(BodyTemplate::Json(v)) => Some(Body::Json(template::render_value(v, resolve)?)),
            Some(BodyTemplate::Text { content_type, text }) => Some(Body::Raw {
                content_type: content_type.clone(),
                bytes: template::render(text, resolve)?.into_bytes(),
            }),
            Some(BodyTemplate::Bytes {
                content_type,
                bytes,
            }) => Some(Body::Raw {
                content_type: content_type.clone(),
                bytes: bytes.clone(),
            }),
        };
        Ok(Request {
            method: step.method.clone(),
            path,
            query,
            headers,
            body,
        })
    }
}

/// The headers an auth mode sends. Secrets stay symbolic; `creds` says which are configured.
pub fn auth_headers(
    mode: AuthMode,
    creds: &Credentials,
) -> Result<Vec<(String, HeaderValue)>, String> {
    let secret = |prefix: &str, secret: SecretRef| HeaderValue::Secret {
        prefix: prefix.into(),
        secret,
    };
    let lit = |v: &str| HeaderValue::Literal(v.into());
    let bearer = || {
        (
            "Authorization".to_string(),
            secret("Bearer ", SecretRef::Token),
        )
    };
    let email = || {
        (
            "X-Auth-Email".to_string(),
            if creds.email.is_some() {
                secret("", SecretRef::Email)
            } else {
                lit(STAND_IN_EMAIL)
            },
        )
    };
    Ok(match mode {
        AuthMode::Configured if creds.has_token() => vec![bearer()],
        AuthMode::Configured | AuthMode::EmailKey if creds.has_email_key() => vec![
            email(),
            ("X-Auth-Key".into(), secret("", SecretRef::ApiKey)),
        ],
        AuthMode::Configured => return Err(SKIP_NO_CREDENTIALS.into()),
        AuthMode::Token if creds.has_token() => vec![bearer()],
        AuthMode::Token => return Err(format!("{SKIP} needs CLOUDFLARE_API_TOKEN")),
        AuthMode::EmailKey => {
            return Err(format!(
                "{SKIP} needs CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY"
            ));
        }
        AuthMode::None => vec![],
        AuthMode::WrongToken => {
            vec![(
                "Authorization".into(),
                lit(&format!("Bearer {WRONG_TOKEN}")),
            )]
        }
        AuthMode::WrongKey => vec![email(), ("X-Auth-Key".into(), lit(WRONG_KEY))],
        AuthMode::EmailOnly => vec![email()],
        AuthMode::KeyOnly => vec![(
            "X-Auth-Key".into(),
            if creds.api_key.is_some() {
                secret("", SecretRef::ApiKey)
            } else {
                lit(WRONG_KEY)
            },
        )],
        AuthMode::MalformedBearer => vec![(
            "Authorization".into(),
            lit("Bearer not a well-formed token!"),
        )],
        AuthMode::MalformedEmail => vec![
            ("X-Auth-Email".into(), lit("not-an-email-address")),
            ("X-Auth-Key".into(), lit(WRONG_KEY)),
        ],
    })
}

impl Session {
    fn resolve(
        &self,
        scope_idx: usize,
        name: &str,
        vars: &HashMap<String, Value>,
    ) -> Result<Value, Stop> {
        let scope = &self.settings.scopes[scope_idx];
        if let Some(v) = vars.get(name) {
            return Ok(v.clone());
        }
        match name {
            "scope" => return Ok(json!(scope.prefix())),
            "scope_id" => return Ok(json!(scope.id())),
            "foreign_scope" => return Ok(json!(foreign(scope).prefix())),
            "sibling_scope" => {
                return self
                    .sibling(scope_idx)
                    .map(|i| json!(self.settings.scopes[i].prefix()))
                    .ok_or_else(|| Stop::Skip("needs both an account and a zone scope".into()));
            }
            "run_id" => return Ok(json!(self.run_id)),
            "random_uuid" => return Ok(json!(uuid::Uuid::new_v4().to_string())),
            _ => {}
        }
        if let Some(rest) = name.strip_prefix("fixture.") {
            let (fixture, field) = rest.split_once('.').unwrap_or((rest, ""));
            return self.fixture_value(scope_idx, fixture, field);
        }
        match template::generate(name) {
            Some(r) => r.map_err(Stop::Error),
            None => Err(Stop::Error(format!("unknown template name ${{{name}}}"))),
        }
    }

    fn fixture_value(&self, scope_idx: usize, fixture: &str, field: &str) -> Result<Value, Stop> {
        let Some(idx) = self
            .cases
            .iter()
            .position(|c| c.fixture && c.name == fixture)
        else {
            return Err(Stop::Error(format!("no fixture named {fixture:?}")));
        };
        let object = if self.settings.read_only {
            self.stand_in(scope_idx, &self.cases[idx])?
        } else {
            let scope_kind = scope_kind(&self.settings.scopes[scope_idx]);
            if !self.cases[idx].applies_to(scope_kind) {
                return Err(Stop::Skip(format!(
                    "fixture {fixture:?} does not exist in this scope"
                )));
            }
            let run = self.run(scope_idx, idx);
            if let Some(reason) = &run.skipped {
                return Err(Stop::Skip(reason.clone()));
            }
            match run.vars.get("result") {
                Some(r) if r.get("id").is_some() => r.clone(),
                _ => {
                    let why = run.error.clone().unwrap_or_else(|| {
                        run.findings
                            .first()
                            .map_or("no result".into(), |f| f.to_string())
                    });
                    return Err(Stop::Error(format!(
                        "fixture {fixture:?} could not be created: {why}"
                    )));
                }
            }
        };
        if field.is_empty() {
            return Ok(object);
        }
        match object.get(field) {
            Some(v) => Ok(v.clone()),
            // An existing CSR need not have every optional field the fixture would have set.
            None if self.settings.read_only => Err(Stop::Skip(format!(
                "--read-only: the existing CSR standing in for fixture {fixture:?} has no {field:?}"
            ))),
            None => Err(Stop::Error(format!(
                "fixture {fixture:?} has no field {field:?}"
            ))),
        }
    }

    /// In read-only mode a fixture stands for an existing CSR of the scope (see
    /// [`read_only::pick_stand_in`]).
    fn stand_in(&self, scope_idx: usize, fixture: &Case) -> Result<Value, Stop> {
        let listing = self.listings[scope_idx].get_or_init(|| {
            let live = self.live()?;
            let scope = &self.settings.scopes[scope_idx];
            let headers = auth_headers(AuthMode::Configured, live.executor.credentials())?;
            let request = Request {
                method: "GET".into(),
                path: format!("{}/custom_csrs", scope.prefix()),
                query: vec![("per_page".into(), "50".into())],
                headers,
                body: None,
            };
            let ex = live
                .rt
                .block_on(live.executor.send(&request))
                .map_err(|e| e.to_string())?;
            Ok(body_json(&ex)
                .and_then(|b| b.get("result").and_then(Value::as_array).cloned())
                .unwrap_or_default())
        });
        let items = listing.as_ref().map_err(|e| Stop::Error(e.clone()))?;
        read_only::pick_stand_in(items, fixture)
            .cloned()
            .ok_or_else(|| Stop::Skip("--read-only and the scope has no CSR to read".into()))
    }

    /// Remembers a CSR `ex` created (or forgets one it deleted), under the scope its path
    /// names, so that the end of the run, or Ctrl-C, deletes whatever is left: also what a
    /// write under a foreign scope created.
    fn track_created(&self, ex: &Exchange) {
        if !(200..300).contains(&ex.response.status) {
            return;
        }
        let Some((op, kind)) = checks::classify(&ex.request.method, &ex.request.path) else {
            return;
        };
        let Some(scope_id) = ex.request.path.trim_matches('/').split('/').nth(1) else {
            return;
        };
        let scope = match kind {
            crate::cases::ScopeKind::Account => Scope::Account(scope_id.to_string()),
            crate::cases::ScopeKind::Zone => Scope::Zone(scope_id.to_string()),
        };
        let scope = &scope;
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        match op {
            Operation::Create => {
                if let Some(id) = body_json(ex).and_then(|b| {
                    b.pointer("/result/id")
                        .and_then(Value::as_str)
                        .map(String::from)
                }) {
                    created.push((scope.clone(), id));
                }
            }
            Operation::Delete => {
                let id = ex.request.path.rsplit('/').next().unwrap_or("");
                created.retain(|(s, i)| !(s == scope && i == id));
            }
            _ => {}
        }
    }

    /// Deletes every CSR this run created and did not delete. Returns what could not be
    /// deleted, as messages.
    pub fn cleanup(&self) -> Vec<String> {
        let pending: Vec<(Scope, String)> =
            std::mem::take(&mut *self.created.lock().unwrap_or_else(|p| p.into_inner()));
        if pending.is_empty() {
            return Vec::new();
        }
        let Ok(live) = self.live() else {
            return Vec::new();
        };
        let Ok(headers) = auth_headers(AuthMode::Configured, live.executor.credentials()) else {
            return vec!["no credentials to clean up with".into()];
        };
        // Also after Ctrl-C, the deadline or the breaker, but never for longer than the budget.
        let deleting = delete_all(&live.executor, &pending, &headers);
        match live
            .rt
            .block_on(async { tokio::time::timeout(CLEANUP_BUDGET, deleting).await })
        {
            Ok(problems) => problems,
            Err(_) => vec![format!(
                "gave up after {} s; these CSRs may be left: {}",
                CLEANUP_BUDGET.as_secs(),
                pending
                    .iter()
                    .map(|(scope, id)| format!("{}/custom_csrs/{id}", scope.prefix()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        }
    }

    /// Creates a few CSRs (none under `--read-only`), pages through the whole list, and
    /// judges the pages: they end, and no CSR shows twice; each created one shows exactly once.
    fn list_pagination(&self, live: &Live, scope_idx: usize, run: &mut CaseRun) {
        let created = if self.settings.read_only { 0 } else { 6 };
        const PER_PAGE: usize = 5;
        // Pages walked without an empty one before the list counts as endless: 200, or as many
        // as the server says it has (plus the empty one), up to a hard cap.
        const MAX_PAGES: usize = 200;
        const HARD_MAX_PAGES: usize = 2_500;
        let scope = self.settings.scopes[scope_idx].clone();
        let headers = match auth_headers(AuthMode::Configured, live.executor.credentials()) {
            Ok(h) => h,
            Err(e) => {
                run.skipped = Some(e);
                return;
            }
        };
        let send = |request: Request, run: &mut CaseRun| -> Option<Exchange> {
            match live
                .rt
                .block_on(live.executor.send_noting(&request, &mut run.waits))
            {
                Ok(ex) => {
                    self.track_created(&ex);
                    run.exchanges.push(ex.clone());
                    if let Some(why) = unjudgeable(&ex) {
                        run.error = Some(why);
                        run.unjudgeable = true;
                        return None;
                    }
                    Some(ex)
                }
                Err(e) => {
                    run.error = Some(e.to_string());
                    None
                }
            }
        };
        let mut ids = Vec::new();
        for i in 0..created {
            let name = format!("page-{i}-{}.csr-conformance.net", self.run_id);
            let mut request = Request::new("POST", format!("{}/custom_csrs", scope.prefix()));
            request.headers = headers.clone();
            request.body = Some(Body::Json(json!({
                    "country": "PT", "state": "Lisboa", "locality": "Lisboa",
                    "organization": "csr-conformance", "common_name": name,
                    "sans": [name], "key_type": "p256v1",
            })));
            let Some(ex) = send(request, run) else { return };
            match body_json(&ex).and_then(|b| {
                b.pointer("/result/id")
                    .and_then(Value::as_str)
                    .map(String::from)
            }) {
                Some(id) if ex.response.status == 201 => ids.push(id),
                _ => {
                    run.findings.push(Finding::new(
                        "list.setup",
                        "/result/id",
                        "201 with an id",
                        format!("{} {}", ex.response.status, ex.response.excerpt(80)),
                        "could not create the CSRs to page through",
                    ));
                    return;
                }
            }
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut max_total_pages = 0u64;
        let mut ended = false;
        let mut limit = MAX_PAGES;
        let mut page = 0;
        while page < limit {
            page += 1;
            let request = Request {
                method: "GET".into(),
                path: format!("{}/custom_csrs", scope.prefix()),
                query: vec![
                    ("page".into(), page.to_string()),
                    ("per_page".into(), PER_PAGE.to_string()),
                ],
                headers: headers.clone(),
                body: None,
            };
            let Some(ex) = send(request, run) else { return };
            let body = body_json(&ex);
            let items = body
                .as_ref()
                .and_then(|b| b.get("result"))
                .and_then(Value::as_array);
            let (200, Some(items)) = (ex.response.status, items) else {
                run.findings.push(Finding::new(
                    "list.page",
                    "/result",
                    "200 with a result array",
                    format!("{} {}", ex.response.status, ex.response.excerpt(80)),
                    format!("page {page} of the list could not be read"),
                ));
                return;
            };
            if items.is_empty() {
                ended = true;
                break;
            }
            for item in items {
                if let Some(id) = item.get("id").and_then(Value::as_str) {
                    *seen.entry(id.to_string()).or_default() += 1;
                }
            }
            if let Some(tp) = body
                .as_ref()
                .and_then(|b| b.pointer("/result_info/total_pages"))
                .and_then(Value::as_u64)
            {
                max_total_pages = max_total_pages.max(tp);
                let announced = usize::try_from(max_total_pages).unwrap_or(usize::MAX);
                limit = MAX_PAGES
                    .max(announced.saturating_add(2))
                    .min(HARD_MAX_PAGES);
            }
            if page as u64 > max_total_pages + 1 && page > 2 {
                run.findings.push(Finding::new(
                    "list.ends",
                    "/result",
                    "an empty page after the last one",
                    format!(
                        "page {page} still has {} items; total_pages said {max_total_pages}",
                        items.len()
                    ),
                    "the list never ends: clients that page until an empty page would loop forever",
                ));
                break;
            }
        }
        if !ended && run.findings.iter().all(|f| f.rule != "list.ends") {
            run.findings.push(Finding::new(
                "list.ends",
                "/result",
                format!("an empty page within {limit} pages"),
                "no empty page",
                "the list never ends",
            ));
        }
        for id in &ids {
            let n = seen.get(id).copied().unwrap_or(0);
            if n != 1 {
                run.findings.push(Finding::new(
                    "list.each-id-once",
                    "/result",
                    format!("{id} listed once"),
                    format!("listed {n} times"),
                    "every created CSR must appear exactly once across the pages",
                ));
            }
        }
        let mut repeated: Vec<(&String, &usize)> = seen
            .iter()
            .filter(|(id, n)| **n > 1 && !ids.contains(id))
            .collect();
        repeated.sort();
        for (id, n) in repeated {
            run.findings.push(Finding::new(
                "list.each-id-once",
                "/result",
                format!("{id} listed at most once"),
                format!("listed {n} times"),
                "a CSR that shows on two pages is seen twice by clients that page through the list",
            ));
        }
        for id in ids {
            if send(delete_request(&scope, &id, &headers), run).is_none() {
                return;
            }
        }
    }
}

fn delete_request(scope: &Scope, id: &str, headers: &[(String, HeaderValue)]) -> Request {
    let mut request = Request::new(
        "DELETE",
        format!(
            "{}/custom_csrs/{}",
            scope.prefix(),
            template::encode_segment(id)
        ),
    );
    request.headers = headers.to_vec();
    request
}

/// Deletes the given CSRs, at once within the executor's cap on requests in flight; what could
/// not be deleted comes back as messages.
async fn delete_all(
    executor: &Arc<Executor>,
    pending: &[(Scope, String)],
    headers: &[(String, HeaderValue)],
) -> Vec<String> {
    let mut deletes = tokio::task::JoinSet::new();
    for (i, (scope, id)) in pending.iter().enumerate() {
        let request = delete_request(scope, id, headers);
        let executor = executor.clone();
        deletes.spawn(async move {
            let problem = match executor.send_regardless(&request).await {
                Ok(ex) if (200..300).contains(&ex.response.status) || ex.response.status == 404 => {
                    None
                }
                Ok(ex) => Some(format!(
                    "{} answered {}",
                    request.line(),
                    ex.response.status
                )),
                Err(e) => Some(e.to_string()),
            };
            (i, problem)
        });
    }
    let mut problems: Vec<(usize, String)> = Vec::new();
    while let Some(done) = deletes.join_next().await {
        if let Ok((i, Some(p))) = done {
            problems.push((i, p));
        }
    }
    problems.sort();
    problems.into_iter().map(|(_, p)| p).collect()
}

/// Why an answer cannot be judged against the contract, if so: the API never redirects (and
/// redirects are not followed), and a success that is not JSON leaves nothing to compare.
/// A generated request's exchange, or why it cannot be judged, as for hand-written cases.
fn judgeable(ex: Exchange) -> Result<Exchange, TransportError> {
    match unjudgeable(&ex) {
        Some(why) => Err(TransportError::Unjudgeable(why)),
        None => Ok(ex),
    }
}

fn unjudgeable(ex: &Exchange) -> Option<String> {
    let r = &ex.response;
    let line = ex.request.line();
    if (300..400).contains(&r.status) {
        return Some(format!(
            "{line} answered {} (redirect to {:?}): the API never redirects, and redirects are not followed",
            r.status,
            r.header("location").unwrap_or("nowhere")
        ));
    }
    // serde_json skips over the bytes of strings it ignores, so UTF-8 is checked first.
    if (200..300).contains(&r.status)
        && (std::str::from_utf8(&r.body).is_err()
            || serde_json::from_slice::<serde::de::IgnoredAny>(&r.body).is_err())
    {
        let what = if std::str::from_utf8(&r.body).is_err() {
            "is not UTF-8"
        } else {
            "is not JSON"
        };
        return Some(format!(
            "{line} answered {} with a body that {what} ({}, {} bytes), so there is nothing to judge",
            r.status,
            r.header("content-type").unwrap_or("no content type"),
            r.body.len()
        ));
    }
    None
}

enum Stop {
    Skip(String),
    Error(String),
}

impl Stop {
    fn text(&self) -> &str {
        match self {
            Stop::Skip(s) | Stop::Error(s) => s,
        }
    }
}

/// Prefix of the texts `auth_headers` returns when a case cannot run with what is configured.
const SKIP: &str = "skipped:";
const SKIP_NO_CREDENTIALS: &str = "skipped: no credentials configured";

fn resolve_expect(
    step: &Step,
    request: &Request,
    strict: bool,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<expect::Resolved, String> {
    let e = &step.expect;
    let mut json_expect = Vec::new();
    for (pointer, v) in &e.json {
        json_expect.push((
            pointer.clone(),
            template::render_value(&crate::cases::to_json(v.clone()), resolve)?,
        ));
    }
    let mut excludes = Vec::new();
    for x in &e.excludes {
        excludes.push(template::render(x, resolve)?);
    }
    let mut holds = Vec::new();
    for x in &e.holds {
        holds.push(template::render(x, resolve)?);
    }
    let result_matches = match (&request.body, e.result_matches_body) {
        (Some(Body::Json(v)), true) => Some(v.clone()),
        (_, true) => Some(Value::Null),
        _ => None,
    };
    Ok(expect::Resolved {
        status: e.status.clone(),
        codes: e.codes.clone(),
        json: json_expect,
        absent: e.absent.clone(),
        excludes,
        result_matches,
        strict_codes: strict,
        formats: e.formats.clone().into_iter().collect(),
        holds,
    })
}

pub fn body_json(ex: &Exchange) -> Option<&Value> {
    ex.response.body_json()
}

fn scope_kind(scope: &Scope) -> crate::cases::ScopeKind {
    match scope {
        Scope::Account(_) => crate::cases::ScopeKind::Account,
        Scope::Zone(_) => crate::cases::ScopeKind::Zone,
    }
}

/// A scope of the same kind that this run was not given: nothing created here may show there.
pub fn foreign(scope: &Scope) -> Scope {
    let id = if scope.id() == "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f" {
        "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
    } else {
        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
    };
    scope.with_id(id)
}

pub(crate) fn is_skip(message: &str) -> bool {
    message.starts_with(SKIP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(scopes: Vec<Scope>) -> Session {
        let text = r#"
[[case]]
name = "own"
[[case.steps]]
method = "GET"
path = "${scope}/custom_csrs"

[[case]]
name = "sibling"
[[case.steps]]
method = "GET"
path = "${sibling_scope}/custom_csrs"
"#;
        let cases =
            crate::cases::parse_case_file(std::path::Path::new("holds.toml"), text).unwrap();
        let settings = Settings {
            target: TargetSpec::Embedded,
            scopes,
            read_only: false,
            strict: false,
            timeout: Duration::from_secs(1),
            seed: 1,
            cases: None,
        };
        Session::new(settings, cases, Err("no schemas".into()))
    }

    fn scopes() -> Vec<Scope> {
        vec![Scope::Account("a".into()), Scope::Zone("z".into())]
    }

    #[test]
    fn a_case_reading_the_sibling_scope_holds_it_too() {
        let s = session(scopes());
        assert_eq!(s.hold_scope_for_case(0, 0).len(), 1);
        assert_eq!(s.hold_scope_for_case(0, 1).len(), 2);
        assert_eq!(s.hold_scope_for_case(1, 1).len(), 2);
        // Without a sibling there is nothing more to hold.
        let one = session(vec![Scope::Zone("z".into())]);
        assert_eq!(one.hold_scope_for_case(0, 1).len(), 1);
    }

    #[test]
    fn a_sibling_hold_waits_for_a_case_that_holds_that_scope_alone() {
        let s = session(scopes());
        let alone = s.hold_scope(1, Use::Alone);
        let held = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|t| {
            let waiting = t.spawn(|| {
                let holds = s.hold_scope_for_case(0, 1);
                held.store(true, Ordering::SeqCst);
                drop(holds);
            });
            std::thread::sleep(Duration::from_millis(100));
            assert!(
                !held.load(Ordering::SeqCst),
                "read the zone while it was held alone"
            );
            drop(alone);
            waiting.join().unwrap();
        });
        assert!(held.load(Ordering::SeqCst));
    }
}
