//! One generated case and the loop that runs them: what a case needs to send and judge
//! ([`Ctx`]), what it found ([`CaseResult`]), and a proptest `TestRunner` driven by hand with
//! the run's seed, and the shrinking of the first failure within a bound of re-runs (the
//! machinery is in `shrink`, what is simplest for each input in `shrinkers`). Never chooses a
//! generator (see `driver`).

use std::cell::{Cell, RefCell};
use std::time::Instant;

use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use time::OffsetDateTime;

use crate::model::{Credentials, Exchange, Finding, HeaderValue, Request, Scope, Verdict};
use crate::schemas::Schemas;
use crate::session::{ScopeHold, Session};

use super::declare::{Check, Property};
use super::properties;
use super::shrink::{Rerun, Reruns, Shrink, Signature};

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

/// One case under a hold of the scope.
fn run_held<T>(ctx: &Ctx, case: &dyn Fn(&Ctx, &T) -> CaseResult, input: &T) -> CaseResult {
    let _hold = ctx.hold();
    case(ctx, input)
}

/// A failure being shrunk: the original, the smallest input that still fails the same way,
/// and why shrinking stopped early, if it did.
struct Shrinking<T> {
    original: (T, CaseResult),
    best: (T, CaseResult),
    signature: Signature,
    /// Re-runs spent.
    used: u32,
    /// Transport trouble during a re-run: shrinking ended there.
    broken: Option<String>,
}

impl<T: Shrink> Shrinking<T> {
    fn new(ctx: &Ctx, input: T, result: CaseResult) -> Self {
        let signature = Signature::of(&input, ctx.property.generator, &result.findings);
        Shrinking {
            original: (input.clone(), result.clone()),
            best: (input, result),
            signature,
            used: 0,
            broken: None,
        }
    }

    /// One re-run of `candidate`: kept as the best when it fails the same way.
    fn rerun(&mut self, ctx: &Ctx, case: &dyn Fn(&Ctx, &T) -> CaseResult, candidate: &T) -> Rerun {
        self.used += 1;
        let r = run_held(ctx, case, candidate);
        if let Some(e) = r.error {
            self.broken = Some(e);
            return Rerun::Stop;
        }
        if self.signature.matches(&r.findings) {
            self.best = (candidate.clone(), r);
            Rerun::Fails
        } else {
            Rerun::Passes
        }
    }

    /// Shrinks with the input kind's own shrinker: toward the named field, or field by field.
    /// False when the kind has none for this failure (`fixed`: no strategy made the input).
    fn own_shrinker(
        &mut self,
        ctx: &Ctx,
        case: &dyn Fn(&Ctx, &T) -> CaseResult,
        fixed: bool,
    ) -> bool {
        let limit = ctx.property.shrink_runs;
        let generator = ctx.property.generator;
        let original = self.original.0.clone();
        let field = self.signature.field.clone();
        let mut run = |candidate: &T| self.rerun(ctx, case, candidate);
        let mut runs = Reruns::new(limit, &mut run);
        let shrunk = match &field {
            Some(f) => original.targeted(generator, f, &mut runs),
            None => original.generic(generator, fixed, &mut runs),
        };
        shrunk.is_some()
    }

    /// How shrinking went, for the `cases` note.
    fn how(&self, ctx: &Ctx, own: bool) -> String {
        let limit = ctx.property.shrink_runs;
        let plural = if self.used == 1 { "" } else { "s" };
        let mut how = format!("shrunk in {} re-run{plural} (at most {limit})", self.used);
        match (&self.signature.field, own) {
            (Some(f), true) => how.push_str(&format!(
                ", field `{f}` first (named by {}), every other field at its simplest",
                self.signature.rule
            )),
            (_, true) => how
                .push_str(", field by field (no finding names a field), each toward its simplest"),
            (_, false) => how.push_str(", by proptest's shrinking (no finding names a field)"),
        }
        if let Some(e) = &self.broken {
            how.push_str(&format!("; stopped early: {e}"));
        }
        how
    }

    fn into_ran(self, cases_note: String) -> Ran {
        let (original, _) = self.original;
        let (minimal, minimal_result) = self.best;
        Ran {
            verdict: Verdict::Failure(minimal_result.findings),
            exchanges: minimal_result.exchanges,
            notes: vec![
                ("minimal input".into(), format!("{minimal:?}")),
                ("original input".into(), quote(format!("{original:?}"))),
                ("cases".into(), cases_note),
            ],
        }
    }
}

/// Where the proptest loop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No failure yet.
    Searching,
    /// A failure no finding pins to a field: proptest's shrinking, re-run by re-run.
    Proptest,
    /// Shrunk (or out of re-runs): whatever proptest still offers is not sent.
    Done,
}

/// Runs the `fixed` inputs (the deterministic coverage of the documented contract), then
/// `cases` cases of `strategy` through `case`, and shrinks the first failure within the
/// property's bound of re-runs (`shrink_runs`): toward the field a finding names when one does
/// (see `shrink.rs`), else by proptest's shrinking (random inputs) or the input kind's generic
/// shrinker (fixed inputs).
pub fn run_cases<T: Shrink>(
    ctx: &Ctx,
    trial: &str,
    cases: u32,
    fixed: Vec<T>,
    strategy: BoxedStrategy<T>,
    case: impl Fn(&Ctx, &T) -> CaseResult,
) -> Ran {
    let started = Instant::now();
    let n_fixed = fixed.len();
    // Every fixed case runs even after one failed, so that each documented rule it verifies is
    // recorded as held or broken (a mock author wants the whole list); the first failure is
    // the one shrunk and reported, the others are named in its note.
    let mut first: Option<(usize, T, CaseResult)> = None;
    let mut also: Vec<String> = Vec::new();
    for (i, input) in fixed.into_iter().enumerate() {
        let r = run_held(ctx, &case, &input);
        if let Some(e) = r.error {
            if first.is_some() {
                break;
            }
            return Ran {
                verdict: Verdict::Error(e),
                exchanges: r.exchanges,
                notes: Vec::new(),
            };
        }
        if r.findings.is_empty() {
            continue;
        }
        if first.is_none() {
            first = Some((i, input, r));
        } else {
            let rule = r.findings.first().map_or("", |f| f.rule.as_str());
            let what: String = format!("{input:?}").chars().take(100).collect();
            also.push(format!("{} ({rule}: {what})", i + 1));
        }
    }
    if let Some((i, input, r)) = first {
        let mut s = Shrinking::new(ctx, input, r);
        let own = s.own_shrinker(ctx, &case, true);
        let others = if also.is_empty() {
            String::new()
        } else {
            format!(
                "; {} more fixed case(s) failed too: {}",
                also.len(),
                also.join("; ")
            )
        };
        let note = format!(
            "failed at fixed case {} of {n_fixed} (the deterministic coverage of the contract); {}; {:.1} s{others}",
            i + 1,
            s.how(ctx, own),
            started.elapsed().as_secs_f64()
        );
        return s.into_ran(note);
    }
    let limit = ctx.property.shrink_runs;
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(trial_seed(ctx.session.settings.seed, trial)),
        failure_persistence: None,
        // Proptest's own count includes candidates of another class, which are not sent; the
        // re-runs are counted (and bounded) here.
        max_shrink_iters: limit.saturating_mul(4),
        max_shrink_time: 0,
        // Each rejected case would cost requests too; generators never reject.
        max_global_rejects: 0,
        ..Config::default()
    });
    let shrinking: RefCell<Option<Shrinking<T>>> = RefCell::new(None);
    let own = Cell::new(false);
    let phase = Cell::new(Phase::Searching);
    // Transport trouble before any failure: nothing is judged, nothing shrunk.
    let broken: RefCell<Option<(String, Vec<Exchange>)>> = RefCell::new(None);
    let calls = Cell::new(0u32);
    let calls_at_first_failure = Cell::new(0u32);
    let result = runner.run(&strategy, |input| {
        match phase.get() {
            Phase::Done => return Ok(()),
            Phase::Proptest => {
                let mut guard = shrinking.borrow_mut();
                let s = guard.as_mut().expect("a failure is being shrunk");
                if s.used >= limit || s.broken.is_some() {
                    phase.set(Phase::Done);
                    return Ok(());
                }
                if !s.original.0.same_class(&input) {
                    return Ok(());
                }
                return match s.rerun(ctx, &case, &input) {
                    Rerun::Fails => Err(TestCaseError::fail(s.signature.rule.clone())),
                    Rerun::Passes | Rerun::Stop => Ok(()),
                };
            }
            Phase::Searching => {}
        }
        calls.set(calls.get() + 1);
        let r = run_held(ctx, &case, &input);
        if let Some(e) = r.error {
            *broken.borrow_mut() = Some((e, r.exchanges));
            phase.set(Phase::Done);
            return Err(TestCaseError::fail("transport trouble"));
        }
        if r.findings.is_empty() {
            return Ok(());
        }
        calls_at_first_failure.set(calls.get());
        let mut s = Shrinking::new(ctx, input, r);
        let rule = s.signature.rule.clone();
        if s.own_shrinker(ctx, &case, false) {
            own.set(true);
            phase.set(Phase::Done);
        } else {
            phase.set(Phase::Proptest);
        }
        *shrinking.borrow_mut() = Some(s);
        Err(TestCaseError::fail(rule))
    });
    if let Some((e, exchanges)) = broken.into_inner() {
        return Ran {
            verdict: Verdict::Error(e),
            exchanges,
            notes: Vec::new(),
        };
    }
    match (result, shrinking.into_inner()) {
        (Err(TestError::Abort(reason)), _) => Ran {
            verdict: Verdict::Error(format!("generation stopped: {reason}")),
            exchanges: Vec::new(),
            notes: Vec::new(),
        },
        (Err(TestError::Fail(..)), Some(s)) => {
            let note = format!(
                "failed at case {} of {cases}; {}; {:.1} s",
                calls_at_first_failure.get(),
                s.how(ctx, own.get()),
                started.elapsed().as_secs_f64()
            );
            s.into_ran(note)
        }
        _ => Ran {
            verdict: Verdict::Pass,
            exchanges: Vec::new(),
            notes: vec![(
                "cases".into(),
                if n_fixed > 0 {
                    format!("{n_fixed} fixed and {} generated passed", calls.get())
                } else {
                    format!("{} passed", calls.get())
                },
            )],
        },
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
