//! Fixtures as template values: `${fixture.NAME.FIELD}` reads what the fixture case created in
//! the scope, or under `--read-only` an existing CSR of the scope standing in for it (the
//! scope is listed once). Never judges an answer; runs a fixture case only through the caller.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::cases::{AuthMode, Case};
use crate::model::{CaseRun, Request};
use crate::read_only;

use super::context::Session;
use super::requests::{Stop, auth_headers, body_json, scope_kind};

/// Per scope, the existing CSRs read-only fixtures stand for, listed on first use.
pub struct Fixtures {
    listings: Vec<OnceLock<Result<Vec<Value>, String>>>,
}

impl Fixtures {
    pub fn new(scopes: usize) -> Fixtures {
        Fixtures {
            listings: (0..scopes).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The value of `${fixture.FIXTURE.FIELD}` (the whole object when `field` is empty) in
    /// scope `scope_idx`; `run` runs a fixture case there (once, through the record).
    pub fn value(
        &self,
        session: &Session,
        scope_idx: usize,
        fixture: &str,
        field: &str,
        run: &dyn Fn(usize) -> Arc<CaseRun>,
    ) -> Result<Value, Stop> {
        let Some(idx) = session
            .cases
            .iter()
            .position(|c| c.fixture && c.name == fixture)
        else {
            return Err(Stop::Error(format!("no fixture named {fixture:?}")));
        };
        let object = if session.settings.read_only {
            self.stand_in(session, scope_idx, &session.cases[idx])?
        } else {
            let scope_kind = scope_kind(&session.settings.scopes[scope_idx]);
            if !session.cases[idx].applies_to(scope_kind) {
                return Err(Stop::Skip(format!(
                    "fixture {fixture:?} does not exist in this scope"
                )));
            }
            let run = run(idx);
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
            None if session.settings.read_only => Err(Stop::Skip(format!(
                "--read-only: the existing CSR standing in for fixture {fixture:?} has no {field:?}"
            ))),
            None => Err(Stop::Error(format!(
                "fixture {fixture:?} has no field {field:?}"
            ))),
        }
    }

    /// In read-only mode a fixture stands for an existing CSR of the scope (see
    /// [`read_only::pick_stand_in`]).
    fn stand_in(&self, session: &Session, scope_idx: usize, fixture: &Case) -> Result<Value, Stop> {
        let listing = self.listings[scope_idx].get_or_init(|| {
            let live = session.live()?;
            let scope = &session.settings.scopes[scope_idx];
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
}
