//! A run stays bounded and honest whatever the target does: misbehaving loopback servers (each
//! written here, each living no longer than its test) are reported as `error` with a one-line
//! reason, within the run's deadline, with no panic and a valid JUnit report. Also: Ctrl-C and
//! the deadline still report and clean up, shards merge into the report of one run, `--retries`
//! tells flaky from failing, and a 429's wait shows in the report; a target that says to wait
//! longer than a run waits stops the run at once, with its report.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::proxy::{Fault, FaultyProxy};
use support::{
    ACCOUNT_ID, Creds, Run, ZONE_ID, assert_junit_valid, assert_report_valid, run_harness,
};

/// How long any connection of a hostile server is held at most: nothing here outlives a test.
const HOLD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum Misbehaviour {
    /// Reads the request and never answers.
    NeverAnswers,
    /// Sends the status line and headers, then nothing.
    HeadersThenStalls,
    /// Sends its answer one byte every 200 ms.
    Drips,
    /// Sends headers and part of the body, then resets the connection.
    ResetsMidBody,
    /// 200 with a text body.
    NotJson,
    /// 200, `application/json`, bytes that are not UTF-8.
    InvalidUtf8,
    /// 200 with a 50 MB body.
    FiftyMegabytes,
    /// 302 back to the same URL, for ever.
    RedirectLoop,
}

/// A loopback server that misbehaves in one way on every connection. Dropping it stops it.
struct Hostile {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    fn start(how: Misbehaviour) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let stopping = stopping.clone();
                        std::thread::spawn(move || serve(conn, how, &stopping));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Hostile {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/client/v4", self.port)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request head (and whatever else has arrived); the path it asked for.
fn read_request(conn: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        // Not HTTP (a TLS ClientHello, say): answer at once, as a plain HTTP server does.
        if !got[0].is_ascii_uppercase() {
            break;
        }
    }
    let head = String::from_utf8_lossy(&got);
    head.split_whitespace().nth(1).unwrap_or("/").to_string()
}

fn hold(stopping: &AtomicBool) {
    let until = Instant::now() + HOLD;
    while Instant::now() < until && !stopping.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn serve(mut conn: TcpStream, how: Misbehaviour, stopping: &AtomicBool) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
    let close = |body: &[u8], head: &str| -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    match how {
        Misbehaviour::NeverAnswers => {
            read_request(&mut conn);
            hold(stopping);
        }
        Misbehaviour::HeadersThenStalls => {
            read_request(&mut conn);
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
            );
            hold(stopping);
        }
        Misbehaviour::Drips => {
            read_request(&mut conn);
            let answer = close(
                br#"{"success":true,"errors":[],"messages":[],"result":[]}"#,
                "200 OK",
            );
            for b in answer {
                if stopping.load(Ordering::Relaxed) || conn.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Misbehaviour::ResetsMidBody => {
            // Unread request bytes make the close a reset (RST) rather than an orderly FIN.
            std::thread::sleep(Duration::from_millis(20));
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"success\":tr",
            );
            let _ = conn.shutdown(Shutdown::Both);
        }
        Misbehaviour::NotJson => {
            read_request(&mut conn);
            let _ = conn.write_all(&close(b"<html>hello, this is not JSON</html>", "200 OK"));
        }
        Misbehaviour::InvalidUtf8 => {
            read_request(&mut conn);
            let _ = conn.write_all(&close(
                b"{\"success\":true,\"errors\":[],\"messages\":[],\"result\":\"\xff\xfe\xc3\x28\"}",
                "200 OK",
            ));
        }
        Misbehaviour::FiftyMegabytes => {
            read_request(&mut conn);
            // No Content-Length: only reading shows how large it is.
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
            );
            let chunk = vec![b' '; 1 << 20];
            for _ in 0..50 {
                if stopping.load(Ordering::Relaxed) || conn.write_all(&chunk).is_err() {
                    return;
                }
            }
        }
        Misbehaviour::RedirectLoop => {
            let path = read_request(&mut conn);
            let _ = conn.write_all(&close(b"", &format!("302 Found\r\nLocation: {path}")));
        }
    }
}

fn token() -> Creds {
    Creds {
        token: Some("hostile-target-token-0000".into()),
        ..Creds::default()
    }
}

/// Runs the harness against `url` with a 2 s timeout and a 60 s deadline, and checks what
/// every misbehaviour must give: exit 1, a valid report, every judged trial an `error` (none
/// a `failure`), each with a one-line reason containing `reason`, no panic, within the deadline.
#[track_caller]
fn assert_errors_within_deadline(url: &str, filter: &[&str], reason: &str) -> Run {
    let mut args = vec!["--timeout", "2", "--deadline", "60"];
    args.extend(filter);
    let started = Instant::now();
    let run = run_harness(url, &token(), &args);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "took {took:?}\n{}",
        run.summary()
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_junit_valid(&run);
    assert!(run.failed_trials.is_empty(), "{}", run.summary());
    assert!(!run.errored_trials.is_empty(), "{}", run.summary());
    let judged = run.trials.len() - run.skipped_trials.len();
    assert_eq!(run.errored_trials.len(), judged, "{}", run.summary());
    let messages = error_messages(&run.junit);
    assert_eq!(messages.len(), judged);
    for (trial, message) in &messages {
        assert!(!message.contains('\n'), "{trial}: {message:?}");
        assert!(message.starts_with("error: "), "{trial}: {message}");
    }
    assert!(
        messages.values().any(|m| m.contains(reason)),
        "no error says {reason:?}: {messages:#?}"
    );
    run
}

/// The `message` of every `<error>`, by testcase.
fn error_messages(junit: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for case in junit.split("<testcase ").skip(1) {
        let name = case.split('"').nth(1).unwrap_or_default().to_string();
        let case = case.split("</testcase>").next().unwrap_or_default();
        if let Some(at) = case.find("<error message=\"") {
            let rest = &case[at + "<error message=\"".len()..];
            let message = rest.split('"').next().unwrap_or_default();
            out.insert(name, message.replace("&#10;", "\n").replace("&quot;", "\""));
        }
    }
    out
}

#[test]
fn a_target_that_never_answers() {
    let server = Hostile::start(Misbehaviour::NeverAnswers);
    let run = assert_errors_within_deadline(&server.url(), &[], "timed out");
    // After a few timeouts the rest are reported at once, naming why.
    let messages = error_messages(&run.junit);
    assert!(
        messages
            .values()
            .any(|m| m.contains("the target stopped answering")),
        "{messages:#?}"
    );
}

#[test]
fn a_target_that_sends_headers_then_stalls() {
    let server = Hostile::start(Misbehaviour::HeadersThenStalls);
    assert_errors_within_deadline(&server.url(), &[], "timed out");
}

#[test]
fn a_target_that_drips() {
    let server = Hostile::start(Misbehaviour::Drips);
    assert_errors_within_deadline(&server.url(), &[], "timed out");
}

#[test]
fn a_target_that_resets_mid_body() {
    let server = Hostile::start(Misbehaviour::ResetsMidBody);
    assert_errors_within_deadline(&server.url(), &["auth::"], "transport error");
}

#[test]
fn a_target_that_answers_no_json() {
    let server = Hostile::start(Misbehaviour::NotJson);
    assert_errors_within_deadline(&server.url(), &[], "is not JSON");
}

#[test]
fn a_target_that_answers_invalid_utf8() {
    let server = Hostile::start(Misbehaviour::InvalidUtf8);
    assert_errors_within_deadline(&server.url(), &[], "is not UTF-8");
}

#[test]
fn a_target_that_answers_50_megabytes() {
    let server = Hostile::start(Misbehaviour::FiftyMegabytes);
    assert_errors_within_deadline(&server.url(), &["auth::zone::"], "larger than");
}

#[test]
fn a_target_that_redirects_in_a_loop() {
    let server = Hostile::start(Misbehaviour::RedirectLoop);
    assert_errors_within_deadline(&server.url(), &[], "never redirects");
}

#[test]
fn an_https_url_pointed_at_a_plain_http_port() {
    let server = Hostile::start(Misbehaviour::NotJson);
    let url = server.url().replace("http://", "https://");
    assert_errors_within_deadline(&url, &[], "could not connect");
}

#[test]
fn a_closed_port() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/client/v4");
    assert_errors_within_deadline(&url, &[], "could not connect");
}

/// The acceptance bound of the issue: default settings, a target that never answers, a
/// report within two minutes.
#[test]
fn default_settings_end_within_two_minutes_against_a_silent_target() {
    let server = Hostile::start(Misbehaviour::NeverAnswers);
    let started = Instant::now();
    let run = run_harness(&server.url(), &token(), &[]);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    assert_junit_valid(&run);
    assert!(run.failed_trials.is_empty(), "{}", run.summary());
    assert!(!run.errored_trials.is_empty(), "{}", run.summary());
}

// Interrupted runs.

/// An emulator that takes its time over each answer, so a run is still going when it is cut.
fn slow_emulator() -> csr_emulator::Emulator {
    csr_emulator::Emulator::start(csr_emulator::Config {
        latency: Some(Duration::from_millis(150)),
        ..csr_emulator::Config::default()
    })
    .unwrap()
}

/// `total_count` of a scope's list, asked over a plain socket.
fn csrs_held(emulator: &csr_emulator::Emulator, scope: &str) -> u64 {
    let mut conn = TcpStream::connect(emulator.local_addr()).unwrap();
    write!(
        conn,
        "GET /client/v4/{scope}/custom_csrs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        emulator.config().token
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let at = answer.find("\"total_count\":").expect("a list answer") + "\"total_count\":".len();
    answer[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Starts the harness against `emulator`, lets it run `for_`, sends SIGINT when `interrupt`,
/// and waits for it (at most 90 s). Exit code, report, stderr.
fn cut_short(
    emulator: &csr_emulator::Emulator,
    args: &[&str],
    for_: Duration,
    interrupt: bool,
) -> (i32, String, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cut-short-{}-{interrupt}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let junit = dir.join("junit.xml");
    let _ = std::fs::remove_file(&junit);
    let err = dir.join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_csr-conformance"))
        .args(["--target", &emulator.base_url()])
        .args(["--account-id", ACCOUNT_ID, "--zone-id", ZONE_ID])
        .arg("--junit")
        .arg(&junit)
        .args(args)
        .env_remove("NEXTEST_RUN_ID")
        .env("CLOUDFLARE_API_TOKEN", &emulator.config().token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(for_);
    if interrupt {
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("the harness did not end after being cut short");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(&junit).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default(),
    )
}

#[track_caller]
fn assert_reported_and_cleaned(
    emulator: &csr_emulator::Emulator,
    junit: &str,
    stderr: &str,
    why: &str,
) {
    assert!(junit.contains("<testcase "), "no report; stderr:\n{stderr}");
    assert_report_valid(junit);
    let messages = error_messages(junit);
    assert!(
        messages.values().any(|m| m.contains(why)),
        "no error says {why:?}: {messages:#?}\n{stderr}"
    );
    // The run had created CSRs before it was cut, and deleted them all afterwards.
    assert!(junit.contains("/custom_csrs -&gt; 201"), "{junit}");
    assert_eq!(csrs_held(emulator, &format!("accounts/{ACCOUNT_ID}")), 0);
    assert_eq!(csrs_held(emulator, &format!("zones/{ZONE_ID}")), 0);
}

/// Hand-written cases only: generated trials run first and each deletes what its case made, so in
/// the 3 s before the cut it is the fixtures of the hand-written cases that leave CSRs behind
/// for the cleanup to delete, and their creates that show in the report.
const SETS_UP_FIXTURES: &[&str] = &["--skip", "property::"];

#[test]
fn ctrl_c_still_reports_and_cleans_up() {
    let emulator = slow_emulator();
    let (code, junit, stderr) =
        cut_short(&emulator, SETS_UP_FIXTURES, Duration::from_secs(3), true);
    assert_eq!(code, 130, "{stderr}");
    assert_reported_and_cleaned(&emulator, &junit, &stderr, "interrupted (Ctrl-C)");
}

#[test]
fn the_deadline_still_reports_and_cleans_up() {
    let emulator = slow_emulator();
    let (code, junit, stderr) = cut_short(
        &emulator,
        &[SETS_UP_FIXTURES, &["--deadline", "3"]].concat(),
        Duration::from_millis(0),
        false,
    );
    assert_eq!(code, 1, "{stderr}");
    assert_reported_and_cleaned(&emulator, &junit, &stderr, "deadline of 3 s");
}

// Scale-out.

/// (testcase, outcome) of a report: pass, failure, error or skipped.
fn outcomes(run_junit: &str) -> Vec<(String, &'static str)> {
    let p = support::parse_junit(run_junit);
    let mut out: Vec<(String, &'static str)> = p
        .trials
        .iter()
        .map(|t| {
            let o = if p.failed_trials.contains(t) {
                "failure"
            } else if p.errored_trials.contains(t) {
                "error"
            } else if t.starts_with("pem::") {
                // Whether a list answer carries a CSR to check (pass) or none (skipped)
                // depends on what other trials had created by then, in any run.
                "pass or skipped"
            } else if p.skipped_trials.contains_key(t) {
                "skipped"
            } else {
                "pass"
            };
            (t.clone(), o)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn three_shards_merged_are_one_run() {
    // A target with a fault, so that the outcomes to compare are not all passes.
    let proxy = FaultyProxy::start(Fault::UnknownIdFound).unwrap();
    // Shards share the run's seed, so generated trials send the same requests in every shard.
    let common = ["--skip", "huge_body", "--seed", "7"];
    let whole = run_harness(&proxy.base_url(), &proxy.creds(), &common);
    for scheme in ["count", "hash"] {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("shards-{}-{scheme}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut inputs = Vec::new();
        let mut sizes = Vec::new();
        for k in 1..=3 {
            let spec = format!("{scheme}:{k}/3");
            let mut args = common.to_vec();
            args.extend(["--partition", &spec]);
            let shard = run_harness(&proxy.base_url(), &proxy.creds(), &args);
            assert_junit_valid(&shard);
            sizes.push(shard.trials.len());
            let path = dir.join(format!("shard-{k}.xml"));
            std::fs::write(&path, &shard.junit).unwrap();
            inputs.push(path);
        }
        assert!(sizes.iter().all(|n| *n > 0), "{sizes:?}");
        let merged_path = dir.join("merged.xml");
        let out = Command::new(env!("CARGO_BIN_EXE_csr-conformance"))
            .arg("merge")
            .arg("-o")
            .arg(&merged_path)
            .args(&inputs)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let merged = std::fs::read_to_string(&merged_path).unwrap();
        assert_report_valid(&merged);
        let (merged_outcomes, whole_outcomes) = (outcomes(&merged), outcomes(&whole.junit));
        let differ: Vec<_> = merged_outcomes
            .iter()
            .filter(|o| !whole_outcomes.contains(o))
            .chain(
                whole_outcomes
                    .iter()
                    .filter(|o| !merged_outcomes.contains(o)),
            )
            .collect();
        assert!(differ.is_empty(), "{scheme}: {differ:?}");
        assert_eq!(merged_outcomes.len(), whole_outcomes.len());
        assert!(outcomes(&merged).iter().any(|(_, o)| *o == "failure"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// Retries and flaky trials.

#[test]
fn a_trial_that_fails_then_passes_is_flaky() {
    let proxy = FaultyProxy::start(Fault::FirstListUnavailable).unwrap();
    // Without retries the first list request's 503 is a failure.
    let plain = run_harness(&proxy.base_url(), &proxy.creds(), &["behaviour::"]);
    assert_eq!(plain.code, 1, "{}", plain.summary());
    assert!(!plain.failed_trials.is_empty(), "{}", plain.summary());

    let proxy = FaultyProxy::start(Fault::FirstListUnavailable).unwrap();
    let run = run_harness(
        &proxy.base_url(),
        &proxy.creds(),
        &["behaviour::", "--retries", "2"],
    );
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(run.failed_trials.is_empty(), "{}", run.summary());
    assert_junit_valid(&run);
    // Reported as flaky, with the failed attempt's details, and named in the summary.
    assert!(run.junit.contains("<flakyFailure "), "{}", run.junit);
    assert!(run.junit.contains("503"), "{}", run.junit);
    assert!(
        run.junit.contains("flaky: passed on attempt 2"),
        "{}",
        run.junit
    );
    assert!(run.stderr.contains("flaky trial(s)"), "{}", run.stderr);
}

#[test]
fn a_deterministic_failure_stays_a_failure_under_retries() {
    let proxy = FaultyProxy::start(Fault::UnknownIdFound).unwrap();
    let run = run_harness(
        &proxy.base_url(),
        &proxy.creds(),
        &["behaviour::", "--retries", "2"],
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    run.assert_fired("behaviour::", "unknown_id_is_not_found", "expect.status");
    assert_junit_valid(&run);
    assert!(run.junit.contains("<rerunFailure "), "{}", run.junit);
    assert!(!run.junit.contains("<flakyFailure "), "{}", run.junit);
    assert!(!run.stderr.contains("flaky trial(s)"), "{}", run.stderr);
}

#[test]
fn a_429_waits_for_retry_after_and_the_wait_is_reported() {
    let proxy = FaultyProxy::start(Fault::FirstListRateLimited).unwrap();
    let run = run_harness(&proxy.base_url(), &proxy.creds(), &["behaviour::"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert_junit_valid(&run);
    assert!(
        run.junit
            .contains("answered 429: waited 1 s (Retry-After: 1) and sent it again"),
        "{}",
        run.junit
    );
}

// Told to stop.

/// An emulator that answers `requests` requests per credential, then 429 for the rest of
/// `window`, with `Retry-After` saying how long that is (as Cloudflare's limit does).
fn rate_limited_emulator(requests: u32, window: Duration) -> csr_emulator::Emulator {
    csr_emulator::Emulator::start(csr_emulator::Config {
        rate_limit: Some(csr_emulator::RateLimit { requests, window }),
        ..csr_emulator::Config::default()
    })
    .unwrap()
}

/// The request count of the run's summary line.
fn requests_sent(run: &Run) -> usize {
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(" requests ("))
        .unwrap_or_else(|| panic!("no summary line: {}", run.summary()));
    let n = line.split(" requests (").next().unwrap_or_default();
    n.rsplit(' ').next().unwrap_or_default().parse().unwrap()
}

#[test]
fn a_429_asking_for_more_than_a_run_waits_stops_the_run_with_its_report() {
    // An hour's wait after 20 answers: far beyond what a run waits (60 s).
    let emulator = rate_limited_emulator(20, Duration::from_secs(3600));
    let creds = Creds::of_emulator(emulator.config());
    let started = Instant::now();
    let run = run_harness(&emulator.base_url(), &creds, &[]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.summary());
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_junit_valid(&run);
    // A 429 is not the target breaking the contract: nothing is a failure, what could not be
    // judged is an error, and the run says why it stopped.
    assert!(run.failed_trials.is_empty(), "{}", run.summary());
    assert!(!run.errored_trials.is_empty(), "{}", run.summary());
    assert!(
        run.stderr
            .contains("csr-conformance: stopped early: the target told the run to stop sending (",),
        "{}",
        run.stderr
    );
    assert!(
        run.junit.contains(
            r#"<property name="stopped_early" value="the target told the run to stop sending ("#
        ),
        "{}",
        run.junit
    );
    let messages = error_messages(&run.junit);
    assert!(
        messages
            .values()
            .any(|m| m.contains("answered 429 with Retry-After: ")
                && m.contains("longer than the 60 s a run waits")),
        "{messages:#?}"
    );
    assert!(
        messages
            .values()
            .any(|m| m.contains("not answered: the target told the run to stop sending")),
        "{messages:#?}"
    );
    // Once told, the run stopped asking: at most the 20 answers of each of its two credentials
    // and the 429s of the requests then in flight, not the hundreds of requests of a whole run.
    let sent = requests_sent(&run);
    assert!(sent <= 50, "{sent} requests\n{}", run.stderr);
    // Not even the cleanup asks again: what it could not delete is named, with why.
    for line in run.stderr.lines().filter(|l| l.contains("cleanup:")) {
        assert!(
            line.contains("not answered: the target told the run to stop sending ("),
            "{line}"
        );
    }
}

#[test]
fn a_short_429_pauses_the_run_and_the_run_still_passes() {
    // 40 answers a second: the run is told to wait again and again, and waits each time.
    let emulator = rate_limited_emulator(40, Duration::from_secs(1));
    let creds = Creds::of_emulator(emulator.config());
    let run = run_harness(&emulator.base_url(), &creds, &["--skip", "property::"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert_junit_valid(&run);
    assert!(
        run.junit
            .contains("answered 429: waited 1 s (Retry-After: 1) and sent it again"),
        "{}",
        run.junit
    );
    assert!(!run.stderr.contains("stopped early"), "{}", run.stderr);
}
