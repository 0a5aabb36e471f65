//! `--budget N`: a run planned within N requests, for targets where every request counts (the
//! real API allows 1,200 per 5 minutes per user). The deterministic coverage of the documented
//! rules comes first, in one scope only (an account scope when there is one: it verifies
//! every rule); the generated cases share what is left, in proportion to what each property
//! would send; hand-written cases run only if what they would send still fits, and are
//! otherwise skipped with a reason naming `--budget`.
//!
//! The plan is made once, before the trials run, from the trials selected; each trial then
//! keeps to its own allowance (its requests are counted by a traffic observer), so the plan
//! does not depend on which trial runs first. Without `--budget` nothing here limits anything:
//! the observer still counts, for the closing figure of what full coverage takes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, Mutex, OnceLock};

use crate::cases::{CaseBody, ScopeKind};
use crate::generate::case::{CaseResult, Ctx};
use crate::generate::declare::{Generator, Property};
use crate::model::{Exchange, Scope};
use crate::session::Session;
use crate::traffic::Observer;

/// Requests kept back for the cleanup of what a failing case leaves behind.
const CLEANUP_MARGIN: u64 = 4;

/// The plan of a `--budget` run.
#[derive(Debug, Default)]
pub struct Plan {
    pub limit: u64,
    /// The scope whose properties run the deterministic cases.
    fixed_scope: Option<usize>,
    /// Property trial → (requests it may send, generated cases).
    trials: BTreeMap<String, (u64, u32)>,
    /// Hand-written case units that fit.
    admitted: BTreeSet<String>,
    /// What the deterministic cases are expected to take.
    pub fixed_estimate: u64,
}

static PLAN: OnceLock<Plan> = OnceLock::new();

/// Requests each trial sent, and what its deterministic cases took.
#[derive(Default)]
struct Counts {
    used: BTreeMap<String, u64>,
    fixed: BTreeMap<String, u64>,
    /// Requests no trial sent (the cleanup).
    outside: u64,
}

static COUNTS: LazyLock<Mutex<Counts>> = LazyLock::new(Mutex::default);

fn counts() -> std::sync::MutexGuard<'static, Counts> {
    COUNTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts the requests of each trial (register it before the trials run).
pub struct Counter;

impl Observer for Counter {
    fn exchange(&self, trial: Option<&str>, _ex: &Exchange) {
        let mut c = counts();
        match trial {
            Some(t) => *c.used.entry(t.to_string()).or_default() += 1,
            None => c.outside += 1,
        }
    }
}

fn used(trial: &str) -> u64 {
    counts().used.get(trial).copied().unwrap_or(0)
}

/// The plan, under `--budget`.
pub fn plan() -> Option<&'static Plan> {
    PLAN.get()
}

/// The scope the deterministic cases run in under `--budget`: the first account scope, else
/// the first scope.
fn coverage_scope(scopes: &[Scope]) -> usize {
    scopes
        .iter()
        .position(|s| matches!(s, Scope::Account(_)))
        .unwrap_or(0)
}

/// Whether the properties of scope `scope_idx` run their deterministic cases: always,
/// except under `--budget`, where only one scope does.
pub fn runs_fixed(scope_idx: usize) -> bool {
    plan().is_none_or(|p| p.fixed_scope == Some(scope_idx))
}

/// The most one generated case of `property` sends.
fn per_case(property: &Property) -> u64 {
    match property.generator {
        Generator::CreateValid => 3,
        Generator::CreateInvalid | Generator::CreateUnspecified | Generator::Auth => 2,
        Generator::Ids | Generator::ListParams => 1,
        // Every step may be a burst and a walk; the baseline and final walks, the growth and
        // the teardown.
        Generator::Sequences => {
            let p = property;
            u64::from(p.steps) * (u64::from(p.burst) + 3) + 2 * u64::from(p.volume) + 6
        }
    }
}

/// Whether a property runs in scopes of `kind`.
fn applies(property: &Property, kind: ScopeKind) -> bool {
    property.scopes.contains(&kind)
}

fn kind(scope: &Scope) -> ScopeKind {
    match scope {
        Scope::Account(_) => ScopeKind::Account,
        Scope::Zone(_) => ScopeKind::Zone,
    }
}

/// Makes the plan of a `--budget limit` run from the trials `selected` (by name).
/// `fixed_cost(property, account, read_only)` says what a property's deterministic cases send
/// in one scope.
pub fn make_plan(
    limit: u64,
    session: &Session,
    properties: &[Property],
    selected: &BTreeSet<String>,
    fixed_cost: &dyn Fn(&Property, bool, bool) -> u64,
) -> Plan {
    let scopes = &session.settings.scopes;
    let read_only = session.settings.read_only;
    let fixed_scope = coverage_scope(scopes);
    let mut plan = Plan {
        limit,
        fixed_scope: Some(fixed_scope),
        ..Plan::default()
    };
    // (trial, fixed estimate, per case, declared weight, declared cases)
    let mut generated = Vec::new();
    for (si, scope) in scopes.iter().enumerate() {
        for p in properties.iter().filter(|p| applies(p, kind(scope))) {
            let name = format!("property::{}::{}", scope.label(), p.name);
            if !selected.contains(&name) || (read_only && p.generator.always_writes()) {
                continue;
            }
            let account = matches!(scope, Scope::Account(_));
            let fixed = if si == fixed_scope {
                fixed_cost(p, account, read_only)
            } else {
                0
            };
            let cases = p.runner_cases(session.settings.cases);
            // What a case sends on average (the property's own estimate), never above the
            // most it may send.
            let average =
                (p.weight(session.settings.cases) / u64::from(cases.max(1))).clamp(1, per_case(p));
            generated.push((name, fixed, average, cases));
        }
    }
    plan.fixed_estimate = generated.iter().map(|g| g.1).sum();
    let room = limit.saturating_sub(CLEANUP_MARGIN);
    // The deterministic cases first; scaled down when even they do not fit (a case that does
    // not fit is then left out, and its rules are listed as not verified).
    let fixed: Vec<u64> = generated
        .iter()
        .map(|g| {
            if plan.fixed_estimate <= room {
                g.1
            } else {
                (u128::from(g.1) * u128::from(room) / u128::from(plan.fixed_estimate)) as u64
            }
        })
        .collect();
    let room = room.saturating_sub(fixed.iter().sum());
    let wants: Vec<u64> = generated
        .iter()
        .map(|(_, _, c, n)| c * u64::from(*n))
        .collect();
    let shares = water_fill(
        room,
        &wants,
        &generated.iter().map(|g| g.2).collect::<Vec<_>>(),
    );
    for (i, (name, _, per_case, _)) in generated.into_iter().enumerate() {
        let cases = u32::try_from(shares[i] / per_case)
            .unwrap_or(u32::MAX)
            .max(1);
        plan.trials.insert(name, (fixed[i] + shares[i], cases));
    }
    let given: u64 = shares.iter().sum();
    // Hand-written cases, in their declared order, while they fit in what is left.
    let mut left = room.saturating_sub(given);
    for scope in scopes {
        for case in session.cases.iter().filter(|c| c.applies_to(kind(scope))) {
            let unit = format!("{}::{}::{}", case.suite, scope.label(), case.name);
            let families = ["envelope", "schema", "pem"]
                .map(|f| format!("{f}::{}::{}.{}", scope.label(), case.suite, case.name));
            if !selected.contains(&unit) && !families.iter().any(|f| selected.contains(f)) {
                continue;
            }
            // Its steps, and a fixture it may make and delete.
            let cost = match &case.body {
                CaseBody::Steps(steps) => steps.len() as u64 + 2,
                CaseBody::Builtin(_) => 20,
            };
            if cost <= left {
                left -= cost;
                plan.admitted.insert(unit);
            }
        }
    }
    plan
}

/// Shares `room` among wants in proportion to them, in whole cases of `per_case` requests;
/// a want whose share would not reach one case gets nothing, and the others share again.
fn water_fill(room: u64, wants: &[u64], per_case: &[u64]) -> Vec<u64> {
    let mut shares = vec![0; wants.len()];
    let mut active: Vec<usize> = (0..wants.len()).filter(|i| wants[*i] > 0).collect();
    loop {
        let wanted: u64 = active.iter().map(|i| wants[*i]).sum();
        if wanted <= room {
            for i in &active {
                shares[*i] = wants[*i];
            }
            return shares;
        }
        let share = |i: usize| {
            let s = (u128::from(room) * u128::from(wants[i]) / u128::from(wanted)) as u64;
            s - s % per_case[i].max(1)
        };
        let before = active.len();
        active.retain(|i| share(*i) > 0);
        if active.len() == before {
            for i in &active {
                shares[*i] = share(*i);
            }
            return shares;
        }
    }
}

/// Installs the plan of this run (once).
pub fn install(plan: Plan) {
    let _ = PLAN.set(plan);
}

/// The generated cases trial `trial` runs: `declared`, unless the plan says fewer.
pub fn cases(trial: &str, declared: u32) -> u32 {
    plan()
        .and_then(|p| p.trials.get(trial))
        .map_or(declared, |(_, cases)| (*cases).min(declared))
}

/// Whether trial `trial` may still send `cost` requests.
pub fn fits(trial: &str, cost: u64) -> bool {
    match plan() {
        None => true,
        Some(p) => p
            .trials
            .get(trial)
            .is_some_and(|(allowed, _)| used(trial) + cost <= *allowed),
    }
}

/// Notes that trial `trial` finished its deterministic cases.
pub fn fixed_done(trial: &str) {
    let n = used(trial);
    counts().fixed.entry(trial.to_string()).or_insert(n);
}

/// Hand-written trials skipped because they did not fit.
static SKIPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Why hand-written case `unit` is skipped, under a budget it does not fit in (each trial of
/// the case asks once).
pub fn skips_case(unit: &str) -> Option<String> {
    let p = plan()?;
    (!p.admitted.contains(unit)).then(|| {
        SKIPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!(
            "does not fit in --budget {}: the deterministic coverage and the generated cases come first",
            p.limit
        )
    })
}

/// Wraps a property's case function: the first `n_fixed` calls are the deterministic cases,
/// each sending about `per_fixed` requests (after them, what the trial has sent so far is
/// noted as their cost), the others generated cases of at most `per_case`. Under `--budget`
/// a case runs only while that many more requests fit in the trial's allowance; otherwise it
/// passes without sending anything.
pub fn guard<'f, T>(
    trial: &'f str,
    (n_fixed, per_fixed): (usize, u64),
    per_case: u64,
    case: impl Fn(&Ctx, &T) -> CaseResult + 'f,
) -> impl Fn(&Ctx, &T) -> CaseResult + 'f {
    let calls = std::cell::Cell::new(0usize);
    move |ctx, input| {
        let i = calls.get();
        calls.set(i + 1);
        if i == n_fixed {
            fixed_done(trial);
        }
        let cost = if i < n_fixed { per_fixed } else { per_case };
        if !fits(trial, cost) {
            return CaseResult::default();
        }
        case(ctx, input)
    }
}

/// The most one generated case of `property` sends (for [`guard`]).
pub fn case_cost(property: &Property) -> u64 {
    per_case(property)
}

/// What the deterministic cases took, what the generated cases took, and the rest (hand-written
/// cases and cleanup), from the requests counted.
fn spent(total: u64) -> (u64, u64, u64) {
    let c = counts();
    let coverage_scope = PLAN.get().and_then(|p| p.fixed_scope);
    let mut fixed = 0;
    let mut generated = 0;
    for (trial, used) in &c.used {
        if !trial.starts_with("property::") {
            continue;
        }
        let f = c.fixed.get(trial).copied().unwrap_or(*used);
        // Without a plan: the figure is what the first account scope's cases took (one
        // scope verifies every rule).
        let counted = match coverage_scope {
            Some(_) => true,
            None => trial.starts_with(COVERAGE_PREFIX.get().map_or("", String::as_str)),
        };
        if counted {
            fixed += f;
        }
        generated += used - f;
    }
    (fixed, generated, total.saturating_sub(fixed + generated))
}

/// `property::<scope>::` of the scope whose deterministic cases give the closing figure.
static COVERAGE_PREFIX: OnceLock<String> = OnceLock::new();

/// Notes which scope's deterministic cases give the closing figure of a run without a budget.
pub fn note_scopes(scopes: &[Scope]) {
    if let Some(s) = scopes.get(coverage_scope(scopes)) {
        let _ = COVERAGE_PREFIX.set(format!("property::{}::", s.label()));
    }
}

/// The closing note: what full coverage of the documented rules took, and under a budget how
/// the requests were spent. `total` is every request the run sent.
pub fn closing_line(total: u64) -> String {
    let (fixed, generated, rest) = spent(total);
    let skipped = SKIPPED.load(std::sync::atomic::Ordering::Relaxed);
    match plan() {
        Some(p) => format!(
            "--budget {}: {fixed} requests for the deterministic coverage of the documented rules, {generated} for generated cases, {rest} for hand-written cases and cleanup; {skipped} hand-written trials did not fit",
            p.limit
        ),
        None => format!(
            "full coverage of the documented rules takes {fixed} requests: the deterministic cases of one scope, so --budget {fixed} or more"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coverage_scope_is_an_account_when_there_is_one() {
        let z = Scope::Zone("z".into());
        let a = Scope::Account("a".into());
        assert_eq!(coverage_scope(&[z.clone(), a.clone()]), 1);
        assert_eq!(coverage_scope(&[a]), 0);
        assert_eq!(coverage_scope(&[z]), 0);
    }
}
