//! Every trial of a run, as libtest-mimic trials: load errors, one trial per (check family,
//! scope, case), and one per (declared property, scope). A trial asks the record of case runs
//! for its case's run and hands the outcome to the recorder; it never prints or writes the report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use libtest_mimic::{Completion, Failed, Trial};

use crate::cases::{self, Case, CaseBody, LoadError, StatusSpec};
use crate::checks::{self, Operation};
use crate::generate::declare::Property;
use crate::generate::driver;
use crate::model::{Attempt, Outcome, Scope, Verdict};
use crate::report::text;
use crate::session::{CaseRuns, Session};
use crate::traffic;

use super::judge::{Family, judge};
use super::recorder::Recorder;

/// One trial per declared property and scope: `property::<scope>::<name>`, each its own unit
/// for `--partition`.
pub fn property_trials(
    session: &Arc<Session>,
    recorder: &Arc<Recorder>,
    properties: &[Property],
    first_index: usize,
    run_started: time::OffsetDateTime,
) -> Vec<(String, String, Trial)> {
    let mut trials = Vec::new();
    for (si, scope) in session.settings.scopes.iter().enumerate() {
        let kind = match scope {
            Scope::Account(_) => cases::ScopeKind::Account,
            Scope::Zone(_) => cases::ScopeKind::Zone,
        };
        for property in properties.iter().filter(|p| p.scopes.contains(&kind)) {
            let name = format!("property::{}::{}", scope.label(), property.name);
            let weight = property.weight(session.settings.cases);
            let index = first_index + trials.len();
            let (session, recorder, property) =
                (session.clone(), recorder.clone(), property.clone());
            let trial_name = name.clone();
            let trial = Trial::ignorable_test(name.clone(), move || {
                let outcome = traffic::in_trial(&trial_name, || {
                    driver::run_property(&session, si, &property, &trial_name, run_started)
                });
                let result = match &outcome.verdict {
                    Verdict::Pass => Ok(Completion::Completed),
                    Verdict::Skipped(r) => Ok(Completion::ignored_with(r)),
                    _ => Err(Failed::from(text::failure_text(
                        &outcome,
                        &session.base_url().unwrap_or_default(),
                    ))),
                };
                recorder.push(index, outcome);
                result
            })
            .with_kind("generated");
            trials.push((weight, (name.clone(), name, trial)));
        }
    }
    trials.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    trials.into_iter().map(|(_, t)| t).collect()
}

/// Whether a case may get a CustomCsr back, so that a PEM trial is worth listing.
fn may_carry_csr(case: &Case) -> bool {
    match &case.body {
        CaseBody::Builtin(_) => true,
        CaseBody::Steps(steps) => steps.iter().any(|s| {
            let path = s.path.replacen("${scope}", "/zones/z", 1);
            let success = s.expect.status.as_ref().is_none_or(StatusSpec::may_succeed);
            success
                && matches!(
                    checks::classify(&s.method, &path.replace("${", "x").replace('}', "")),
                    Some((Operation::Create | Operation::Get | Operation::List, _))
                )
        }),
    }
}

/// Every trial as (partition unit, name, trial): the unit of a case's trials is its case trial's
/// name, so all its families land on one shard.
pub fn build_trials(
    runs: &Arc<CaseRuns>,
    recorder: &Arc<Recorder>,
    load_errors: &[LoadError],
    retries: u32,
) -> Vec<(String, String, Trial)> {
    let mut trials = Vec::new();
    for (i, e) in load_errors.iter().enumerate() {
        let name = format!("load::{}:{}", e.file.display(), e.line);
        let message = e.to_string();
        let recorder = recorder.clone();
        let unit = name.clone();
        trials.push((
            unit,
            name.clone(),
            Trial::test(name.clone(), move || {
                recorder.push(
                    i,
                    Outcome {
                        name: name.clone(),
                        suite: "load".into(),
                        verdict: Verdict::Error(message.clone()),
                        exchanges: Vec::new(),
                        duration: Duration::ZERO,
                        seed: None,
                        notes: Vec::new(),
                        retries: Vec::new(),
                        waits: Vec::new(),
                    },
                );
                Err(Failed::from(message))
            }),
        ));
    }
    let session = runs.session();
    let families = [Family::Case, Family::Envelope, Family::Schema, Family::Pem];
    for (si, scope) in session.settings.scopes.iter().enumerate() {
        let kind = match scope {
            Scope::Account(_) => cases::ScopeKind::Account,
            Scope::Zone(_) => cases::ScopeKind::Zone,
        };
        for (ci, case) in session.cases.iter().enumerate() {
            if !case.applies_to(kind) {
                continue;
            }
            let unit = format!("{}::{}::{}", case.suite, scope.label(), case.name);
            for family in families {
                if family == Family::Pem && !may_carry_csr(case) {
                    continue;
                }
                let (name, suite) = match family {
                    Family::Case => (
                        format!("{}::{}::{}", case.suite, scope.label(), case.name),
                        case.suite.clone(),
                    ),
                    other => {
                        let f = match other {
                            Family::Envelope => "envelope",
                            Family::Schema => "schema",
                            _ => "pem",
                        };
                        (
                            format!("{f}::{}::{}.{}", scope.label(), case.suite, case.name),
                            f.to_string(),
                        )
                    }
                };
                let index = trials.len();
                let (runs, recorder) = (runs.clone(), recorder.clone());
                let trial_name = name.clone();
                let unit_name = unit.clone();
                let trial = Trial::ignorable_test(name.clone(), move || {
                    let session = runs.session();
                    if let Some(reason) = crate::budget::skips_case(&unit_name) {
                        recorder.push(
                            index,
                            Outcome {
                                name: trial_name.clone(),
                                suite: suite.clone(),
                                verdict: Verdict::Skipped(reason.clone()),
                                exchanges: Vec::new(),
                                duration: Duration::ZERO,
                                seed: None,
                                notes: Vec::new(),
                                retries: Vec::new(),
                                waits: Vec::new(),
                            },
                        );
                        return Ok(Completion::ignored_with(reason));
                    }
                    let started = Instant::now();
                    let base_url = || session.base_url().unwrap_or_default();
                    let mut run = traffic::in_trial(&trial_name, || {
                        let _scope = session.hold_scope_for_case(si, ci);
                        runs.run(si, ci)
                    });
                    let mut earlier: Vec<Attempt> = Vec::new();
                    let outcome = loop {
                        let (verdict, exchanges) =
                            traffic::in_trial(&trial_name, || judge(family, &run, session));
                        let outcome = Outcome {
                            name: trial_name.clone(),
                            suite: suite.clone(),
                            verdict,
                            exchanges,
                            duration: started.elapsed(),
                            seed: None,
                            notes: Vec::new(),
                            retries: Vec::new(),
                            waits: run.waits.clone(),
                        };
                        let again = matches!(outcome.verdict, Verdict::Failure(_) | Verdict::Error(_))
                            && earlier.len() < retries as usize
                            // Nothing more can be sent: another attempt would only repeat why.
                            && session.limits().refusal().is_none();
                        if !again {
                            break Outcome {
                                retries: earlier,
                                ..outcome
                            };
                        }
                        earlier.push(Attempt {
                            error: matches!(outcome.verdict, Verdict::Error(_)),
                            summary: text::summary_line(&outcome),
                            details: text::failure_text(&outcome, &base_url()),
                        });
                        run = traffic::in_trial(&trial_name, || {
                            let _scope = session.hold_scope_for_case(si, ci);
                            runs.rerun(si, ci)
                        });
                    };
                    let result = match &outcome.verdict {
                        Verdict::Pass => Ok(Completion::Completed),
                        Verdict::Skipped(r) => Ok(Completion::ignored_with(r)),
                        _ => Err(Failed::from(text::failure_text(&outcome, &base_url()))),
                    };
                    recorder.push(index, outcome);
                    result
                });
                trials.push((unit.clone(), name, trial));
            }
        }
    }
    trials
}
