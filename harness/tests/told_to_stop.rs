//! Targets that tell the run to stop, or answer more than it may hold, run to their end in
//! bounded time, with bounded requests and memory (issue 19), each against a loopback server
//! written here that counts the requests it is sent:
//! - 429 to everything with `Retry-After: 1`: the run waits 3 times in a row, then stops;
//! - 429 with `Retry-After: 86400`: the run stops at the first answer;
//! - a 2xx whose gzip body inflates to 1 GiB: every trial errors at the 8 MiB answer limit, and
//!   the run's peak memory stays under 128 MiB.
//!
//! The time and request bounds are correctness bounds (a run must end, and must stop asking),
//! asserted as generously as the issue states them; the measured figures are printed.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{Creds, Run, assert_junit_valid, peak_rss_kib, run_harness, run_harness_watched};

/// A loopback server that gives every request the same answer and counts them.
struct Server {
    port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(answer: Vec<u8>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let answer: Arc<[u8]> = answer.into();
        let (counted, stopping) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (counted, answer) = (counted.clone(), answer.clone());
                        std::thread::spawn(move || serve(conn, &counted, &answer));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            port,
            requests,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/client/v4", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads each request on `conn` (head and `Content-Length` body), counts it, and answers.
fn serve(mut conn: TcpStream, counted: &AtomicUsize, answer: &[u8]) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while got.len() < end + 4 + length {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got.drain(..end + 4 + length);
        counted.fetch_add(1, Ordering::Relaxed);
        if conn.write_all(answer).is_err() {
            return;
        }
    }
}

/// An answer with `Content-Length`, kept alive.
fn answer(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

const RATE_LIMITED: &[u8] = br#"{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}"#;

fn token() -> Creds {
    Creds {
        token: Some("told-to-stop-token-0000".into()),
        ..Creds::default()
    }
}

/// The `value` of the report's property `name`.
fn property<'a>(run: &'a Run, name: &str) -> Option<&'a str> {
    let at = run
        .junit
        .find(&format!("<property name=\"{name}\" value=\""))?;
    let rest = &run.junit[at + name.len() + "<property name=\"\" value=\"".len()..];
    rest.split('"').next()
}

/// What every stopped run must show: exit 1, a valid report, no failure (a 429 is not the
/// target breaking the contract), errors quoting `header`, the stop on stderr and in the
/// report, and nothing sent after it (nothing was created to clean up).
#[track_caller]
fn assert_stopped(run: &Run, header: &str) {
    assert_eq!(run.code, 1, "{}", run.summary());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_junit_valid(run);
    assert!(run.failed_trials.is_empty(), "{}", run.summary());
    assert!(!run.errored_trials.is_empty(), "{}", run.summary());
    assert!(
        run.junit.contains(&format!("answered 429 with {header}"))
            || run.junit.contains(&format!("answered 429 ({header}")),
        "no error quotes {header:?}\n{}",
        run.summary()
    );
    let stopped = property(run, "stopped_early").unwrap_or_default();
    assert!(
        stopped.starts_with("the target told the run to stop sending (")
            && stopped.contains(header),
        "stopped_early: {stopped:?}"
    );
    assert_eq!(property(run, "requests_after_stop"), Some("0"));
    assert!(
        run.stderr.contains("; 0 request(s) sent after it\n"),
        "{}",
        run.stderr
    );
}

/// A run against a target that answers 429 with `Retry-After: SECS` to everything: the run,
/// how long it took and how many requests the target saw, once the report was found to say
/// the run stopped because it was told to.
fn run_told_to_wait(secs: &str) -> (Run, Duration, usize) {
    let header = format!("Retry-After: {secs}");
    let server = Server::start(answer(
        "429 Too Many Requests",
        &format!("Content-Type: application/json\r\n{header}\r\n"),
        RATE_LIMITED,
    ));
    let started = Instant::now();
    let run = run_harness(&server.url(), &token(), &[]);
    let (took, sent) = (started.elapsed(), server.requests());
    eprintln!("429 to everything with {header}: {took:?}, {sent} requests");
    assert_stopped(&run, &header);
    (run, took, sent)
}

#[test]
fn a_target_that_answers_429_to_everything_stops_the_run_within_30_s() {
    let (run, took, sent) = run_told_to_wait("1");
    assert!(
        run.junit
            .contains("again after the run waited 3 times in a row")
            || run.junit.contains("after 3 wait(s) for it"),
        "{}",
        run.summary()
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(sent <= 50, "{sent} requests");
}

#[test]
fn a_429_asking_for_a_day_stops_the_run_within_5_s() {
    let (run, took, sent) = run_told_to_wait("86400");
    assert!(
        run.junit
            .contains("answered 429 with Retry-After: 86400, longer than the 60 s a run waits"),
        "{}",
        run.summary()
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(sent <= 10, "{sent} requests");
}

/// A 2xx JSON answer whose gzip body inflates to 1 GiB of zeros (about 1 MiB on the wire).
fn gzip_bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        gz.write_all(&zeros).unwrap();
    }
    let body = gz.finish().unwrap();
    answer(
        "200 OK",
        "Content-Type: application/json\r\nContent-Encoding: gzip\r\n",
        &body,
    )
}

/// A default run against `server`: the run, how long it took, and the harness process's peak
/// resident memory (VmHWM, polled from `/proc` while it runs; `None` where there is none).
fn run_watching_memory(server: &Server) -> (Run, Duration, Option<u64>) {
    let mut peak_kib = None;
    let started = Instant::now();
    let run = run_harness_watched(
        &server.url(),
        &token(),
        Some(support::ACCOUNT_ID),
        Some(support::ZONE_ID),
        &[],
        &mut |pid| {
            if let Some(kib) = peak_rss_kib(pid) {
                peak_kib = peak_kib.max(Some(kib));
            }
        },
    );
    (run, started.elapsed(), peak_kib)
}

#[test]
fn a_gzip_bomb_is_cut_off_at_the_answer_limit_while_it_is_decoded() {
    let bomb = gzip_bomb();
    let wire = bomb.len();
    let server = Server::start(bomb);
    let (run, took, peak_kib) = run_watching_memory(&server);
    eprintln!(
        "gzip bomb ({wire} bytes on the wire, 1 GiB decoded): {took:?}, {} requests, peak RSS {:?} KiB",
        server.requests(),
        peak_kib
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_junit_valid(&run);
    assert!(!run.errored_trials.is_empty(), "{}", run.summary());
    assert!(
        run.junit.contains(
            "is larger than 8388608 bytes (the 8 MiB answer limit, counted on the decoded body)"
        ),
        "{}",
        run.summary()
    );
    if std::path::Path::new("/proc/self/status").exists() {
        let peak = peak_kib.expect("the run's VmHWM was read");
        assert!(peak < 128 * 1024, "peak RSS {peak} KiB");
    }
}

/// A 2xx of 7 MiB (under the answer limit, not JSON) to every request: each case's run is kept
/// for the whole run so that all its trials can read it, and once held whole every such answer
/// made the run peak at about 1 GiB. A case run now keeps only the first 64 KiB of an answer it
/// cannot judge (`session::live::set_aside`).
#[test]
fn a_7_mib_answer_to_every_request_stays_under_128_mib() {
    let mut body = vec![b' '; 7 << 20];
    body[0] = b'x';
    let server = Server::start(answer(
        "200 OK",
        "Content-Type: application/json\r\n",
        &body,
    ));
    let (run, took, peak_kib) = run_watching_memory(&server);
    eprintln!(
        "7 MiB to every request: {took:?}, {} requests, peak RSS {peak_kib:?} KiB",
        server.requests()
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    let peak = peak_kib.expect("the run's VmHWM was read");
    assert!(peak < 128 * 1024, "peak RSS {peak} KiB");
}
