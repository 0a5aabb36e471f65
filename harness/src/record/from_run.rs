//! A finished run, as recorded case files: one file per suite the run's filters selected, each
//! case as the exchanges it made, for every case that passed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::generalize::{FileBuilder, Group, RecordedFile, Source, StepHint};
use super::redact::{Clean, RawExchange, RawHeader, Secrets, scrub};
use super::replay::is_recorded;
use crate::cases::CaseBody;
use crate::model::{Exchange, HeaderValue, Outcome};
use crate::session::{CaseRuns, Session};

/// What a recording made of a run.
#[derive(Debug, Default)]
pub struct Recording {
    pub files: Vec<(PathBuf, RecordedFile)>,
    /// Cases recorded (one per case and scope kind).
    pub recorded: usize,
    /// Cases the run selected but that were not recorded, with why.
    pub left_out: Vec<String>,
}

/// The source's form of an exchange the run made. Configured credentials stay symbolic.
pub fn raw_of(ex: &Exchange) -> RawExchange {
    RawExchange {
        method: ex.request.method.clone(),
        path: ex.request.path.clone(),
        query: ex.request.query.clone(),
        headers: ex
            .request
            .headers
            .iter()
            .map(|(n, v)| {
                let v = match v {
                    HeaderValue::Literal(t) => RawHeader::Text(t.clone()),
                    // A near miss has the shape of the credential it was made from.
                    HeaderValue::Secret { secret, .. } | HeaderValue::Derived { secret, .. } => {
                        RawHeader::Configured(*secret)
                    }
                };
                (n.clone(), v)
            })
            .collect(),
        body: ex.request.body.clone(),
        status: ex.response.status,
        response: Some(ex.response.body.clone()),
    }
}

/// The (scope index, case index) of every case a trial of `outcomes` judged.
fn selected(session: &Session, outcomes: &[Outcome]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for o in outcomes {
        let parts: Vec<&str> = o.name.splitn(3, "::").collect();
        let [first, label, last] = parts.as_slice() else {
            continue;
        };
        let (suite, case) = match *first {
            "envelope" | "schema" | "pem" => match last.split_once('.') {
                Some(pair) => pair,
                None => continue,
            },
            suite => (suite, *last),
        };
        let scope = session
            .settings
            .scopes
            .iter()
            .position(|s| s.label() == *label);
        let case = session
            .cases
            .iter()
            .position(|c| c.suite == suite && c.name == case);
        if let (Some(s), Some(c)) = (scope, case)
            && !out.contains(&(s, c))
        {
            out.push((s, c));
        }
    }
    out.sort_by_key(|(s, c)| (*c, *s));
    out
}

pub fn from_session(
    runs: &CaseRuns,
    outcomes: &[Outcome],
    out_dir: &Path,
    secrets: &Secrets,
) -> Recording {
    let session = runs.session();
    let scopes = session.settings.scopes.len();
    let mut clean: BTreeMap<(usize, usize), Vec<Clean>> = BTreeMap::new();
    for si in 0..scopes {
        for ci in 0..session.cases.len() {
            if let Some(run) = runs.finished(si, ci) {
                let exchanges = run
                    .exchanges
                    .iter()
                    .map(|ex| scrub(&raw_of(ex), secrets))
                    .collect();
                clean.insert((si, ci), exchanges);
            }
        }
    }
    let mut source = Source {
        run_id: Some(session.run_id().to_string()),
        ..Source::default()
    };
    // Fixtures first, so that an object a fixture made is known by the fixture's name.
    for fixtures_first in [true, false] {
        for ((_, ci), exchanges) in &clean {
            let case = &session.cases[*ci];
            if case.fixture == fixtures_first {
                let hint = if case.fixture {
                    case.name.as_str()
                } else {
                    "object"
                };
                source.learn(exchanges, hint);
            }
        }
    }

    let mut recording = Recording::default();
    let mut builders: BTreeMap<String, FileBuilder> = BTreeMap::new();
    let mut seen_left_out = HashSet::new();
    for (si, ci) in selected(session, outcomes) {
        let case = &session.cases[ci];
        let scope = &session.settings.scopes[si];
        let trial = format!("{}::{}::{}", case.suite, scope.label(), case.name);
        if is_recorded(&case.suite) {
            if seen_left_out.insert(case.suite.clone()) {
                recording
                    .left_out
                    .push(format!("{}: already a recording", case.suite));
            }
            continue;
        }
        let Some(run) = runs.finished(si, ci) else {
            continue;
        };
        let why = if let Some(r) = &run.skipped {
            Some(format!("skipped ({r})"))
        } else if let Some(e) = &run.error {
            Some(format!("could not be judged ({e})"))
        } else if !run.findings.is_empty() {
            Some("failed its own expectations".to_string())
        } else if run.exchanges.is_empty() {
            Some("made no request".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            recording.left_out.push(format!("{trial}: {why}"));
            continue;
        }
        let suite = format!("recorded-{}", case.suite);
        let builder = builders.entry(case.suite.clone()).or_insert_with(|| {
            FileBuilder::new(
                &suite,
                vec![
                    format!(
                        "Recorded by `csr-conformance record` from the {:?} suite: what the target answered,",
                        case.suite
                    ),
                    "redacted and generalized (ids captured, names templated). Edit freely; the format is cases/README.md's.".into(),
                ],
            )
        });
        let exchanges = clean.get(&(si, ci)).cloned().unwrap_or_default();
        let hints = match &case.body {
            CaseBody::Steps(steps) if steps.len() == exchanges.len() => steps
                .iter()
                .map(|s| StepHint {
                    status: s.expect.status.clone(),
                    codes: s.expect.codes.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let group = Group {
            name: case.name.clone(),
            doc: Some(match &case.doc {
                Some(d) => format!("Recorded from {}.{}: {d}", case.suite, case.name),
                None => format!("Recorded from {}.{}.", case.suite, case.name),
            }),
            scope: scope.clone(),
            exchanges,
            hints,
        };
        builder.add(&source, &group);
        recording.recorded += 1;
    }
    for (suite, builder) in builders {
        if !builder.is_empty() {
            recording
                .files
                .push((out_dir.join(format!("{suite}.toml")), builder.finish()));
        }
    }
    recording
}
