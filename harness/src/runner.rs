//! The command line and the libtest-mimic run: settings from flags and the environment, one
//! trial per (check family, scope, case), outcomes recorded for the JUnit report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use libtest_mimic::{Completion, Failed, Trial};

use crate::cases::{self, Case, CaseBody, LoadError, StatusSpec};
use crate::checks::{self, Operation, envelope};
use crate::generate::declare::{self, Property};
use crate::generate::driver;
use crate::limits::{self, Limits, Stop};
use crate::model::{Attempt, Credentials, Exchange, Finding, Outcome, Scope, Verdict};
use crate::partition;
use crate::report::{junit, text};
use crate::schemas::Schemas;
use crate::session::{CaseRun, EMBEDDED_ACCOUNT, EMBEDDED_ZONE, Session, Settings, TargetSpec};
use crate::template;

/// csr-conformance: checks a server against the Custom CSR API contract.
///
/// With no target it starts the embedded reference emulator. Credentials come only from the
/// environment: CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY.
#[derive(Parser, Debug)]
#[command(name = "csr-conformance", version)]
pub struct Cli {
    /// Base URL of the API to check, e.g. https://api.cloudflare.com/client/v4
    /// [env: CLOUDFLARE_BASE_URL]
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Account id to run the account-scope checks under [env: CLOUDFLARE_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// Zone id to run the zone-scope checks under [env: CLOUDFLARE_ZONE_ID]
    #[arg(long, value_name = "ID")]
    pub zone_id: Option<String>,
    /// Only list and get what exists: for tokens without write permission
    #[arg(long)]
    pub read_only: bool,
    /// Also require the documented Cloudflare error codes, not just the status class
    #[arg(long)]
    pub strict: bool,
    /// Where to write the JUnit report [default: reports/junit.xml]
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write no JUnit report
    #[arg(long, conflicts_with = "junit")]
    pub no_junit: bool,
    /// Directory of case files [default: ./cases, else the project's]
    #[arg(long = "cases-dir", value_name = "DIR")]
    pub cases_dir: Option<PathBuf>,
    /// Directory of JSON Schemas [default: ./schemas, else the project's]
    #[arg(long, visible_alias = "schemas-dir", value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Seconds to wait for any one answer
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// The run's seed: generated inputs depend on nothing else [env: CSR_CONFORMANCE_SEED;
    /// default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Generated cases per property, instead of what cases/properties.toml says
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: Option<u32>,
    /// When no trial was judged (none matched the filter or --partition, or all were
    /// skipped): fail says why and exits 4, warn says why and exits 0, pass exits 0
    /// [default: fail; pass for the cargo test target]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub no_tests: Option<NoTests>,

    #[command(flatten)]
    pub run: limits::RunArgs,

    #[command(flatten)]
    pub libtest: libtest_mimic::Arguments,
}

/// What a run that judged no trial means (`--no-tests`), as in cargo-nextest: nothing matched
/// is not a pass unless asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NoTests {
    /// Exit 0, saying nothing.
    Pass,
    /// Say why, and exit 0.
    Warn,
    /// Say why, and exit 4.
    Fail,
}

impl NoTests {
    /// Without `--no-tests`: `fail` for the binary, `pass` for the cargo test target.
    pub fn default_for(mode: Mode) -> NoTests {
        match mode {
            Mode::Binary => NoTests::Fail,
            Mode::TestTarget => NoTests::Pass,
        }
    }
}

/// The exit code of a run that judged no trial under `--no-tests=fail`.
pub const EXIT_NOTHING_JUDGED: u8 = 4;

/// Who is running: the `csr-conformance` binary reads the CLOUDFLARE_* environment; the
/// `cargo test` target checks the embedded emulator unless `--target` is given, so a developer's
/// environment never turns a test run into a run against the real API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Binary,
    TestTarget,
}

/// A usage problem: exit code 2, no trials run.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Settings from the command line and the environment.
pub fn settings(cli: &Cli, mode: Mode, env: Env) -> Result<Settings, UsageError> {
    let use_env = mode == Mode::Binary || cli.target.is_some();
    let var = |k: &str| {
        if use_env {
            env(k).filter(|v| !v.trim().is_empty())
        } else {
            None
        }
    };
    let target_url = cli.target.clone().or_else(|| var("CLOUDFLARE_BASE_URL"));
    let account = cli
        .account_id
        .clone()
        .or_else(|| var("CLOUDFLARE_ACCOUNT_ID"));
    let zone = cli.zone_id.clone().or_else(|| var("CLOUDFLARE_ZONE_ID"));
    for id in account.iter().chain(zone.iter()) {
        if id.is_empty() || id.len() > 32 || id.contains(['/', '?', '#', ' ']) {
            return Err(UsageError(format!(
                "{id:?} is not an account or zone id (1 to 32 characters, no '/', '?', '#' or spaces)"
            )));
        }
    }
    let mut scopes: Vec<Scope> = account
        .map(Scope::Account)
        .into_iter()
        .chain(zone.map(Scope::Zone))
        .collect();
    let target = match target_url {
        None => {
            if scopes.is_empty() {
                scopes = vec![
                    Scope::Account(EMBEDDED_ACCOUNT.into()),
                    Scope::Zone(EMBEDDED_ZONE.into()),
                ];
            }
            TargetSpec::Embedded
        }
        Some(url) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(UsageError(format!(
                    "--target {url:?} must be an http:// or https:// base URL"
                )));
            }
            let credentials = Credentials {
                token: env("CLOUDFLARE_API_TOKEN").filter(|v| !v.is_empty()),
                email: env("CLOUDFLARE_EMAIL").filter(|v| !v.is_empty()),
                api_key: env("CLOUDFLARE_API_KEY").filter(|v| !v.is_empty()),
            };
            if credentials.email.is_some() != credentials.api_key.is_some() {
                return Err(UsageError(
                    "CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY go together: set both, or use CLOUDFLARE_API_TOKEN".into(),
                ));
            }
            if credentials.is_empty() {
                return Err(UsageError(format!(
                    "no credentials for {url}: set CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY"
                )));
            }
            if scopes.is_empty() {
                return Err(UsageError(
                    "no scope to check: give --account-id/CLOUDFLARE_ACCOUNT_ID and/or --zone-id/CLOUDFLARE_ZONE_ID".into(),
                ));
            }
            TargetSpec::Remote {
                base_url: url.trim_end_matches('/').to_string(),
                credentials,
            }
        }
    };
    let seed = match (
        cli.seed,
        env("CSR_CONFORMANCE_SEED").filter(|v| !v.trim().is_empty()),
    ) {
        (Some(s), _) => s,
        (None, Some(v)) => v.trim().parse().map_err(|_| {
            UsageError(format!(
                "CSR_CONFORMANCE_SEED={v:?} is not a whole number from 0 to {}",
                u64::MAX
            ))
        })?,
        (None, None) => random_seed(),
    };
    Ok(Settings {
        target,
        scopes,
        read_only: cli.read_only,
        strict: cli.strict,
        timeout: Duration::from_secs(cli.timeout.max(1)),
        seed,
        cases: cli.cases,
    })
}

/// A fresh seed (from the operating system's randomness, via a v4 UUID).
fn random_seed() -> u64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default())
}

/// The directory holding `cases/`, `schemas/` and `reports/`: the working directory when it
/// has them, else this project's checkout.
pub fn project_root() -> PathBuf {
    if Path::new("cases").is_dir() && Path::new("schemas").is_dir() {
        PathBuf::from(".")
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }
}

/// Family of checks a trial applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// The case's own expectations.
    Case,
    Envelope,
    Schema,
    Pem,
}

/// Collects each trial's report as it finishes, already written out as its `<testcase>`, so
/// memory holds no exchanges once a trial is done; keyed by trial index so the report keeps
/// trial order.
struct Recorder {
    session: Arc<Session>,
    partition: Option<partition::Partition>,
    cases: Mutex<Vec<(usize, junit::CaseXml)>>,
    flaky: Mutex<Vec<String>>,
    /// How many trials were skipped for each reason.
    skips: Mutex<std::collections::BTreeMap<String, usize>>,
    /// The outcomes themselves, kept only when a subcommand's hook needs them (`record`):
    /// otherwise each is rendered and dropped, so memory does not grow with the exchanges.
    outcomes: Option<Mutex<Vec<(usize, Outcome)>>>,
}

impl Recorder {
    fn new(
        session: Arc<Session>,
        partition: Option<partition::Partition>,
        keep_outcomes: bool,
    ) -> Recorder {
        Recorder {
            session,
            partition,
            cases: Mutex::default(),
            flaky: Mutex::default(),
            skips: Mutex::default(),
            outcomes: keep_outcomes.then(Mutex::default),
        }
    }

    fn push(&self, index: usize, outcome: Outcome) {
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
        let case = junit::render_case(&outcome, &run_info(&self.session, self.partition));
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
    fn take_outcomes(&self) -> Vec<Outcome> {
        let Some(kept) = &self.outcomes else {
            return Vec::new();
        };
        let mut all = std::mem::take(&mut *kept.lock().unwrap_or_else(|p| p.into_inner()));
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, o)| o).collect()
    }

    fn take(&self) -> Vec<junit::CaseXml> {
        let mut all = std::mem::take(&mut *self.cases.lock().unwrap_or_else(|p| p.into_inner()));
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, c)| c).collect()
    }

    /// (reason, trials skipped for it), most frequent first.
    fn skips(&self) -> Vec<(String, usize)> {
        let skips = self.skips.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<(String, usize)> = skips.iter().map(|(r, n)| (r.clone(), *n)).collect();
        all.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        all
    }

    fn flaky(&self) -> Vec<String> {
        let mut names = self.flaky.lock().unwrap_or_else(|p| p.into_inner()).clone();
        names.sort();
        names
    }
}

/// What the report says about the run as a whole.
fn run_info(session: &Session, partition: Option<partition::Partition>) -> junit::RunInfo {
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

/// Runs the whole thing; the process's exit code. (Subcommands are chosen in `main.rs`.)
pub fn main(mode: Mode) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    run(cli, mode, None)
}

/// What a subcommand does with a finished run, before cleanup: it sees the session and every
/// trial's outcome; `false` fails the run.
pub type AfterRun<'a> = &'a mut dyn FnMut(&Session, &[Outcome]) -> bool;

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
    let recorder = Arc::new(Recorder::new(
        session.clone(),
        cli.run.partition,
        after.is_some(),
    ));
    let cases = build_trials(&session, &recorder, &load_errors, cli.run.retries);
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
    let conclusion = libtest_mimic::run(&libtest_args, trials);
    let tally = Tally::of(all, matched, &conclusion, recorder.skips());
    let after_ok = after.is_none_or(|f| f(&session, &recorder.take_outcomes()));

    let cleanup_problems = session.cleanup();
    for p in &cleanup_problems {
        eprintln!("csr-conformance: cleanup: {p}");
    }
    let flaky = recorder.flaky();
    if !flaky.is_empty() {
        eprintln!(
            "csr-conformance: {} flaky trial(s), failed and then passed on a retry: {}",
            flaky.len(),
            flaky.join(", ")
        );
    }
    if let Some(reason) = limits.refusal() {
        eprintln!("csr-conformance: stopped early: {reason}");
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

    // Under nextest every trial is its own process; its JUnit report is nextest's own.
    let under_nextest = std::env::var_os("NEXTEST_RUN_ID").is_some();
    if !cli.libtest.list && !cli.no_junit && !under_nextest {
        let path = cli
            .junit
            .clone()
            .unwrap_or_else(|| root.join("reports").join("junit.xml"));
        let mut header = run_info(&session, cli.run.partition).header();
        header
            .properties
            .extend(tally.properties(nothing.as_deref()));
        match junit::write_report_file(&recorder.take(), &header, &path) {
            Ok(()) => eprintln!(
                "csr-conformance: JUnit report written to {}",
                path.display()
            ),
            Err(e) => {
                eprintln!("csr-conformance: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
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
        let (sent, generated) = session.requests_sent();
        println!("{}", summary(sent, generated, started.elapsed(), seed));
    }
    if limits
        .stop
        .reason()
        .is_some_and(|r| r == limits::INTERRUPTED)
    {
        return ExitCode::from(130);
    }
    if conclusion.has_failed() || !cleanup_problems.is_empty() || !after_ok {
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

/// How many trials a run had, selected and judged: enough to say why it judged none, or that it
/// skipped most.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    /// Every trial of the run, before the name filter.
    all: usize,
    /// Those the name filter kept (FILTER, --exact, --skip, --ignored), before --partition.
    matched: usize,
    /// Passed, failed or errored.
    judged: u64,
    /// Skipped (libtest's "ignored"): (reason, trials), most frequent first.
    skips: Vec<(String, u64)>,
}

impl Tally {
    fn of(
        all: usize,
        matched: usize,
        c: &libtest_mimic::Conclusion,
        skips: Vec<(String, usize)>,
    ) -> Tally {
        let mut skips: Vec<(String, u64)> = skips.into_iter().map(|(r, n)| (r, n as u64)).collect();
        // Trials libtest itself did not run (under --bench) have no outcome to give a reason.
        let unexplained =
            c.num_ignored - skips.iter().map(|(_, n)| n).sum::<u64>().min(c.num_ignored);
        if unexplained > 0 {
            skips.push(("not run: --bench runs benchmarks only".into(), unexplained));
        }
        Tally {
            all,
            matched,
            judged: c.num_passed + c.num_failed + c.num_measured,
            skips,
        }
    }

    fn skipped(&self) -> u64 {
        self.skips.iter().map(|(_, n)| n).sum()
    }

    /// Why nothing was judged, as the sentence after `csr-conformance: `; `None` when
    /// something was.
    fn nothing_judged(
        &self,
        args: &libtest_mimic::Arguments,
        partition: Option<partition::Partition>,
        cases_dir: &Path,
    ) -> Option<String> {
        if self.judged > 0 {
            return None;
        }
        let selected = self.skipped();
        Some(if selected > 0 {
            match self.skips.as_slice() {
                [(reason, _)] => format!("every trial was skipped: {reason}"),
                _ => format!("every trial was skipped: {}", skip_list(&self.skips)),
            }
        } else if self.all == 0 {
            format!(
                "there is no trial to run: {} holds no case or property",
                cases_dir.display()
            )
        } else if self.matched == 0 {
            format!("no trial matched the filter {}", filter_words(args))
        } else if let Some(p) = partition {
            let of = if args.filter.is_some() || !args.skip.is_empty() || args.ignored {
                format!(" that matched the filter {}", filter_words(args))
            } else {
                String::new()
            };
            format!(
                "--partition {p} selected none of the {} trial(s){of}",
                self.matched
            )
        } else {
            "no trial was selected".into()
        })
    }

    /// The warning of a run that judged something but skipped more than half of what it
    /// selected.
    fn mostly_skipped(&self) -> Option<String> {
        let skipped = self.skipped();
        let selected = self.judged + skipped;
        (self.judged > 0 && skipped * 2 > selected).then(|| {
            format!(
                "{skipped} of {selected} trials skipped: {}",
                skip_list(&self.skips)
            )
        })
    }

    /// What the report says of it: why nothing was judged (`no_tests`), and the skip reasons
    /// with their counts (`skipped: REASON`) when they are what the run mostly did.
    fn properties(&self, nothing: Option<&str>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = nothing
            .map(|why| ("no_tests".to_string(), why.to_string()))
            .into_iter()
            .collect();
        if nothing.is_some() || self.mostly_skipped().is_some() {
            out.extend(
                self.skips
                    .iter()
                    .map(|(reason, n)| (format!("skipped: {reason}"), n.to_string())),
            );
        }
        out
    }
}

/// `240 "the scope holds no CSR to read", 42 "needs email + key"`.
fn skip_list(skips: &[(String, u64)]) -> String {
    skips
        .iter()
        .map(|(reason, n)| format!("{n} \"{reason}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name filter as given: `"pem::" --exact --skip "zone"`.
fn filter_words(args: &libtest_mimic::Arguments) -> String {
    let mut words: Vec<String> = args.filter.iter().map(|f| format!("{f:?}")).collect();
    if args.exact {
        words.push("--exact".into());
    }
    words.extend(args.skip.iter().map(|s| format!("--skip {s:?}")));
    if args.ignored {
        words.push("--ignored (no trial is marked ignored)".into());
    }
    words.join(" ")
}

/// The run's last line, for CI to read: `csr-conformance: N requests (G generated) in T s, seed S`.
pub fn summary(requests: usize, generated: usize, elapsed: Duration, seed: u64) -> String {
    format!(
        "csr-conformance: {requests} requests ({generated} generated) in {:.2} s, seed {seed}",
        elapsed.as_secs_f64()
    )
}

/// One trial per declared property and scope: `property::<scope>::<name>`, each its own unit
/// for `--partition`.
fn property_trials(
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
                let outcome =
                    driver::run_property(&session, si, &property, &trial_name, run_started);
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

/// Checks what loading cannot: that every template name a case uses means something, and that
/// named schemas exist. Invalid cases are dropped and reported; the others run.
pub fn validate_cases(cases: Vec<Case>, schemas: Option<&Schemas>) -> (Vec<Case>, Vec<LoadError>) {
    let fixtures: Vec<String> = cases
        .iter()
        .filter(|c| c.fixture)
        .map(|c| c.name.clone())
        .collect();
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for case in cases {
        match validate_case(&case, &fixtures, schemas) {
            Ok(()) => good.push(case),
            Err((line, message)) => errors.push(LoadError {
                file: case.origin.file.clone(),
                line,
                message: format!("case {:?}: {message}", case.name),
            }),
        }
    }
    (good, errors)
}

const BUILTIN_NAMES: &[&str] = &[
    "scope",
    "scope_id",
    "foreign_scope",
    "sibling_scope",
    "run_id",
    "random_uuid",
];

fn validate_case(
    case: &Case,
    fixtures: &[String],
    schemas: Option<&Schemas>,
) -> Result<(), (usize, String)> {
    let CaseBody::Steps(steps) = &case.body else {
        return Ok(());
    };
    let mut captured: Vec<String> = Vec::new();
    for step in steps {
        let at = |m: String| (step.origin.line, m);
        let mut names = template::names(&step.path).map_err(at)?;
        for (_, v) in &step.query {
            names.extend(template::names(v).map_err(at)?);
        }
        for (_, v) in &step.headers {
            names.extend(template::names(v).map_err(at)?);
        }
        if let Some(cases::BodyTemplate::Json(v)) = &step.body {
            names.extend(template::names_in_value(v).map_err(at)?);
        }
        if let Some(cases::BodyTemplate::Text { text, .. }) = &step.body {
            names.extend(template::names(text).map_err(at)?);
        }
        for v in step.expect.json.values() {
            names.extend(template::names_in_value(&cases::to_json(v.clone())).map_err(at)?);
        }
        for x in step.expect.excludes.iter().chain(&step.expect.holds) {
            names.extend(template::names(x).map_err(at)?);
        }
        for name in names {
            let known = BUILTIN_NAMES.contains(&name.as_str())
                || captured.contains(&name)
                || name.starts_with("repeat:")
                || name.strip_prefix("fixture.").is_some_and(|f| {
                    fixtures
                        .iter()
                        .any(|x| x == f.split('.').next().unwrap_or(""))
                });
            if !known {
                return Err(at(format!(
                    "unknown template name ${{{name}}} (a fixture, an earlier capture, or one of {})",
                    BUILTIN_NAMES.join(", ")
                )));
            }
            if let Some(Err(e)) = template::generate(&name) {
                return Err(at(e));
            }
        }
        if let (Some(name), Some(s)) = (&step.expect.schema, schemas)
            && !s.has(name)
        {
            return Err(at(format!("no schema {name}.json in schemas/")));
        }
        captured.extend(step.capture.iter().map(|(k, _)| k.clone()));
    }
    Ok(())
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
fn build_trials(
    session: &Arc<Session>,
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
                let (session, recorder) = (session.clone(), recorder.clone());
                let trial_name = name.clone();
                let trial = Trial::ignorable_test(name.clone(), move || {
                    let started = Instant::now();
                    let base_url = || session.base_url().unwrap_or_default();
                    let mut run = {
                        let _scope = session.hold_scope_for_case(si, ci);
                        session.run(si, ci)
                    };
                    let mut earlier: Vec<Attempt> = Vec::new();
                    let outcome = loop {
                        let (verdict, exchanges) = judge(family, &run, &session);
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
                        run = {
                            let _scope = session.hold_scope_for_case(si, ci);
                            session.rerun(si, ci)
                        };
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

fn judge(family: Family, run: &CaseRun, session: &Session) -> (Verdict, Vec<Exchange>) {
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
                envelope::check(ex, &refs)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("csr-conformance").chain(args.iter().copied())).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn no_target_means_the_embedded_emulator_in_both_scopes() {
        let s = settings(&cli(&[]), Mode::Binary, &env(&[])).unwrap();
        assert!(matches!(s.target, TargetSpec::Embedded));
        assert_eq!(s.scopes.len(), 2);
    }

    #[test]
    fn remote_targets_need_credentials_and_a_scope() {
        let e = settings(
            &cli(&["--target", "http://127.0.0.1:1"]),
            Mode::Binary,
            &env(&[]),
        )
        .unwrap_err();
        assert!(e.0.contains("no credentials"), "{e:?}");
        let e = settings(
            &cli(&["--target", "http://127.0.0.1:1"]),
            Mode::Binary,
            &env(&[("CLOUDFLARE_API_TOKEN", "t0k3n-value")]),
        )
        .unwrap_err();
        assert!(e.0.contains("no scope"), "{e:?}");
        let e = settings(
            &cli(&["--target", "http://127.0.0.1:1", "--zone-id", "z"]),
            Mode::Binary,
            &env(&[("CLOUDFLARE_EMAIL", "a@b.c")]),
        )
        .unwrap_err();
        assert!(e.0.contains("go together"), "{e:?}");
        let e = settings(&cli(&["--target", "ftp://x"]), Mode::Binary, &env(&[])).unwrap_err();
        assert!(e.0.contains("http"), "{e:?}");
    }

    #[test]
    fn the_environment_configures_the_binary_but_not_the_test_target() {
        let vars = env(&[
            ("CLOUDFLARE_BASE_URL", "https://api.example.test/client/v4/"),
            ("CLOUDFLARE_API_TOKEN", "t0k3n-value"),
            ("CLOUDFLARE_ZONE_ID", "023e105f4ecef8ad9ca31a8372d0c353"),
        ]);
        let s = settings(&cli(&[]), Mode::Binary, &vars).unwrap();
        let TargetSpec::Remote {
            base_url,
            credentials,
        } = s.target
        else {
            panic!("remote expected")
        };
        assert_eq!(base_url, "https://api.example.test/client/v4");
        assert_eq!(credentials.token.as_deref(), Some("t0k3n-value"));
        assert_eq!(
            s.scopes,
            vec![Scope::Zone("023e105f4ecef8ad9ca31a8372d0c353".into())]
        );
        let s = settings(&cli(&[]), Mode::TestTarget, &vars).unwrap();
        assert!(matches!(s.target, TargetSpec::Embedded));
    }

    #[test]
    fn one_seed_per_run_from_the_flag_the_environment_or_chance() {
        let vars = env(&[("CSR_CONFORMANCE_SEED", "77")]);
        let s = |args: &[&str], vars: &dyn Fn(&str) -> Option<String>| {
            settings(&cli(args), Mode::TestTarget, vars)
        };
        assert_eq!(s(&["--seed", "5"], &vars).unwrap().seed, 5);
        assert_eq!(s(&[], &vars).unwrap().seed, 77);
        let bad = env(&[("CSR_CONFORMANCE_SEED", "soon")]);
        assert!(s(&[], &bad).unwrap_err().0.contains("CSR_CONFORMANCE_SEED"));
        let a = s(&[], &env(&[])).unwrap().seed;
        let b = s(&[], &env(&[])).unwrap().seed;
        assert_ne!(a, b, "random when not given");
        assert_eq!(s(&["--cases", "9"], &env(&[])).unwrap().cases, Some(9));
        assert!(Cli::try_parse_from(["csr-conformance", "--cases", "0"]).is_err());
    }

    #[test]
    fn the_summary_line_has_the_form_ci_reads() {
        assert_eq!(
            summary(1234, 1000, Duration::from_millis(2346), 42),
            "csr-conformance: 1234 requests (1000 generated) in 2.35 s, seed 42"
        );
    }

    #[test]
    fn libtest_flags_sit_beside_ours() {
        let c = cli(&[
            "--read-only",
            "--exact",
            "pem::zone::x",
            "--test-threads",
            "1",
            "--list",
        ]);
        assert!(c.read_only && c.libtest.exact && c.libtest.list);
        assert_eq!(c.libtest.filter.as_deref(), Some("pem::zone::x"));
        assert_eq!(c.libtest.test_threads, Some(1));
    }

    fn tally(all: usize, matched: usize, judged: u64, skips: &[(&str, u64)]) -> Tally {
        Tally {
            all,
            matched,
            judged,
            skips: skips.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn a_run_that_judged_nothing_says_why() {
        let args = |a: &[&str]| cli(a).libtest;
        let dir = Path::new("cases");
        let why = |t: Tally, a: &[&str], p: Option<&str>| {
            t.nothing_judged(
                &args(a),
                p.map(|p| partition::Partition::parse(p).unwrap()),
                dir,
            )
        };
        assert_eq!(
            why(tally(384, 0, 0, &[]), &["nosuchtrial"], None).unwrap(),
            "no trial matched the filter \"nosuchtrial\""
        );
        assert_eq!(
            why(
                tally(384, 0, 0, &[]),
                &["x", "--exact", "--skip", "y"],
                None
            )
            .unwrap(),
            "no trial matched the filter \"x\" --exact --skip \"y\""
        );
        assert_eq!(
            why(tally(384, 3, 0, &[]), &["pem::"], Some("hash:2/3")).unwrap(),
            "--partition hash:2/3 selected none of the 3 trial(s) that matched the filter \"pem::\""
        );
        assert_eq!(
            why(
                tally(384, 40, 0, &[("the scope holds no CSR to read", 40)]),
                &[],
                None
            )
            .unwrap(),
            "every trial was skipped: the scope holds no CSR to read"
        );
        assert_eq!(
            why(tally(384, 40, 0, &[("a", 30), ("b", 10)]), &[], None).unwrap(),
            "every trial was skipped: 30 \"a\", 10 \"b\""
        );
        assert!(
            why(tally(0, 0, 0, &[]), &[], None)
                .unwrap()
                .starts_with("there is no trial to run")
        );
        assert_eq!(why(tally(384, 384, 1, &[("a", 383)]), &[], None), None);
    }

    #[test]
    fn a_run_that_skipped_most_warns_and_reports_the_counts() {
        let t = tally(
            384,
            384,
            102,
            &[
                ("the scope holds no CSR to read", 240),
                ("needs email + key", 42),
            ],
        );
        assert_eq!(
            t.mostly_skipped().unwrap(),
            "282 of 384 trials skipped: 240 \"the scope holds no CSR to read\", 42 \"needs email + key\""
        );
        assert_eq!(
            t.properties(None),
            vec![
                (
                    "skipped: the scope holds no CSR to read".into(),
                    "240".into()
                ),
                ("skipped: needs email + key".into(), "42".into()),
            ]
        );
        // Half is not more than half; and a run that judged nothing says so instead.
        let half = tally(4, 4, 2, &[("a", 2)]);
        assert_eq!(half.mostly_skipped(), None);
        assert!(half.properties(None).is_empty());
        assert_eq!(tally(4, 4, 0, &[("a", 4)]).mostly_skipped(), None);
        assert_eq!(
            tally(4, 0, 0, &[]).properties(Some("no trial matched the filter \"x\"")),
            vec![(
                "no_tests".into(),
                "no trial matched the filter \"x\"".into()
            )]
        );
    }

    #[test]
    fn nothing_matched_fails_the_binary_but_not_cargo_test() {
        assert_eq!(NoTests::default_for(Mode::Binary), NoTests::Fail);
        assert_eq!(NoTests::default_for(Mode::TestTarget), NoTests::Pass);
        assert_eq!(cli(&["--no-tests=warn"]).no_tests, Some(NoTests::Warn));
        assert!(Cli::try_parse_from(["csr-conformance", "--no-tests=maybe"]).is_err());
    }

    #[test]
    fn unknown_template_names_are_load_errors() {
        let text = "[[case]]\nname = \"a\"\n[[case.steps]]\nmethod = \"GET\"\npath = \"${scope}/custom_csrs/${fixture.nope.id}\"\n";
        let cases = cases::parse_case_file(Path::new("cases/x.toml"), text).unwrap();
        let (good, errors) = validate_cases(cases, None);
        assert!(good.is_empty());
        assert_eq!(errors[0].line, 3);
        assert!(
            errors[0].message.contains("${fixture.nope.id}"),
            "{}",
            errors[0]
        );
    }
}
