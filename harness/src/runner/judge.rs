//! Judges what one case run produced by one family of checks (the case's own expectations,
//! envelope, schema, PEM). Never sends a request and never runs a case: it reads the record.

use crate::checks;
use crate::model::{CaseRun, Exchange, Finding, Verdict};
use crate::session::Session;

/// Family of checks a trial applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// The case's own expectations.
    Case,
    Envelope,
    Schema,
    Pem,
}

pub fn judge(family: Family, run: &CaseRun, session: &Session) -> (Verdict, Vec<Exchange>) {
    if let Some(reason) = &run.skipped {
        return (Verdict::Skipped(reason.clone()), run.exchanges.clone());
    }
    if family == Family::Case {
        let verdict = match (&run.error, run.findings.is_empty()) {
            (Some(e), _) => Verdict::Error(e.clone()),
            (None, true) => Verdict::Pass,
            (None, false) => Verdict::Failure(run.findings.clone()),
        };
        return (verdict, run.exchanges.clone());
    }
    if run.exchanges.is_empty() || run.unjudgeable {
        let why = run
            .error
            .clone()
            .unwrap_or_else(|| "no request was made".into());
        return (Verdict::Error(why), run.exchanges.clone());
    }
    let schemas = match (family, &session.schemas) {
        (Family::Schema, Err(e)) => {
            return (
                Verdict::Error(format!("schemas could not be loaded: {e}")),
                run.exchanges.clone(),
            );
        }
        (_, s) => s.as_ref().ok(),
    };
    let creds = session
        .live()
        .map(|l| l.executor.credentials().clone())
        .unwrap_or_default();
    let multiple = run.exchanges.len() > 1;
    let mut findings: Vec<Finding> = Vec::new();
    let mut offending = Vec::new();
    let mut carried_csr = false;
    for ex in &run.exchanges {
        let mut fs = match family {
            Family::Envelope => {
                let secrets = ex.secrets_sent(&creds);
                let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
                checks::envelope_family(ex, &refs)
            }
            Family::Schema => schemas
                .map(|s| checks::schema_family(ex, s))
                .unwrap_or_default(),
            Family::Pem => {
                carried_csr |= checks::csr_objects(ex)
                    .iter()
                    .any(|(_, o)| o.get("csr").is_some());
                checks::pem_family(ex)
            }
            Family::Case => unreachable!("handled above"),
        };
        if !fs.is_empty() {
            if multiple {
                for f in &mut fs {
                    f.message = format!("{} (answer to {})", f.message, ex.request.line());
                }
            }
            findings.extend(fs);
            offending.push(ex.clone());
        }
    }
    if family == Family::Pem && !carried_csr && findings.is_empty() {
        return (
            Verdict::Skipped("no answer carried a CSR".into()),
            run.exchanges.clone(),
        );
    }
    if findings.is_empty() {
        (Verdict::Pass, run.exchanges.clone())
    } else {
        (Verdict::Failure(findings), offending)
    }
}
