//! The record of case runs: each (scope, case) runs once, whichever trial asks first, and every
//! trial reads that one record. Running a case sends its steps, resolving template names
//! (fixtures too) and judging each answer by the case's own expectations. Never prints.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use crate::cases::{Builtin, CaseBody, Step};
use crate::checks::expect;
use crate::model::{CaseRun, Finding};
use crate::read_only;
use crate::template;

use super::builtins::list_pagination;
use super::context::Session;
use super::fixtures::Fixtures;
use super::live::{Live, set_aside};
use super::requests::{Stop, body_json, build_request, foreign, is_skip, resolve_expect};

/// Every case's run in every scope, made on first ask, over one run context.
pub struct CaseRuns {
    session: Arc<Session>,
    runs: Vec<Vec<OnceLock<Arc<CaseRun>>>>,
    fixtures: Fixtures,
}

impl CaseRuns {
    pub fn new(session: Arc<Session>) -> CaseRuns {
        let runs = session
            .settings
            .scopes
            .iter()
            .map(|_| session.cases.iter().map(|_| OnceLock::new()).collect())
            .collect();
        let fixtures = Fixtures::new(session.settings.scopes.len());
        CaseRuns {
            session,
            runs,
            fixtures,
        }
    }

    /// The run context the cases run in.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The result of case `case` in scope `scope` if it has run (nothing is run for it).
    pub fn finished(&self, scope: usize, case: usize) -> Option<Arc<CaseRun>> {
        self.runs[scope][case].get().cloned()
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
        let case = &self.session.cases[case_idx];
        let mut run = CaseRun::default();
        if self.session.settings.read_only {
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
        let live = match self.session.live() {
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
                list_pagination(&self.session, live, scope_idx, &mut run)
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
            build_request(step, live.executor.credentials(), &mut resolve)
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
        let mut exchange = match live
            .rt
            .block_on(live.executor.send_noting(&request, &mut run.waits))
        {
            Ok(ex) => ex,
            Err(e) => {
                run.error = Some(e.to_string());
                return false;
            }
        };
        self.session.track_created(&exchange);
        if let Some(why) = set_aside(&mut exchange) {
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
            resolve_expect(step, &request, self.session.settings.strict, &mut resolve)
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
            match (&self.session.schemas, body_json(&exchange)) {
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

    fn resolve(
        &self,
        scope_idx: usize,
        name: &str,
        vars: &HashMap<String, Value>,
    ) -> Result<Value, Stop> {
        let scope = &self.session.settings.scopes[scope_idx];
        if let Some(v) = vars.get(name) {
            return Ok(v.clone());
        }
        match name {
            "scope" => return Ok(json!(scope.prefix())),
            "scope_id" => return Ok(json!(scope.id())),
            "foreign_scope" => return Ok(json!(foreign(scope).prefix())),
            "sibling_scope" => {
                return self
                    .session
                    .sibling(scope_idx)
                    .map(|i| json!(self.session.settings.scopes[i].prefix()))
                    .ok_or_else(|| Stop::Skip("needs both an account and a zone scope".into()));
            }
            "run_id" => return Ok(json!(self.session.run_id())),
            "random_uuid" => return Ok(json!(uuid::Uuid::new_v4().to_string())),
            _ => {}
        }
        if let Some(rest) = name.strip_prefix("fixture.") {
            let (fixture, field) = rest.split_once('.').unwrap_or((rest, ""));
            return self
                .fixtures
                .value(&self.session, scope_idx, fixture, field, &|idx| {
                    self.run(scope_idx, idx)
                });
        }
        match template::generate(name) {
            Some(r) => r.map_err(Stop::Error),
            None => Err(Stop::Error(format!("unknown template name ${{{name}}}"))),
        }
    }
}
