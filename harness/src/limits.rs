//! What keeps a run bounded in time and polite to the target: a cap on requests in flight, a
//! pace in requests per second (slowed down when the target's rate-limit headers say its
//! budget would run out before its reset), a pause that holds every request while the target
//! has asked the run to wait, a count of the 429s waited for in a row across requests, a
//! breaker that stops sending once the target has stopped answering or has told the run to
//! stop, a count of what was sent after that, and a stop signal (Ctrl-C, the run's deadline)
//! that ends every wait at once.
//!
//! The executor consults these before and around every request; they know nothing of HTTP.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit, watch};
use tokio::time::Instant;

/// Requests in flight at once, unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Requests per second against a remote target, unless `--rate` says otherwise: Cloudflare
/// allows 1200 requests per 5 minutes per user (4/s), and this leaves a quarter of that to the
/// user's other clients.
pub const DEFAULT_REMOTE_RATE: f64 = 3.0;
/// The whole run's budget, unless `--deadline` says otherwise.
pub const DEFAULT_DEADLINE_SECS: u64 = 1200;
/// Consecutive timeouts or connection failures after which the target counts as gone.
pub const BREAKER_THRESHOLD: u32 = 3;
/// The stop reason of Ctrl-C; such a run exits with 130.
pub const INTERRUPTED: &str = "the run was interrupted (Ctrl-C)";
/// What the cleanup after the run may take at most, whatever the target does.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(30);
/// The longest a 429 is waited out; one asking for longer stops the run instead.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Waits for 429s in a row, across all requests, after which another 429 stops the run.
pub const WAITS_IN_A_ROW: u32 = 3;

/// The flags of this module, flattened into the command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Seconds the whole run may take; what has not finished by then is reported as error
    /// [default: 1200]
    #[arg(long, value_name = "SECS")]
    pub deadline: Option<u64>,
    /// Requests in flight at once (also the number of trials run at once unless
    /// --test-threads is given) [default: 4]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Requests per second at most; 0 for no limit [default: 3 against a --target on another
    /// machine; no limit against the embedded emulator or a loopback target]
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Reruns a failed or errored trial up to N times; one that then passes is reported as
    /// flaky
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Runs one shard of the trials: count:K/N (round robin) or hash:K/N (by name)
    #[arg(long, value_name = "SPEC", value_parser = crate::partition::Partition::parse)]
    pub partition: Option<crate::partition::Partition>,
}

/// Whether `base_url` names this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Shared by every request of a run.
pub struct Limits {
    in_flight: Semaphore,
    pacer: Option<Pacer>,
    pause: Pause,
    throttled: Mutex<Throttled>,
    /// When the run's `--deadline` passes, once known.
    deadline: OnceLock<Instant>,
    /// Requests put on the wire after the stop or the breaker (the cleanup's deletes).
    sent_after_refusal: AtomicUsize,
    pub breaker: Breaker,
    pub stop: Stop,
}

/// The 429s waited for in a row, across the run's requests.
#[derive(Debug, Default)]
struct Throttled {
    /// Waits since the last answer that was not a 429.
    in_a_row: u32,
    /// When the last wait began: a 429 to a request sent before it is part of that wait.
    since: Option<Instant>,
}

/// What the run does about a 429 it could wait out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Wait (every request waits), then send again.
    Wait,
    /// The run already waited this many times in a row, to no avail: stop.
    GiveUp(u32),
}

impl Limits {
    /// `concurrency` requests in flight at most (at least 1), `rate` per second at most
    /// (`None` or a non-positive rate: no pace).
    pub fn new(concurrency: usize, rate: Option<f64>) -> Limits {
        Limits {
            in_flight: Semaphore::new(concurrency.max(1)),
            pacer: rate.filter(|r| *r > 0.0 && r.is_finite()).map(Pacer::new),
            pause: Pause::default(),
            throttled: Mutex::default(),
            deadline: OnceLock::new(),
            sent_after_refusal: AtomicUsize::new(0),
            breaker: Breaker::new(BREAKER_THRESHOLD),
            stop: Stop::default(),
        }
    }

    /// No cap, no pace: what an executor gets unless it is given limits.
    pub fn unbounded() -> Limits {
        Limits::new(Semaphore::MAX_PERMITS, None)
    }

    /// Waits for a slot in flight, for the end of any pause, and for the pace; the permit is
    /// the slot.
    pub async fn admit(&self) -> SemaphorePermit<'_> {
        // Closed only if dropped, which cannot happen while `self` is borrowed.
        let permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // The pause before the pace: slots in the pace are handed out after the pause, so the
        // requests held by it do not all go at once when it ends.
        self.pause.wait().await;
        if let Some(pacer) = &self.pacer {
            pacer.wait().await;
        }
        permit
    }

    /// Holds every request of the run, not only the one that was told, for `wait` from now
    /// (or longer, if an earlier pause ends later): the target's rate limit counts all of the
    /// run's requests, so a request that did not wait would only be told again.
    pub fn pause_for(&self, wait: Duration) {
        self.pause.extend_to(Instant::now() + wait);
    }

    /// A 429 to a request sent at `sent_at` asked for `wait`, which the run would wait out:
    /// whether it does (and then every request waits), or gives up, having waited
    /// [`WAITS_IN_A_ROW`] times in a row already. The 429s of requests sent before the last
    /// wait began belong to that wait and are not counted again.
    pub fn throttled(&self, sent_at: Instant, wait: Duration) -> Throttle {
        let mut t = self.throttled.lock().unwrap_or_else(|p| p.into_inner());
        if t.since.is_none_or(|since| sent_at >= since) {
            if t.in_a_row >= WAITS_IN_A_ROW {
                return Throttle::GiveUp(t.in_a_row);
            }
            t.in_a_row += 1;
            t.since = Some(Instant::now());
        }
        self.pause_for(wait);
        Throttle::Wait
    }

    /// An answer other than a 429 came: the waits in a row start again from none.
    pub fn not_throttled(&self) {
        let mut t = self.throttled.lock().unwrap_or_else(|p| p.into_inner());
        t.in_a_row = 0;
    }

    /// What the target's rate-limit headers said was left: `remaining` requests until
    /// `reset`. Under a pace, spreads them until the reset when the pace would spend them
    /// sooner; with none left, pauses until the reset if the run would wait that long (if
    /// not, the 429 that follows stops the run).
    pub fn budget_left(&self, remaining: u64, reset: Duration) {
        let Some(pacer) = &self.pacer else {
            return;
        };
        if remaining == 0 {
            if reset <= self.longest_wait() {
                self.pause_for(reset);
            }
            return;
        }
        if let Some(slower) = crate::rate_headers::slower_pace(remaining, reset, pacer.interval) {
            pacer.slow_until(slower, Instant::now() + reset);
        }
    }

    /// The longest the run waits for a 429: [`MAX_RETRY_AFTER`], or what is left before the
    /// deadline if that is less.
    pub fn longest_wait(&self) -> Duration {
        self.deadline.get().map_or(MAX_RETRY_AFTER, |d| {
            MAX_RETRY_AFTER.min(d.saturating_duration_since(Instant::now()))
        })
    }

    /// Whether [`Limits::longest_wait`] is what is left before the deadline.
    pub fn deadline_is_nearer(&self) -> bool {
        self.longest_wait() < MAX_RETRY_AFTER
    }

    /// Counts a request put on the wire; those after the stop or the breaker are kept apart.
    pub fn note_sent(&self) {
        if self.refusal().is_some() {
            self.sent_after_refusal.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests put on the wire after the stop or the breaker (at most one delete per CSR the
    /// run created).
    pub fn sent_after_refusal(&self) -> usize {
        self.sent_after_refusal.load(Ordering::Relaxed)
    }

    /// Why nothing more may be sent, if so: the run was stopped, or the target is gone or
    /// told the run to stop.
    pub fn refusal(&self) -> Option<String> {
        self.stop.reason().or_else(|| self.breaker.open_reason())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::unbounded()
    }
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("available", &self.in_flight.available_permits())
            .field("paced", &self.pacer.is_some())
            .finish()
    }
}

/// Spaces requests `1/rate` apart (a GCRA with a burst of one): the n-th request of a run
/// goes no earlier than n/rate seconds after the first.
/// The target's own rate-limit headers can slow it down until their reset.
struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
    /// A slower spacing, and until when it holds.
    slower: Mutex<Option<(Duration, Instant)>>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(None),
            slower: Mutex::new(None),
        }
    }

    /// Spaces requests `interval` apart until `until` (the latest word replaces the earlier).
    fn slow_until(&self, interval: Duration, until: Instant) {
        *self.slower.lock().unwrap_or_else(|p| p.into_inner()) = Some((interval, until));
    }

    async fn wait(&self) {
        let at = {
            let now = Instant::now();
            let interval = match *self.slower.lock().unwrap_or_else(|p| p.into_inner()) {
                Some((slower, until)) if until > now => slower,
                _ => self.interval,
            };
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Until when every request waits; `None` or a past instant: no pause.
#[derive(Debug, Default)]
struct Pause(Mutex<Option<Instant>>);

impl Pause {
    /// Pauses until `at` at least; a pause that already ends later is kept.
    fn extend_to(&self, at: Instant) {
        let mut until = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *until = Some(until.map_or(at, |u| u.max(at)));
    }

    /// Returns once no pause holds, also one set while this waited.
    async fn wait(&self) {
        loop {
            let until = *self.0.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => return,
            }
        }
    }
}

/// Opens after [`BREAKER_THRESHOLD`] consecutive timeouts or connection failures, or at once
/// when the target tells the run to stop (see [`Breaker::told`]), and stays open: a target
/// that stopped answering, or asked not to be asked, is not asked again, so the remaining
/// trials end at once instead of each waiting out its own timeout or rate limit.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    consecutive: AtomicU32,
    open: OnceLock<String>,
    /// Whether the target told the run to stop (rather than stopped answering).
    told: AtomicBool,
}

impl Breaker {
    pub fn new(threshold: u32) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            consecutive: AtomicU32::new(0),
            open: OnceLock::new(),
            told: AtomicBool::new(false),
        }
    }

    /// An answer came back: the target is there.
    pub fn answered(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
    }

    /// A request got no answer; `why` says how.
    pub fn unanswered(&self, why: &str) {
        let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.threshold {
            let _ = self.open.set(format!(
                "the target stopped answering ({n} timeouts or connection failures in a row; the last: {why})"
            ));
        }
    }

    /// The target told the run to stop sending (a rate limit it will not lift within what the
    /// run waits for); `why` says how. Opens the breaker whatever came before; the first
    /// reason it opened for is kept.
    pub fn told(&self, why: &str) {
        self.told.store(true, Ordering::Relaxed);
        let _ = self
            .open
            .set(format!("the target told the run to stop sending ({why})"));
    }

    pub fn open_reason(&self) -> Option<String> {
        self.open.get().cloned()
    }

    /// Why the breaker is open, if the target told the run to stop: then not even the cleanup
    /// may send (a target gone silent may still take its deletes).
    pub fn told_reason(&self) -> Option<String> {
        self.told
            .load(Ordering::Relaxed)
            .then(|| self.open_reason())
            .flatten()
    }
}

/// The run's stop signal: set once, by Ctrl-C or the deadline, with the reason.
#[derive(Debug)]
pub struct Stop(watch::Sender<Option<String>>);

impl Default for Stop {
    fn default() -> Stop {
        Stop(watch::Sender::new(None))
    }
}

impl Stop {
    /// Stops the run for `reason`; a later reason does not replace the first.
    pub fn trip(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Resolves with the reason once the run is stopped.
    pub async fn stopped(&self) -> String {
        let mut rx = self.0.subscribe();
        let reason = rx.wait_for(Option::is_some).await.map(|r| r.clone());
        match reason {
            Ok(r) => r.unwrap_or_default(),
            // The sender lives in `self`, so this cannot happen; never resolve if it did.
            Err(_) => std::future::pending().await,
        }
    }

    /// Trips the stop after `after`, from a thread of its own (the run may not have a runtime
    /// yet, and must not need one for this).
    pub fn trip_after(limits: &Arc<Limits>, after: Duration, reason: String) {
        if let Some(at) = Instant::now().checked_add(after) {
            let _ = limits.deadline.set(at);
        }
        let weak = Arc::downgrade(limits);
        let _ = std::thread::Builder::new()
            .name("csr-conformance-deadline".into())
            .spawn(move || {
                std::thread::sleep(after);
                if let Some(limits) = weak.upgrade() {
                    limits.stop.trip(reason);
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn only_this_machine_is_loopback() {
        for local in [
            "http://127.0.0.1:4010",
            "http://localhost/client/v4",
            "https://127.8.0.1",
            "http://[::1]:80/",
        ] {
            assert!(is_loopback(local), "{local}");
        }
        for remote in [
            "https://api.cloudflare.com/client/v4",
            "http://10.0.0.1",
            "nonsense",
        ] {
            assert!(!is_loopback(remote), "{remote}");
        }
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_only() {
        let b = Breaker::new(3);
        b.unanswered("a");
        b.unanswered("b");
        b.answered();
        b.unanswered("c");
        b.unanswered("d");
        assert_eq!(b.open_reason(), None);
        b.unanswered("timed out after 2s waiting for GET /x");
        let reason = b.open_reason().unwrap();
        assert!(reason.contains("3 timeouts or connection failures in a row"));
        assert!(reason.contains("GET /x"));
        // Open for good.
        b.answered();
        assert!(b.open_reason().is_some());
    }

    #[test]
    fn the_breaker_opens_at_once_when_told_and_keeps_its_first_reason() {
        let b = Breaker::new(3);
        b.told("GET /x answered 429 with Retry-After: 3600");
        assert_eq!(
            b.open_reason().as_deref(),
            Some(
                "the target told the run to stop sending (GET /x answered 429 with Retry-After: 3600)"
            )
        );
        b.told("GET /y answered 429");
        for _ in 0..3 {
            b.unanswered("timed out");
        }
        assert!(b.open_reason().unwrap().contains("GET /x"));
        assert_eq!(b.told_reason(), b.open_reason());
        let silent = Breaker::new(1);
        silent.unanswered("timed out");
        assert!(silent.open_reason().is_some());
        assert_eq!(silent.told_reason(), None);
        let limits = Limits::unbounded();
        limits.breaker.told("GET /z answered 429");
        assert!(limits.refusal().unwrap().contains("GET /z answered 429"));
    }

    #[test]
    fn a_pause_holds_every_request_until_it_ends() {
        let limits = Arc::new(Limits::new(4, None));
        limits.pause_for(Duration::from_millis(150));
        // A shorter pause asked for later does not shorten it.
        limits.pause_for(Duration::from_millis(10));
        let started = std::time::Instant::now();
        let took = rt().block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..3 {
                let limits = limits.clone();
                tasks.push(tokio::spawn(async move {
                    drop(limits.admit().await);
                    started.elapsed()
                }));
            }
            let mut took = Vec::new();
            for t in tasks {
                took.push(t.await.unwrap());
            }
            took
        });
        assert!(
            took.iter().all(|t| *t >= Duration::from_millis(150)),
            "{took:?}"
        );
        // Once it has ended, nothing waits.
        let again = std::time::Instant::now();
        rt().block_on(async { drop(limits.admit().await) });
        assert!(again.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn a_pause_set_while_waiting_is_waited_out_too() {
        let limits = Arc::new(Limits::unbounded());
        limits.pause_for(Duration::from_millis(50));
        let started = std::time::Instant::now();
        rt().block_on(async {
            let l = limits.clone();
            let waiter = tokio::spawn(async move { drop(l.admit().await) });
            tokio::time::sleep(Duration::from_millis(20)).await;
            limits.pause_for(Duration::from_millis(150));
            waiter.await.unwrap();
        });
        assert!(started.elapsed() >= Duration::from_millis(170));
    }

    #[test]
    fn waits_in_a_row_are_counted_across_requests_and_give_up_after_three() {
        let limits = Limits::unbounded();
        rt().block_on(async {
            let before = Instant::now();
            for n in 1..=WAITS_IN_A_ROW {
                // A request sent after the last wait began: a new wait.
                let sent = Instant::now();
                assert_eq!(
                    limits.throttled(sent, Duration::ZERO),
                    Throttle::Wait,
                    "{n}"
                );
                // Another one's 429, sent before that wait began, is part of it.
                assert_eq!(limits.throttled(before, Duration::ZERO), Throttle::Wait);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            assert_eq!(
                limits.throttled(Instant::now(), Duration::ZERO),
                Throttle::GiveUp(WAITS_IN_A_ROW)
            );
            // An answer that is not a 429 starts the count again.
            limits.not_throttled();
            assert_eq!(
                limits.throttled(Instant::now(), Duration::ZERO),
                Throttle::Wait
            );
        });
    }

    #[test]
    fn the_longest_wait_is_what_is_left_before_the_deadline() {
        let limits = Arc::new(Limits::unbounded());
        assert_eq!(limits.longest_wait(), MAX_RETRY_AFTER);
        assert!(!limits.deadline_is_nearer());
        Stop::trip_after(&limits, Duration::from_secs(10), "deadline".into());
        assert!(limits.longest_wait() <= Duration::from_secs(10));
        assert!(limits.deadline_is_nearer());
    }

    #[test]
    fn the_pace_slows_to_what_the_rate_limit_headers_leave() {
        // 100 a second, but the target says 2 requests are left for the next second.
        let limits = Limits::new(4, Some(100.0));
        let started = std::time::Instant::now();
        rt().block_on(async {
            limits.budget_left(2, Duration::from_millis(600));
            for _ in 0..3 {
                drop(limits.admit().await);
            }
        });
        // Spaced 300 ms apart, not 10 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(590),
            "{:?}",
            started.elapsed()
        );
        // With none left, every request waits for the reset.
        let limits = Limits::new(4, Some(100.0));
        let started = std::time::Instant::now();
        rt().block_on(async {
            limits.budget_left(0, Duration::from_millis(300));
            drop(limits.admit().await);
        });
        assert!(started.elapsed() >= Duration::from_millis(290));
        // Without a pace (no --rate), the headers change nothing.
        let limits = Limits::unbounded();
        limits.budget_left(0, Duration::from_secs(30));
        let started = std::time::Instant::now();
        rt().block_on(async { drop(limits.admit().await) });
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn requests_after_the_breaker_are_counted_apart() {
        let limits = Limits::unbounded();
        limits.note_sent();
        assert_eq!(limits.sent_after_refusal(), 0);
        limits
            .breaker
            .told("GET /x answered 429 with Retry-After: 86400");
        limits.note_sent();
        assert_eq!(limits.sent_after_refusal(), 1);
    }

    #[test]
    fn the_stop_keeps_its_first_reason_and_wakes_waiters() {
        let limits = Arc::new(Limits::unbounded());
        assert_eq!(limits.refusal(), None);
        let l = limits.clone();
        let waiter = std::thread::spawn(move || rt().block_on(l.stop.stopped()));
        limits.stop.trip("interrupted");
        limits.stop.trip("deadline");
        assert_eq!(waiter.join().unwrap(), "interrupted");
        assert_eq!(limits.refusal().as_deref(), Some("interrupted"));
    }

    #[test]
    fn trip_after_stops_the_run_later() {
        let limits = Arc::new(Limits::unbounded());
        Stop::trip_after(&limits, Duration::from_millis(50), "deadline".into());
        assert_eq!(limits.stop.reason(), None);
        let reason = rt().block_on(async {
            tokio::time::timeout(Duration::from_secs(10), limits.stop.stopped()).await
        });
        assert_eq!(reason.unwrap(), "deadline");
    }

    #[test]
    fn no_more_than_the_cap_in_flight() {
        let limits = Arc::new(Limits::new(2, None));
        let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        rt().block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (limits, now, max) = (limits.clone(), now.clone(), max.clone());
                tasks.push(tokio::spawn(async move {
                    let _permit = limits.admit().await;
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(max.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_pace_spaces_requests() {
        let limits = Limits::new(100, Some(50.0));
        let started = std::time::Instant::now();
        rt().block_on(async {
            for _ in 0..6 {
                drop(limits.admit().await);
            }
        });
        // Six requests at 50/s: the last goes 5 × 20 ms after the first, at the earliest.
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(Limits::new(1, Some(0.0)).pacer.is_none());
    }
}
