//! Shared by the integration tests that run the `csr-conformance` binary against a server and
//! judge what it reported: [`run_harness`] (the driver) and [`proxy`] (a faulty proxy in front
//! of an embedded emulator).
//!
//! Include with `mod support;` from a file directly under `harness/tests/`.
#![allow(dead_code)] // each test binary uses only some of these helpers

pub mod proxy;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The account id the driver checks under unless `extra_args` names one.
pub const ACCOUNT_ID: &str = "a11ce0000000000000000000000000a1";
/// The zone id the driver checks under unless `extra_args` names one.
pub const ZONE_ID: &str = "20e0000000000000000000000000020e";

/// A harness run that has not finished by then is killed and the test fails: a server that
/// hangs must not hang the test suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// What the harness is given as `CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_EMAIL` and
/// `CLOUDFLARE_API_KEY`; `None` leaves the variable unset.
#[derive(Debug, Clone, Default)]
pub struct Creds {
    pub token: Option<String>,
    pub email: Option<String>,
    pub api_key: Option<String>,
}

impl Creds {
    /// All three credentials an emulator accepts.
    pub fn of_emulator(config: &csr_emulator::Config) -> Creds {
        Creds {
            token: Some(config.token.clone()),
            email: Some(config.email.clone()),
            api_key: Some(config.api_key.clone()),
        }
    }

    /// Those of `csr_emulator::Config::default()`, which are also the SDK test suites' (and
    /// so Prism's and the independent server's).
    pub fn emulator_defaults() -> Creds {
        Creds::of_emulator(&csr_emulator::Config::default())
    }
}

/// What one run of the binary reported.
#[derive(Debug)]
pub struct Run {
    /// The process's exit code (-1 if it died of a signal).
    pub code: i32,
    /// The JUnit report, as written (empty if there was none).
    pub junit: String,
    /// (trial name, rule) for every finding of every failed trial.
    pub fired: BTreeSet<(String, String)>,
    /// Trials with a `<failure>`: the server broke a rule.
    pub failed_trials: BTreeSet<String>,
    /// Trials with an `<error>`: they could not be judged.
    pub errored_trials: BTreeSet<String>,
    /// Trials with `<skipped>`, with the reason given.
    pub skipped_trials: BTreeMap<String, String>,
    /// Every trial in the report.
    pub trials: BTreeSet<String>,
    /// The report's text for each failed or errored trial (findings, exchange, curl line).
    pub details: BTreeMap<String, String>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Whether `rule` fired in a trial whose name starts with `prefix` and ends with `suffix`
    /// (either may be empty), e.g. `("pem::", ".rsa_full", "pem.block")`.
    pub fn fired_in(&self, prefix: &str, suffix: &str, rule: &str) -> bool {
        self.fired
            .iter()
            .any(|(t, r)| r == rule && t.starts_with(prefix) && t.ends_with(suffix))
    }

    /// Panics with [`Run::summary`] unless `rule` fired in a matching trial.
    #[track_caller]
    pub fn assert_fired(&self, prefix: &str, suffix: &str, rule: &str) {
        assert!(
            self.fired_in(prefix, suffix, rule),
            "expected {rule} in a trial {prefix}…{suffix}\n{}",
            self.summary()
        );
    }

    /// Exit code, failed and errored trials with their rules, and stderr: enough to see why
    /// an assertion did not hold.
    pub fn summary(&self) -> String {
        let mut out = format!("exit code {}\n", self.code);
        for t in &self.failed_trials {
            let rules: Vec<&str> = self
                .fired
                .iter()
                .filter(|(n, _)| n == t)
                .map(|(_, r)| r.as_str())
                .collect();
            let _ = writeln!(out, "  failed  {t}: {}", rules.join(", "));
        }
        for t in &self.errored_trials {
            let _ = writeln!(out, "  errored {t}");
        }
        let tail: String = {
            let chars: Vec<char> = self.stderr.chars().collect();
            chars[chars.len().saturating_sub(2000)..].iter().collect()
        };
        let _ = write!(out, "stderr (tail):\n{tail}");
        out
    }
}

/// Runs the built `csr-conformance` binary against `base_url` (e.g. `http://127.0.0.1:1/client/v4`)
/// with `creds` as its only CLOUDFLARE_* environment, checking account [`ACCOUNT_ID`] and zone
/// [`ZONE_ID`] unless `extra_args` gives `--account-id`/`--zone-id`. `extra_args` go after
/// those: libtest flags, a trial-name filter, `--strict`, `--read-only`... The JUnit report goes
/// to a fresh directory and is parsed into the returned [`Run`].
pub fn run_harness(base_url: &str, creds: &Creds, extra_args: &[&str]) -> Run {
    let given = |flag: &str| extra_args.iter().any(|a| a.split('=').next() == Some(flag));
    let account = (!given("--account-id")).then_some(ACCOUNT_ID);
    let zone = (!given("--zone-id")).then_some(ZONE_ID);
    run_harness_in(base_url, creds, account, zone, extra_args)
}

/// [`run_harness`] checking exactly the scopes given (`None`: that scope kind is not checked).
pub fn run_harness_in(
    base_url: &str,
    creds: &Creds,
    account: Option<&str>,
    zone: Option<&str>,
    extra_args: &[&str],
) -> Run {
    run_harness_watched(base_url, creds, account, zone, extra_args, &mut |_| {})
}

/// [`run_harness_in`], calling `watch` with the child's process id every 20 ms while it runs
/// (e.g. to read its peak memory with [`peak_rss_kib`]).
pub fn run_harness_watched(
    base_url: &str,
    creds: &Creds,
    account: Option<&str>,
    zone: Option<&str>,
    extra_args: &[&str],
    watch: &mut dyn FnMut(u32),
) -> Run {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "harness-run-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the run directory");
    let junit_path = dir.join("junit.xml");
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));

    let mut cmd = harness_command(creds);
    cmd.arg("--target").arg(base_url);
    if let Some(id) = account {
        cmd.args(["--account-id", id]);
    }
    if let Some(id) = zone {
        cmd.args(["--zone-id", id]);
    }
    cmd.arg("--junit").arg(&junit_path).args(extra_args);
    // Files rather than pipes, so a chatty run can never block on a full pipe while we poll.
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("create stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("create stderr file"));

    let mut child = cmd.spawn().expect("start csr-conformance");
    let started = Instant::now();
    let status = loop {
        watch(child.id());
        if let Some(status) = child.try_wait().expect("wait for csr-conformance") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "csr-conformance against {base_url} did not finish within {RUN_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };

    let junit = std::fs::read_to_string(&junit_path).unwrap_or_default();
    let Parsed {
        fired,
        failed_trials,
        errored_trials,
        skipped_trials,
        trials,
        details,
    } = parse_junit(&junit);
    let run = Run {
        code: status.code().unwrap_or(-1),
        junit,
        fired,
        failed_trials,
        errored_trials,
        skipped_trials,
        trials,
        details,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    run
}

/// The peak resident memory of a running process (`VmHWM` of `/proc/PID/status`), in KiB;
/// `None` where there is no `/proc` or the process has ended.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Panics unless the report a run wrote validates against the Jenkins junit-10 XSD (a copy
/// in `harness/tests/data/`), checked with `xmllint`.
pub fn assert_junit_valid(run: &Run) {
    assert_report_valid(&run.junit);
}

/// [`assert_junit_valid`] for a report that no [`Run`] holds (a merged one, a cut-short one).
pub fn assert_report_valid(junit: &str) {
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit-10.xsd");
    static REPORTS: AtomicUsize = AtomicUsize::new(0);
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "report-{}-{}.xml",
        std::process::id(),
        REPORTS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&file, junit).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(&file)
        .output()
        .expect("xmllint missing: install libxml2-utils (bash .ci/install)");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The built `csr-conformance` binary with `creds` as its only CLOUDFLARE_* environment.
pub fn harness_command(creds: &Creds) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csr-conformance"));
    // The developer's or CI's own settings must not leak in: a CLOUDFLARE_BASE_URL or real
    // token would point the run elsewhere, and under nextest the binary writes no JUnit file.
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("CLOUDFLARE_") || k.starts_with("NEXTEST") || k.starts_with("CSR_") {
            cmd.env_remove(&key);
        }
    }
    for (var, value) in [
        ("CLOUDFLARE_API_TOKEN", &creds.token),
        ("CLOUDFLARE_EMAIL", &creds.email),
        ("CLOUDFLARE_API_KEY", &creds.api_key),
    ] {
        if let Some(v) = value {
            cmd.env(var, v);
        }
    }
    cmd
}

/// What [`parse_junit`] finds; the fields mean what [`Run`]'s do.
#[derive(Debug, Default)]
pub struct Parsed {
    pub fired: BTreeSet<(String, String)>,
    pub failed_trials: BTreeSet<String>,
    pub errored_trials: BTreeSet<String>,
    pub skipped_trials: BTreeMap<String, String>,
    pub trials: BTreeSet<String>,
    pub details: BTreeMap<String, String>,
}

/// Reads the harness's own JUnit layout: `<testcase name="…">` holding at most one
/// `<failure …>text</failure>` or `<error …>text</error>`, the text listing each finding as a
/// line `finding N of M: rule`.
pub fn parse_junit(xml: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut rest = xml;
    while let Some(at) = rest.find("<testcase ") {
        rest = &rest[at..];
        let head_end = rest.find('>').unwrap_or(rest.len());
        let head = &rest[..head_end];
        let name = attr(head, "name").unwrap_or_default();
        // A self-closing testcase has no body; otherwise the body runs to its end tag.
        let body_end = if head.ends_with('/') {
            head_end
        } else {
            rest.find("</testcase>").unwrap_or(rest.len())
        };
        let body = &rest[head_end.min(body_end)..body_end];
        parsed.trials.insert(name.clone());
        if let Some(at) = body.find("<skipped") {
            let skipped_head = &body[at..body[at..].find('>').map_or(body.len(), |e| at + e)];
            let reason = attr(skipped_head, "message").unwrap_or_default();
            parsed.skipped_trials.insert(name.clone(), reason);
        }
        if let Some(text) = element_text(body, "failure") {
            for line in text.lines() {
                if let Some(rule) = line
                    .strip_prefix("finding ")
                    .and_then(|l| l.split_once(": "))
                    .map(|(_, rule)| rule.trim())
                {
                    parsed.fired.insert((name.clone(), rule.to_string()));
                }
            }
            parsed.failed_trials.insert(name.clone());
            parsed.details.insert(name, text);
        } else if let Some(text) = element_text(body, "error") {
            parsed.errored_trials.insert(name.clone());
            parsed.details.insert(name, text);
        }
        rest = &rest[body_end.max(1)..];
    }
    parsed
}

fn attr(head: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = head.find(&key)? + key.len();
    let len = head[start..].find('"')?;
    Some(unescape(&head[start..start + len]))
}

fn element_text(body: &str, tag: &str) -> Option<String> {
    let open = body.find(&format!("<{tag}"))?;
    let after = &body[open..];
    let head_end = after.find('>')?;
    if after[..head_end].ends_with('/') {
        return Some(String::new());
    }
    let text = &after[head_end + 1..];
    let end = text.find(&format!("</{tag}>")).unwrap_or(text.len());
    Some(unescape(&text[..end]))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| e.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The seeds a fault sweep runs: 1 to `CSR_SWEEP_SEEDS` (default 5, to keep CI short). The
/// 20-seed sweeps the issues ask for are `CSR_SWEEP_SEEDS=20 cargo test --test …`, or
/// `bash bench/fault_sweep.sh 20` against release builds.
#[allow(dead_code)] // not every test binary sweeps
pub fn sweep_seeds() -> Vec<u64> {
    let n = std::env::var("CSR_SWEEP_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5);
    (1..=n).collect()
}
