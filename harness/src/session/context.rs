//! The run context: settings, the loaded cases and schemas, the live connection (made on first
//! use), the run's limits, who holds which scope, and the CSRs to clean up. Never runs a case
//! and never judges an answer: see `case_runs` for that.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::cases::{Builtin, Case, CaseBody};
use crate::executor::TransportError;
use crate::holds::{ScopeHold, ScopeLock, Use};
use crate::limits::Limits;
use crate::model::{Exchange, Request};
use crate::schemas::Schemas;
use crate::traffic::{self, Traffic};

use super::cleanup::Created;
use super::live::{Live, judgeable};
use super::settings::{Settings, TargetSpec};

pub struct Session {
    pub settings: Settings,
    pub cases: Vec<Case>,
    pub schemas: Result<Schemas, String>,
    live: OnceLock<Result<Live, String>>,
    created: Created,
    run_id: String,
    /// Per scope: who may send to it at once (see [`crate::holds`]).
    scope_locks: Vec<ScopeLock>,
    generated: AtomicUsize,
    limits: Arc<Limits>,
    /// The observers of every exchange (drift notices, the HAR file).
    traffic: Arc<Traffic>,
}

impl Session {
    pub fn new(settings: Settings, cases: Vec<Case>, schemas: Result<Schemas, String>) -> Session {
        let scope_locks = settings.scopes.iter().map(|_| ScopeLock::new()).collect();
        Session {
            settings,
            cases,
            schemas,
            live: OnceLock::new(),
            created: Created::default(),
            run_id: uuid::Uuid::new_v4().simple().to_string()[..16].to_string(),
            scope_locks,
            generated: AtomicUsize::new(0),
            limits: Arc::new(Limits::unbounded()),
            traffic: Arc::new(Traffic::default()),
        }
    }

    /// The run's observers of traffic: add them before the first request.
    pub fn traffic(&self) -> &Arc<Traffic> {
        &self.traffic
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
    pub fn sibling(&self, scope_idx: usize) -> Option<usize> {
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
        self.created.track(&ex);
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
        let trial = traffic::current_trial();
        let results = live.rt.block_on(async {
            let handles: Vec<_> = requests
                .iter()
                .cloned()
                .map(|r| {
                    let executor = live.executor.clone();
                    let trial = trial.clone();
                    tokio::spawn(async move { executor.send_for(&r, trial).await })
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
            self.created.track(&ex);
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
            .get_or_init(|| Live::connect(&self.settings, &self.limits, &self.traffic))
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

    /// Every secret value in play, and every near miss of one, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let all = |c: &crate::model::Credentials| {
            let mut v: Vec<String> = c.secrets().into_iter().map(String::from).collect();
            v.extend(c.near_misses());
            v
        };
        match self.live_if_started() {
            Some(l) => all(l.executor.credentials()),
            None => match &self.settings.target {
                TargetSpec::Remote { credentials, .. } => all(credentials),
                TargetSpec::Embedded => Vec::new(),
            },
        }
    }

    /// The token this run puts in the names it makes (`${run_id}`).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Remembers what `ex` created or deleted, for [`Session::cleanup`].
    pub fn track_created(&self, ex: &Exchange) {
        self.created.track(ex);
    }

    /// Deletes every CSR this run created and did not delete. Returns what could not be
    /// deleted, as messages.
    pub fn cleanup(&self) -> Vec<String> {
        self.created.delete_all(|| self.live().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scope;
    use std::time::Duration;

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
