//! One generated case and the loop that runs them: what a case needs to send and judge
//! ([`Ctx`]), what it found ([`CaseResult`]), and a proptest `TestRunner` driven by hand with
//! the run's seed that shrinks the first failure. Never chooses a generator (see `driver`).

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::time::Instant;

use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use time::OffsetDateTime;

use crate::model::{Credentials, Exchange, Finding, HeaderValue, Request, Scope, Verdict};
use crate::schemas::Schemas;
use crate::session::{ScopeHold, Session};

use super::declare::{Check, Property};
use super::properties;

/// Reports quote the original input up to this many characters (a body with 150 long SANs is
/// 40 kB); the minimal input, which reproduces the failure, is always quoted whole.
const MAX_INPUT_CHARS: usize = 3000;

/// What a case needs to send and judge.
pub struct Ctx<'a> {
    pub session: &'a Session,
    pub scope: Scope,
    /// The index of `scope` in the session's scopes, for [`Ctx::hold`].
    pub scope_idx: usize,
    pub foreign: Scope,
    pub account: bool,
    pub property: &'a Property,
    /// The configured credentials' headers (symbolic: secrets stay out of reports).
    pub headers: Vec<(String, HeaderValue)>,
    pub read_only: bool,
    /// When the run started, for `created_at`.
    pub run_started: OffsetDateTime,
    pub schemas: Option<&'a Schemas>,
    pub creds: Credentials,
}

impl Ctx<'_> {
    pub fn checks(&self, c: Check) -> bool {
        self.property.checks(c)
    }

    /// Holds the scope for one case (or a setup or teardown), for the generator's use of it
    /// (see [`Generator::scope_use`]). Held per case,
    /// not per trial, so other trials' cases run between this trial's; every write happens
    /// under a hold, and what a case creates it deletes before letting go (setups excepted,
    /// whose CSRs stay put until their teardown).
    pub fn hold(&self) -> ScopeHold<'_> {
        self.session
            .hold_scope(self.scope_idx, self.property.generator.scope_use())
    }

    pub fn collection(&self, scope: &Scope) -> String {
        format!("{}/custom_csrs", scope.prefix())
    }

    /// A request to `path` with the configured credentials.
    pub fn request(&self, method: &str, path: String) -> Request {
        let mut r = Request::new(method, path);
        r.headers = self.headers.clone();
        r
    }

    /// The window `created_at` of a CSR made now must fall in.
    pub fn created_window(&self) -> (OffsetDateTime, OffsetDateTime) {
        let skew = time::Duration::seconds(i64::from(self.property.clock_skew_secs));
        (self.run_started - skew, OffsetDateTime::now_utc() + skew)
    }
}

/// What holds for the answer to any request, whichever route the server finds for it: no
/// 5xx, and a valid envelope.
pub const ANY_ROUTE: &[Check] = &[Check::No5xx, Check::Envelope];

/// What one generated case sent and found.
#[derive(Debug, Default, Clone)]
pub struct CaseResult {
    pub exchanges: Vec<Exchange>,
    pub findings: Vec<Finding>,
    /// The case could not be judged (transport trouble).
    pub error: Option<String>,
}

impl CaseResult {
    /// Sends `request`, records the exchange, and judges it by the universal properties.
    pub fn send(&mut self, ctx: &Ctx, request: &Request) -> Option<Exchange> {
        self.send_judged_by(ctx, request, &ctx.property.checks)
    }

    /// Sends a request that may reach any route (see [`ANY_ROUTE`]): its answer is judged
    /// only by what holds for every route.
    pub fn send_to_any_route(&mut self, ctx: &Ctx, request: &Request) -> Option<Exchange> {
        let checks: Vec<Check> = ctx
            .property
            .checks
            .iter()
            .copied()
            .filter(|c| ANY_ROUTE.contains(c))
            .collect();
        self.send_judged_by(ctx, request, &checks)
    }

    fn send_judged_by(
        &mut self,
        ctx: &Ctx,
        request: &Request,
        checks: &[Check],
    ) -> Option<Exchange> {
        match ctx.session.send_generated(request) {
            Ok(ex) => {
                let found = properties::universal(&ex, checks, ctx.schemas, &ctx.creds);
                self.add(&ex, found);
                self.exchanges.push(ex.clone());
                Some(ex)
            }
            Err(e) => {
                self.error = Some(e.to_string());
                None
            }
        }
    }

    /// Sends requests together; records and judges them in request order.
    pub fn send_together(&mut self, ctx: &Ctx, requests: &[Request]) -> Option<Vec<Exchange>> {
        match ctx.session.send_generated_together(requests) {
            Ok(all) => {
                for ex in &all {
                    let found =
                        properties::universal(ex, &ctx.property.checks, ctx.schemas, &ctx.creds);
                    self.add(ex, found);
                    self.exchanges.push(ex.clone());
                }
                Some(all)
            }
            Err(e) => {
                self.error = Some(e.to_string());
                None
            }
        }
    }

    /// Records findings about `ex`, each naming the request it answers.
    pub fn add(&mut self, ex: &Exchange, findings: impl IntoIterator<Item = Finding>) {
        for mut f in findings {
            f.message = format!("{} (answer to {})", f.message, ex.request.line());
            self.findings.push(f);
        }
    }

    /// Records a finding that is about the state, not one answer.
    pub fn note(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

/// The seed of one trial: the run's seed mixed with the trial's name (FNV-1a), so that a
/// trial's inputs do not depend on which other trials run or in which order.
pub fn trial_seed(run_seed: u64, trial: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run_seed.to_le_bytes().iter().chain(trial.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What running a property's cases gave.
pub struct Ran {
    pub verdict: Verdict,
    pub exchanges: Vec<Exchange>,
    pub notes: Vec<(String, String)>,
}

fn quote(text: String) -> String {
    if text.chars().count() > MAX_INPUT_CHARS {
        let cut: String = text.chars().take(MAX_INPUT_CHARS).collect();
        format!("{cut}… ({} characters in all)", text.chars().count())
    } else {
        text
    }
}

/// Runs the `fixed` inputs (the deterministic coverage of the documented contract), then
/// `cases` cases of `strategy` through `case`, shrinking the first failure within the
/// property's bounds.
pub fn run_cases<T: Clone + Debug>(
    ctx: &Ctx,
    trial: &str,
    cases: u32,
    fixed: Vec<T>,
    strategy: BoxedStrategy<T>,
    case: impl Fn(&Ctx, &T) -> CaseResult,
) -> Ran {
    let n_fixed = fixed.len();
    for (i, input) in fixed.into_iter().enumerate() {
        let r = {
            let _hold = ctx.hold();
            case(ctx, &input)
        };
        if let Some(e) = r.error {
            return Ran {
                verdict: Verdict::Error(e),
                exchanges: r.exchanges,
                notes: Vec::new(),
            };
        }
        if !r.findings.is_empty() {
            let text = format!("{input:?}");
            return Ran {
                verdict: Verdict::Failure(r.findings),
                exchanges: r.exchanges,
                notes: vec![
                    // Quoted whole: it is what reproduces the failure.
                    ("minimal input".into(), text.clone()),
                    ("original input".into(), quote(text)),
                    (
                        "cases".into(),
                        format!(
                            "failed at fixed case {} of {n_fixed} (the deterministic coverage of the contract)",
                            i + 1
                        ),
                    ),
                ],
            };
        }
    }
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(trial_seed(ctx.session.settings.seed, trial)),
        failure_persistence: None,
        max_shrink_iters: ctx.property.shrink_iters,
        max_shrink_time: ctx.property.shrink_secs.saturating_mul(1000),
        // Each rejected case would cost requests too; generators never reject.
        max_global_rejects: 0,
        ..Config::default()
    });
    let first: RefCell<Option<(T, CaseResult)>> = RefCell::new(None);
    let last: RefCell<Option<(T, CaseResult)>> = RefCell::new(None);
    let broken: RefCell<Option<String>> = RefCell::new(None);
    let calls = Cell::new(0u32);
    let calls_at_first_failure = Cell::new(0u32);
    let started = Instant::now();
    let result = runner.run(&strategy, |input| {
        calls.set(calls.get() + 1);
        // After transport trouble nothing is judged: no shrinking on a dead target.
        if broken.borrow().is_some() {
            return Ok(());
        }
        let r = {
            let _hold = ctx.hold();
            case(ctx, &input)
        };
        if let Some(e) = &r.error {
            *broken.borrow_mut() = Some(e.clone());
        } else if r.findings.is_empty() {
            return Ok(());
        }
        let summary = r
            .findings
            .first()
            .map_or_else(|| r.error.clone().unwrap_or_default(), |f| f.rule.clone());
        if first.borrow().is_none() {
            *first.borrow_mut() = Some((input.clone(), r.clone()));
            calls_at_first_failure.set(calls.get());
        }
        *last.borrow_mut() = Some((input, r));
        Err(TestCaseError::fail(summary))
    });
    let mut notes = Vec::new();
    match result {
        Ok(()) => {
            notes.push((
                "cases".into(),
                if n_fixed > 0 {
                    format!("{n_fixed} fixed and {} generated passed", calls.get())
                } else {
                    format!("{} passed", calls.get())
                },
            ));
            Ran {
                verdict: Verdict::Pass,
                exchanges: Vec::new(),
                notes,
            }
        }
        Err(TestError::Abort(reason)) => Ran {
            verdict: Verdict::Error(format!("generation stopped: {reason}")),
            exchanges: Vec::new(),
            notes,
        },
        Err(TestError::Fail(_, minimal)) => {
            if let Some(e) = broken.borrow().clone() {
                let exchanges = last
                    .borrow()
                    .as_ref()
                    .map(|(_, r)| r.exchanges.clone())
                    .unwrap_or_default();
                return Ran {
                    verdict: Verdict::Error(e),
                    exchanges,
                    notes,
                };
            }
            let (original, original_result) = first.borrow().clone().expect("a failure");
            // The minimal input is the last one that failed; fall back to the original.
            let (minimal_result, minimal_text) = match last.borrow().as_ref() {
                Some((input, r)) if format!("{input:?}") == format!("{minimal:?}") => {
                    (r.clone(), format!("{input:?}"))
                }
                _ => (original_result.clone(), format!("{original:?}")),
            };
            let shrink_calls = calls.get() - calls_at_first_failure.get();
            notes.push(("minimal input".into(), minimal_text));
            notes.push(("original input".into(), quote(format!("{original:?}"))));
            notes.push((
                "cases".into(),
                format!(
                    "failed at case {} of {cases}; shrunk in {shrink_calls} re-runs ({:.1} s; limits {} re-runs, {} s)",
                    calls_at_first_failure.get(),
                    started.elapsed().as_secs_f64(),
                    ctx.property.shrink_iters,
                    ctx.property.shrink_secs
                ),
            ));
            Ran {
                verdict: Verdict::Failure(minimal_result.findings),
                exchanges: minimal_result.exchanges,
                notes,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_seeds_depend_on_run_seed_and_name_only() {
        assert_eq!(trial_seed(1, "a"), trial_seed(1, "a"));
        assert_ne!(trial_seed(1, "a"), trial_seed(2, "a"));
        assert_ne!(trial_seed(1, "a"), trial_seed(1, "b"));
    }
}
