//! One run from start to end: settings, loading, the limits, the trials through libtest-mimic,
//! the subcommand's hook, cleanup, the JUnit report and the exit code. The only part of the
//! runner that prints.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::budget;
use crate::cases;
use crate::drift::{self, Drift};
use crate::generate::{coverage, declare};
use crate::limits::{self, Limits, Stop};
use crate::model::Outcome;
use crate::partition;
use crate::record::har_out;
use crate::report::{html, junit};
use crate::rules;
use crate::schemas::Schemas;
use crate::session::{CaseRuns, Session, TargetSpec};

use super::flags::{Cli, EXIT_NOTHING_JUDGED, Mode, NoTests, UsageError, project_root, settings};
use super::recorder::{Recorder, run_info};
use super::tally::{Tally, summary};
use super::trials::{build_trials, property_trials};
use super::validate::validate_cases;

/// Runs the whole thing; the process's exit code. (Subcommands are chosen in `main.rs`.)
pub fn main(mode: Mode) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    run(cli, mode, None)
}

/// What a subcommand does with a finished run, before cleanup: it sees the record of case runs
/// (and through it the session) and every
/// trial's outcome; `false` fails the run.
pub type AfterRun<'a> = &'a mut dyn FnMut(&CaseRuns, &[Outcome]) -> bool;

/// Runs the trials `cli` selects; the process's exit code.
pub fn run(cli: Cli, mode: Mode, after: Option<AfterRun>) -> ExitCode {
    let started = Instant::now();
    let run_started = time::OffsetDateTime::now_utc();
    let settings = match settings(&cli, mode, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(UsageError(m)) => {
            eprintln!("csr-conformance: {m}");
            return ExitCode::from(2);
        }
    };
    let root = project_root();
    let cases_dir = cli.cases_dir.clone().unwrap_or_else(|| root.join("cases"));
    let schemas_dir = cli.schemas.clone().unwrap_or_else(|| root.join("schemas"));
    let (cases, mut load_errors) = cases::load_dir(&cases_dir);
    let schemas = Schemas::load_dir(&schemas_dir).map_err(|errors| {
        let text = errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        load_errors.extend(errors);
        text
    });
    let (cases, invalid) = validate_cases(cases, schemas.as_ref().ok());
    load_errors.extend(invalid);
    let (properties, property_errors) = declare::load_dir(&cases_dir);
    load_errors.extend(property_errors);

    let seed = settings.seed;
    if !cli.libtest.list {
        eprintln!("csr-conformance: seed {seed}");
    }
    // Only a target on another machine is paced by default: the embedded emulator and local
    // mocks are there to be run fast.
    let remote = match &settings.target {
        TargetSpec::Remote { base_url, .. } => !limits::is_loopback(base_url),
        TargetSpec::Embedded => false,
    };
    let concurrency = cli
        .run
        .concurrency
        .unwrap_or(limits::DEFAULT_CONCURRENCY)
        .max(1);
    let rate = cli
        .run
        .rate
        .or(remote.then_some(limits::DEFAULT_REMOTE_RATE));
    let limits = Arc::new(Limits::new(concurrency, rate));
    let deadline = cli.run.deadline.unwrap_or(limits::DEFAULT_DEADLINE_SECS);
    Stop::trip_after(
        &limits,
        Duration::from_secs(deadline),
        format!("the run's deadline of {deadline} s passed (--deadline)"),
    );
    let mut libtest_args = cli.libtest.clone();
    // Trials block on their requests, so as many run at once as requests may be in flight.
    if libtest_args.test_threads.is_none() {
        libtest_args.test_threads = Some(concurrency);
    }

    let session = Arc::new(Session::new(settings, cases, schemas).with_limits(limits.clone()));
    // Requests counted per trial, for --budget and the closing figure of full coverage.
    session.traffic().add(Arc::new(budget::Counter));
    budget::note_scopes(&session.settings.scopes);
    let recorder = Arc::new(Recorder::new(
        session.clone(),
        cli.run.partition,
        after.is_some(),
    ));
    // Drift notices: what the target says that the contract does not, seen as it answers.
    let drift = Arc::new(Drift::new(drift::Known::load(&schemas_dir)));
    session.traffic().add(drift.clone());
    // `--har`: every exchange from here on, the cleanup's too, streamed to the file's
    // temporary beside it.
    let har = match cli.har.as_deref().filter(|_| !cli.libtest.list) {
        Some(path) => match har_out::HarWriter::create(path, har_target(&session)) {
            Ok(w) => {
                let w = Arc::new(w);
                session.traffic().add(w.clone());
                Some(w)
            }
            Err(e) => {
                eprintln!("csr-conformance: --har: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let runs = Arc::new(CaseRuns::new(session.clone()));
    let cases = build_trials(&runs, &recorder, &load_errors, cli.run.retries);
    // Generated trials first, heaviest first: the longest then overlap everything else instead
    // of ending the run alone. Reports keep the declared order.
    let mut trials = property_trials(&session, &recorder, &properties, cases.len(), run_started);
    trials.extend(cases);
    let all = trials.len();
    let matched = trials
        .iter()
        .filter(|(_, _, t)| !cli.libtest.is_filtered_out(t))
        .count();
    let trials = partition::shard(cli.run.partition.as_ref(), &cli.libtest, trials);
    if let Some(limit) = cli.budget {
        let selected = trials
            .iter()
            .filter(|t| !cli.libtest.is_filtered_out(t))
            .map(|t| t.name().to_string())
            .collect();
        let plan = budget::make_plan(
            limit,
            &session,
            &properties,
            &selected,
            &coverage::fixed_cost,
        );
        eprintln!(
            "csr-conformance: --budget {limit}: about {} requests for the deterministic coverage first",
            plan.fixed_estimate
        );
        budget::install(plan);
    }
    let conclusion = libtest_mimic::run(&libtest_args, trials);
    let tally = Tally::of(all, matched, &conclusion, recorder.skips());
    let after_ok = after.is_none_or(|f| f(&runs, &recorder.take_outcomes()));

    let cleanup_problems = session.cleanup();
    for p in &cleanup_problems {
        eprintln!("csr-conformance: cleanup: {p}");
    }
    let har_ok = har.is_none_or(|w| match w.finish() {
        Ok(written) => {
            eprintln!("csr-conformance: {written}");
            true
        }
        Err(e) => {
            eprintln!("csr-conformance: --har: {e}");
            false
        }
    });
    let flaky = recorder.flaky();
    if !flaky.is_empty() {
        eprintln!(
            "csr-conformance: {} flaky trial(s), failed and then passed on a retry: {}",
            flaky.len(),
            flaky.join(", ")
        );
    }
    // What was sent after it: at most one delete per CSR left, none once told to stop.
    let after_stop = limits.sent_after_refusal();
    if let Some(reason) = limits.refusal() {
        eprintln!(
            "csr-conformance: stopped early: {reason}; {after_stop} request(s) sent after it"
        );
    }

    // A run that judged nothing says why, on the terminal and in its report; one that skipped
    // most of what it selected says what for. Listing judges nothing by design.
    let nothing = (!cli.libtest.list)
        .then(|| tally.nothing_judged(&cli.libtest, cli.run.partition, &cases_dir))
        .flatten();
    let mostly_skipped = tally.mostly_skipped();
    // The cargo test target passes by default when nothing matched: `cargo test -- FILTER` hands
    // a developer's filter to every test binary, and this one not holding the trial filtered
    // for must not fail the workspace's tests.
    let no_tests = cli.no_tests.unwrap_or(NoTests::default_for(mode));

    // What the run verified of the documented contract.
    let coverage = rules::Coverage::of(rules::ledger());

    let notices = drift.notices();
    let (sent, generated) = session.requests_sent();

    // Under nextest every trial is its own process; its JUnit report is nextest's own, and
    // the page would show one trial.
    let under_nextest = std::env::var_os("NEXTEST_RUN_ID").is_some();
    let junit_path = cli
        .junit
        .clone()
        .unwrap_or_else(|| root.join("reports").join("junit.xml"));
    let some_report = !cli.no_junit || !cli.no_html;
    if some_report && !cli.libtest.list && !under_nextest {
        let info = run_info(&session, cli.run.partition);
        let mut header = info.header();
        header.properties.extend(coverage.properties());
        header
            .properties
            .extend(tally.properties(nothing.as_deref()));
        // Why the run stopped before its end (Ctrl-C, the deadline, the breaker), in the report
        // too: a CI page shows the report, not the terminal.
        if let Some(reason) = limits.refusal() {
            header
                .properties
                .push(("stopped_early".to_string(), reason));
            header
                .properties
                .push(("requests_after_stop".to_string(), after_stop.to_string()));
        }
        // What the page shows of the run, kept in the report so `merge` can rebuild it.
        header.properties.extend(html::run_properties(
            (sent, generated),
            started.elapsed(),
            &junit::clean_text(&html::command(seed), &info.secrets),
            cli.cases,
        ));
        header.properties.extend(drift::properties(
            &notices,
            drift.dropped(),
            drift.credentialed(),
        ));
        if !cli.no_junit {
            match junit::write_report_file(&recorder.take(), &header, &junit_path) {
                Ok(()) => eprintln!(
                    "csr-conformance: JUnit report written to {}",
                    junit_path.display()
                ),
                Err(e) => {
                    eprintln!(
                        "csr-conformance: cannot write {}: {e}",
                        junit_path.display()
                    );
                    return ExitCode::from(1);
                }
            }
        }
        if !cli.no_html {
            let path = cli
                .html
                .clone()
                .unwrap_or_else(|| html::default_path(&junit_path));
            match html::write_page_file(&header, &recorder.take_pages(), &path) {
                Ok(()) => eprintln!("csr-conformance: HTML report written to {}", path.display()),
                Err(e) => {
                    eprintln!("csr-conformance: cannot write {}: {e}", path.display());
                    return ExitCode::from(1);
                }
            }
        }
    }
    if let Some(warning) = &mostly_skipped {
        eprintln!("csr-conformance: {warning}");
    }
    if let Some(why) = nothing.as_ref().filter(|_| no_tests != NoTests::Pass) {
        eprintln!("csr-conformance: {why}");
    }
    if !cli.libtest.list {
        println!("{}", summary(sent, generated, started.elapsed(), seed));
        // A rule that was never verified is named, never passed in silence.
        println!("csr-conformance: {}", coverage.summary());
        let unverified = coverage.unverified();
        if !unverified.is_empty() {
            let names: Vec<&str> = unverified.iter().map(|r| r.id).collect();
            println!("csr-conformance: not verified: {}", names.join(", "));
        }
        println!("csr-conformance: {}", budget::closing_line(sent as u64));
        // Never a failure: what the target said that the contract does not, in one line.
        if let Some(line) = drift::line(&notices) {
            println!("csr-conformance: {line}");
        }
    }
    if limits
        .stop
        .reason()
        .is_some_and(|r| r == limits::INTERRUPTED)
    {
        return ExitCode::from(130);
    }
    if conclusion.has_failed() || !cleanup_problems.is_empty() || !after_ok || !har_ok {
        match mode {
            Mode::Binary => ExitCode::from(1),
            Mode::TestTarget => conclusion.exit_code(),
        }
    } else if nothing.is_some() && no_tests == NoTests::Fail {
        ExitCode::from(EXIT_NOTHING_JUDGED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The target a HAR file names and the credentials it scrubs, once the run has connected.
fn har_target(session: &Arc<Session>) -> har_out::Target {
    // Weak: the session holds the writer among its observers.
    let session = Arc::downgrade(session);
    Box::new(move || {
        let session = session.upgrade()?;
        let live = session.live_if_started()?;
        Some((
            live.executor.base_url().to_string(),
            live.executor.credentials().clone(),
        ))
    })
}
