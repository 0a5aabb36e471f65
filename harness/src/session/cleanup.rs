//! Cleanup of what the run created: every CSR a successful create answered with is
//! remembered under its scope (and forgotten when deleted), and deleted at the end of the run
//! or after Ctrl-C, within a time budget. Never runs a case and never judges an answer.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::cases::{AuthMode, ScopeKind};
use crate::checks::{self, Operation};
use crate::executor::Executor;
use crate::limits::CLEANUP_BUDGET;
use crate::model::{Exchange, HeaderValue, Scope};

use super::live::Live;
use super::requests::{auth_headers, body_json, delete_request};

/// The CSRs this run created and has not deleted, by scope.
#[derive(Default)]
pub struct Created {
    pending: Mutex<Vec<(Scope, String)>>,
}

impl Created {
    /// Remembers a CSR `ex` created (or forgets one it deleted), under the scope its path
    /// names, so that the end of the run, or Ctrl-C, deletes whatever is left: also what a
    /// write under a foreign scope created.
    pub fn track(&self, ex: &Exchange) {
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
            ScopeKind::Account => Scope::Account(scope_id.to_string()),
            ScopeKind::Zone => Scope::Zone(scope_id.to_string()),
        };
        let scope = &scope;
        let mut created = self.pending.lock().unwrap_or_else(|p| p.into_inner());
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
    pub fn delete_all<'a>(&self, live: impl FnOnce() -> Option<&'a Live>) -> Vec<String> {
        let pending: Vec<(Scope, String)> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if pending.is_empty() {
            return Vec::new();
        }
        let Some(live) = live() else {
            return Vec::new();
        };
        let Ok(headers) = auth_headers(AuthMode::Configured, live.executor.credentials()) else {
            return vec!["no credentials to clean up with".into()];
        };
        // Also after Ctrl-C, the deadline or the breaker, but never for longer than the budget.
        let deleting = delete_each(&live.executor, &pending, &headers);
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
}

/// Deletes the given CSRs, at once within the executor's cap on requests in flight; what could
/// not be deleted comes back as messages.
async fn delete_each(
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
