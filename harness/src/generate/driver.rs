//! Runs one declared property in one scope as a trial: picks the generator's strategy and case
//! function, runs them through [`super::case::run_cases`] (each case sent through the
//! session's one executor), and turns what ran into an [`Outcome`] the reporters know.

use std::time::Instant;

use time::OffsetDateTime;

use crate::cases::AuthMode;
use crate::model::{Outcome, Scope, Verdict};
use crate::session::{Session, auth_headers, foreign};

use proptest::strategy::BoxedStrategy;

use super::case::{CaseResult, Ctx, Ran, run_cases};
use super::declare::{Generator, Property};
use super::shrink::Shrink;
use crate::budget::guard;

/// What a stateless generator's cases are kept to: the trial, how many random cases, and under
/// `--budget` what its fixed cases (in all) and each random case may send.
struct Allowance<'a> {
    trial: &'a str,
    cases: u32,
    fixed_estimate: u64,
    per_case: u64,
}

/// A stateless generator's run: its `fixed` inputs, then its random ones, each case kept to the
/// trial's allowance under `--budget`.
fn fixed_then_random<T: Shrink>(
    ctx: &Ctx,
    a: &Allowance,
    fixed: Vec<T>,
    strategy: BoxedStrategy<T>,
    case: fn(&Ctx, &T) -> CaseResult,
) -> Ran {
    let n = fixed.len();
    let per_fixed = a.fixed_estimate.div_ceil(n.max(1) as u64);
    let guarded = guard(a.trial, (n, per_fixed), a.per_case, case);
    run_cases(ctx, a.trial, a.cases, fixed, strategy, guarded)
}

/// `inputs` when the deterministic cases run here, else none.
fn given<T>(run: bool, inputs: Vec<T>) -> Vec<T> {
    if run { inputs } else { Vec::new() }
}

/// Runs `property` in scope `scope_idx` and says how it went.
pub fn run_property(
    session: &Session,
    scope_idx: usize,
    property: &Property,
    trial: &str,
    run_started: OffsetDateTime,
) -> Outcome {
    let started = Instant::now();
    let outcome = |verdict, exchanges, notes| Outcome {
        name: trial.to_string(),
        suite: "property".into(),
        verdict,
        exchanges,
        duration: started.elapsed(),
        seed: Some(session.settings.seed),
        notes,
        retries: Vec::new(),
        waits: Vec::new(),
    };
    let read_only = session.settings.read_only;
    if read_only && property.generator.always_writes() {
        return outcome(
            Verdict::Skipped(format!(
                "generator {} creates CSRs: skipped with --read-only",
                property.generator.name()
            )),
            Vec::new(),
            Vec::new(),
        );
    }
    let live = match session.live() {
        Ok(l) => l,
        Err(e) => return outcome(Verdict::Error(e), Vec::new(), Vec::new()),
    };
    let creds = live.executor.credentials().clone();
    let headers = match auth_headers(AuthMode::Configured, &creds) {
        Ok(h) => h,
        Err(e) => return outcome(Verdict::Skipped(e), Vec::new(), Vec::new()),
    };
    let scope = session.settings.scopes[scope_idx].clone();
    let ctx = Ctx {
        session,
        foreign: foreign(&scope),
        account: matches!(scope, Scope::Account(_)),
        scope,
        scope_idx,
        property,
        headers,
        read_only,
        run_started,
        schemas: session.schemas.as_ref().ok(),
        creds,
    };
    let cases = crate::budget::cases(trial, property.runner_cases(session.settings.cases));
    // The deterministic coverage first (in one scope only under --budget), then the random
    // cases, each kept to the trial's allowance under --budget.
    let fixed = crate::budget::runs_fixed(scope_idx);
    let budget = crate::budget::plan().is_some();
    let per_case = crate::budget::case_cost(property);
    let account = ctx.account;
    let estimate = super::coverage::fixed_cost(property, account, read_only);
    let each = |n: usize| estimate.div_ceil(n.max(1) as u64);
    let allowance = Allowance {
        trial,
        cases,
        fixed_estimate: estimate,
        per_case,
    };
    let ran = match property.generator {
        Generator::Sequences => {
            let fixed = if fixed && property.volume == 0 {
                vec![super::coverage::sequence()]
            } else {
                Vec::new()
            };
            let n = fixed.len();
            super::stateful::run(&ctx, trial, cases, (fixed, each(n)), per_case)
        }
        Generator::CreateValid => fixed_then_random(
            &ctx,
            &allowance,
            given(fixed, super::coverage::valid_creates(account)),
            super::bodies::valid(account),
            super::stateless::valid_create,
        ),
        Generator::CreateInvalid => fixed_then_random(
            &ctx,
            &allowance,
            given(fixed, super::coverage::invalid_creates(account)),
            super::bodies::invalid(account),
            super::stateless::invalid_create,
        ),
        // They verify no rule: left out under a budget.
        Generator::CreateUnspecified => fixed_then_random(
            &ctx,
            &allowance,
            given(
                fixed && !budget,
                super::coverage::unspecified_creates(account),
            ),
            super::bodies::unspecified(account),
            super::stateless::unspecified_create,
        ),
        Generator::Ids => fixed_then_random(
            &ctx,
            &allowance,
            given(fixed, super::coverage::ids(read_only)),
            super::ids::inputs(read_only),
            super::stateless::id_case,
        ),
        Generator::ListParams => super::stateless::list_property(&ctx, trial, cases, fixed),
        Generator::Auth => fixed_then_random(
            &ctx,
            &allowance,
            given(fixed, super::auth::fixed(read_only, &ctx.creds)),
            super::auth::inputs(read_only),
            super::stateless::auth_case,
        ),
    };
    let mut notes = ran.notes;
    if let Some(doc) = &property.doc {
        notes.insert(0, ("property".into(), doc.clone()));
    }
    if read_only && !property.generator.always_writes() {
        notes.push((
            "read-only".into(),
            "only reads were generated; writes are skipped with --read-only".into(),
        ));
    }
    outcome(ran.verdict, ran.exchanges, notes)
}
