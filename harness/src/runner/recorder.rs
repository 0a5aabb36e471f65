//! The trials' outcomes as they finish: each rendered at once as its JUnit `<testcase>`, skip
//! reasons and flaky trials counted, and what the report says of the run as a whole. Never
//! sends a request, never prints.

use std::sync::{Arc, Mutex};

use crate::model::{Outcome, Verdict};
use crate::partition;
use crate::report::{html, junit};
use crate::session::Session;
use crate::session::TargetSpec;

/// Collects each trial's report as it finishes, already written out as its `<testcase>`, so
/// memory holds no exchanges once a trial is done; keyed by trial index so the report keeps
/// trial order.
pub struct Recorder {
    session: Arc<Session>,
    partition: Option<partition::Partition>,
    cases: Mutex<Vec<(usize, junit::CaseXml)>>,
    /// Each trial as the HTML page shows it (failure texts, curl lines; no exchanges).
    pages: Mutex<Vec<(usize, html::Trial)>>,
    flaky: Mutex<Vec<String>>,
    /// How many trials were skipped for each reason.
    skips: Mutex<std::collections::BTreeMap<String, usize>>,
    /// The outcomes themselves, kept only when a subcommand's hook needs them (`record`):
    /// otherwise each is rendered and dropped, so memory does not grow with the exchanges.
    outcomes: Option<Mutex<Vec<(usize, Outcome)>>>,
}

impl Recorder {
    pub fn new(
        session: Arc<Session>,
        partition: Option<partition::Partition>,
        keep_outcomes: bool,
    ) -> Recorder {
        Recorder {
            session,
            partition,
            cases: Mutex::default(),
            pages: Mutex::default(),
            flaky: Mutex::default(),
            skips: Mutex::default(),
            outcomes: keep_outcomes.then(Mutex::default),
        }
    }

    pub fn push(&self, index: usize, outcome: Outcome) {
        if outcome.is_flaky() {
            self.flaky
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(outcome.name.clone());
        }
        if let Verdict::Skipped(reason) = &outcome.verdict {
            *self
                .skips
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(reason.clone())
                .or_default() += 1;
        }
        let info = run_info(&self.session, self.partition);
        let case = junit::render_case(&outcome, &info);
        let page = html::Trial::of(&outcome, &info.secrets, &info.base_url);
        self.pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((index, page));
        self.cases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((index, case));
        if let Some(kept) = &self.outcomes {
            kept.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((index, outcome));
        }
    }

    /// The kept outcomes, in trial order (none unless asked for at `new`).
    pub fn take_outcomes(&self) -> Vec<Outcome> {
        let Some(kept) = &self.outcomes else {
            return Vec::new();
        };
        let mut all = std::mem::take(&mut *kept.lock().unwrap_or_else(|p| p.into_inner()));
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, o)| o).collect()
    }

    pub fn take(&self) -> Vec<junit::CaseXml> {
        let mut all = std::mem::take(&mut *self.cases.lock().unwrap_or_else(|p| p.into_inner()));
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, c)| c).collect()
    }

    /// The trials as the HTML page shows them, in trial order.
    pub fn take_pages(&self) -> Vec<html::Trial> {
        let mut all = std::mem::take(&mut *self.pages.lock().unwrap_or_else(|p| p.into_inner()));
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, t)| t).collect()
    }

    /// (reason, trials skipped for it), most frequent first.
    pub fn skips(&self) -> Vec<(String, usize)> {
        let skips = self.skips.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<(String, usize)> = skips.iter().map(|(r, n)| (r.clone(), *n)).collect();
        all.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        all
    }

    pub fn flaky(&self) -> Vec<String> {
        let mut names = self.flaky.lock().unwrap_or_else(|p| p.into_inner()).clone();
        names.sort();
        names
    }
}

/// What the report says about the run as a whole.
pub fn run_info(session: &Session, partition: Option<partition::Partition>) -> junit::RunInfo {
    let mut properties = vec![
        (
            "scopes".into(),
            session
                .settings
                .scopes
                .iter()
                .map(|s| format!("{}:{}", s.label(), s.id()))
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("read_only".into(), session.settings.read_only.to_string()),
        ("strict".into(), session.settings.strict.to_string()),
        ("seed".into(), session.settings.seed.to_string()),
    ];
    if let Some(p) = partition {
        properties.push(("partition".into(), p.to_string()));
    }
    junit::RunInfo {
        name: "csr-conformance".into(),
        base_url: session.base_url().unwrap_or_default(),
        target: match &session.settings.target {
            TargetSpec::Embedded => "embedded emulator".into(),
            TargetSpec::Remote { base_url, .. } => base_url.clone(),
        },
        secrets: session.secrets(),
        properties,
        timestamp: time::OffsetDateTime::now_utc(),
    }
}
