//! The one place that talks to a target: one HTTP client, timeouts, a cap on what is read,
//! polite retries on 429. Everything it returns is data; transport trouble is an error value,
//! never a panic.
//!
//! A 429 is obeyed, never argued with: the wait it asks for (`Retry-After`, else a reset
//! header, see [`crate::rate_headers`]) pauses the whole run (every request, through
//! [`Limits::throttled`]) and the request is sent again; a 429 that asks for longer than the
//! run waits ([`MAX_RETRY_AFTER`], or what is left before the deadline), that does not say for
//! how long, or that comes again after [`crate::limits::WAITS_IN_A_ROW`] waits in a row
//! (across all requests) or after its own retries, tells the run to stop: the breaker opens,
//! the request ends as an error quoting the header, and nothing more is sent, not even the
//! cleanup. Every answer's rate-limit headers also pace the run (`Limits::budget_left`).
//!
//! The answer limit ([`MAX_BODY`]) holds on the body as decoded, while it is decoded: gzip,
//! deflate and brotli answers (which the client accepts) are inflated chunk by chunk and cut
//! off at the limit, so a small bomb on the wire never becomes a large one in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use crate::limits::MAX_RETRY_AFTER;
use crate::limits::{Limits, Throttle};
use crate::model::{Body, Credentials, Exchange, HeaderValue, Request, Response};
use crate::rate_headers::{self, Asked};
use crate::traffic::{self, Traffic};

/// Answers larger than this are cut off and reported as an error: a target that streams
/// forever must not take the run's memory with it.
pub const MAX_BODY: usize = 8 << 20;

/// Request bodies above this are sent on a connection that is closed afterwards.
const LARGE_BODY: usize = 64 << 10;

#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    pub base_url: String,
    pub credentials: Credentials,
    pub timeout: Duration,
    /// How many times a 429 is retried (after its Retry-After) before it stops the run.
    pub retries_on_429: u32,
}

#[derive(Debug)]
pub struct Executor {
    client: reqwest::Client,
    config: ExecutorConfig,
    limits: Arc<Limits>,
    /// Requests put on the wire, retries included, for the run's summary line.
    sent: AtomicUsize,
    /// The base URL's own path, without a trailing slash: what a request's path follows.
    base_path: String,
    /// Who sees every completed exchange (drift notices, the HAR file).
    traffic: Arc<Traffic>,
}

/// Why no answer could be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    #[error("could not connect for {0}: {1}")]
    Connect(String, String),
    #[error(
        "answer to {0} is larger than {MAX_BODY} bytes (the 8 MiB answer limit, counted on the decoded body)"
    )]
    TooLarge(String),
    #[error("{0} is not configured, so {1} cannot be sent")]
    MissingCredential(&'static str, String),
    #[error("transport error on {0}: {1}")]
    Other(String, String),
    /// The run stopped (Ctrl-C, deadline) or the target stopped answering (breaker).
    #[error("{0} not answered: {1}")]
    NotSent(String, String),
    /// An answer came, but nothing in it can be judged (a redirect, a success that is not
    /// JSON): the reason, naming the request.
    #[error("{0}")]
    Unjudgeable(String),
    /// The target answered 429 and would not be waited out: the run stops sending. What it
    /// said, naming the request.
    #[error("{0}; the run stops sending to this target")]
    ToldToStop(String),
}

impl TransportError {
    /// Whether the target failed to answer at all (what the breaker counts).
    fn unanswered(&self) -> bool {
        matches!(
            self,
            TransportError::Timeout(..) | TransportError::Connect(..)
        )
    }
}

impl Executor {
    pub fn new(config: ExecutorConfig) -> Result<Executor, String> {
        // The timeout of the whole answer, headers and body, is `send_once`'s own.
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            // A contract test must see a 3xx as it is.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("csr-conformance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let base_path = reqwest::Url::parse(&config.base_url)
            .map(|b| b.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        Ok(Executor {
            client,
            config,
            limits: Arc::new(Limits::unbounded()),
            sent: AtomicUsize::new(0),
            base_path,
            traffic: Arc::new(Traffic::default()),
        })
    }

    /// The same executor under the run's limits (in flight, pace, breaker, stop).
    pub fn with_limits(mut self, limits: Arc<Limits>) -> Executor {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Arc<Limits> {
        &self.limits
    }

    /// The same executor, showing every completed exchange to `traffic`'s observers.
    pub fn with_traffic(mut self, traffic: Arc<Traffic>) -> Executor {
        self.traffic = traffic;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    pub fn credentials(&self) -> &Credentials {
        &self.config.credentials
    }

    /// How many requests were sent so far (each retry counts).
    pub fn requests_sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends a request and records the exchange.
    pub async fn send(&self, request: &Request) -> Result<Exchange, TransportError> {
        self.send_noting(request, &mut Vec::new()).await
    }

    /// [`Executor::send`] on behalf of `trial` (for requests sent from spawned tasks, where
    /// the calling thread's trial is not known).
    pub async fn send_for(
        &self,
        request: &Request,
        trial: Option<Arc<str>>,
    ) -> Result<Exchange, TransportError> {
        if let Some(reason) = self.limits.refusal() {
            return Err(TransportError::NotSent(request.line(), reason));
        }
        self.send_guarded(request, &mut Vec::new(), true, trial)
            .await
    }

    /// [`Executor::send`], noting in `waits` every wait for a 429's `Retry-After`.
    pub async fn send_noting(
        &self,
        request: &Request,
        waits: &mut Vec<String>,
    ) -> Result<Exchange, TransportError> {
        if let Some(reason) = self.limits.refusal() {
            return Err(TransportError::NotSent(request.line(), reason));
        }
        self.send_guarded(request, waits, true, traffic::current_trial())
            .await
    }

    /// Sends even after the run was stopped or the target stopped answering: for the cleanup,
    /// which the caller bounds in time; then once, a 429 not waited for. Not after the target
    /// told the run to stop: it would only be told again.
    pub async fn send_regardless(&self, request: &Request) -> Result<Exchange, TransportError> {
        if let Some(reason) = self.limits.breaker.told_reason() {
            return Err(TransportError::NotSent(request.line(), reason));
        }
        self.send_guarded(request, &mut Vec::new(), false, traffic::current_trial())
            .await
    }

    /// How many times a 429 is waited for: none once the run is refusing to send.
    fn retries(&self) -> u32 {
        if self.limits.refusal().is_some() {
            0
        } else {
            self.config.retries_on_429
        }
    }

    async fn send_guarded(
        &self,
        request: &Request,
        waits: &mut Vec<String>,
        stoppable: bool,
        trial: Option<Arc<str>>,
    ) -> Result<Exchange, TransportError> {
        let stop = async {
            if stoppable {
                self.limits.stop.stopped().await
            } else {
                std::future::pending().await
            }
        };
        tokio::pin!(stop);
        let mut attempt = 0;
        loop {
            let exchange = tokio::select! {
                r = self.send_admitted(request, stoppable) => r?,
                reason = &mut stop => return Err(TransportError::NotSent(request.line(), reason)),
            };
            self.traffic.observe(trial.as_deref(), &exchange);
            if exchange.response.status != 429 {
                return Ok(exchange);
            }
            let sent_at = tokio::time::Instant::now()
                .checked_sub(exchange.elapsed)
                .unwrap_or_else(tokio::time::Instant::now);
            match self.told(request, &exchange.response.headers, attempt, sent_at) {
                Ok((wait, header)) => waits.push(format!(
                    "{} answered 429: waited {} s ({header}) and sent it again",
                    request.line(),
                    wait.as_secs(),
                )),
                Err(why) => {
                    self.limits.breaker.told(&why);
                    return Err(TransportError::ToldToStop(why));
                }
            }
            attempt += 1;
        }
    }

    /// What a 429 to `request` (sent at `sent_at`, with these answer `headers`) tells the run,
    /// after `attempt` earlier waits for it: to wait (how long, and the header that said so;
    /// every request then waits), or to stop (why, naming the request and quoting the header).
    fn told(
        &self,
        request: &Request,
        headers: &[(String, String)],
        attempt: u32,
        sent_at: tokio::time::Instant,
    ) -> Result<(Duration, String), String> {
        let line = request.line();
        let (wait, header) = match rate_headers::asked_wait(headers, unix_now()) {
            Asked::Wait(wait, header) => (wait, header),
            // A wait the run cannot read (an HTTP date) is not one it can honour.
            Asked::Unreadable(header) => {
                return Err(format!(
                    "{line} answered 429 with {header}, not a number of seconds"
                ));
            }
            Asked::Nothing => {
                return Err(format!(
                    "{line} answered 429 with no Retry-After or rate-limit reset header"
                ));
            }
        };
        let longest = self.limits.longest_wait();
        if wait > longest {
            let willing = if self.limits.deadline_is_nearer() {
                format!("the {} s left before the run's deadline", longest.as_secs())
            } else {
                format!("the {} s a run waits", longest.as_secs())
            };
            return Err(format!(
                "{line} answered 429 with {}, longer than {willing}",
                asking(&header, wait)
            ));
        }
        if attempt >= self.retries() {
            return Err(if attempt == 0 {
                format!("{line} answered 429 with {header}")
            } else {
                format!("{line} still answered 429 ({header}) after {attempt} wait(s) for it")
            });
        }
        match self.limits.throttled(sent_at, wait) {
            Throttle::Wait => Ok((wait, header)),
            Throttle::GiveUp(n) => Err(format!(
                "{line} answered 429 ({}) again after the run waited {n} times in a row",
                asking(&header, wait)
            )),
        }
    }

    /// One request once admitted (in flight, pace), within the timeout, told to the breaker.
    /// A `stoppable` one is not sent if the run stopped while it waited to be admitted; none
    /// is once the target told the run to stop.
    async fn send_admitted(
        &self,
        request: &Request,
        stoppable: bool,
    ) -> Result<Exchange, TransportError> {
        let _permit = self.limits.admit().await;
        let refused = if stoppable {
            self.limits.refusal()
        } else {
            self.limits.breaker.told_reason()
        };
        if let Some(reason) = refused {
            return Err(TransportError::NotSent(request.line(), reason));
        }
        let result = match tokio::time::timeout(self.config.timeout, self.send_once(request)).await
        {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout(self.config.timeout, request.line())),
        };
        match &result {
            Ok(_) => {
                self.limits.breaker.answered();
            }
            Err(e) if e.unanswered() => self.limits.breaker.unanswered(&e.to_string()),
            Err(_) => {}
        }
        result
    }

    async fn send_once(&self, request: &Request) -> Result<Exchange, TransportError> {
        let line = request.line();
        let url = format!(
            "{}{}",
            self.config.base_url.trim_end_matches('/'),
            request.path
        );
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| TransportError::Other(line.clone(), e.to_string()))?;
        let url = reqwest::Url::parse(&url)
            .map_err(|e| TransportError::Other(line.clone(), format!("not a URL: {e}")))?;
        // The URL library resolves dot segments (`…/custom_csrs/.` goes out as
        // `…/custom_csrs/`): the exchange records the path that was really sent, so that the
        // checks judge, and the report shows, that request and not the one asked for.
        let sent_path = path_as_sent(&self.base_path, &url, &request.path);
        let mut builder = self.client.request(method, url);
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        for (name, value) in &request.headers {
            let Some(value) = value.resolve(&self.config.credentials) else {
                return Err(unresolved(value, &self.config.credentials, line));
            };
            builder = builder.header(name.as_str(), value);
        }
        let (content_type, bytes) = match &request.body {
            None => (None, None),
            Some(Body::Json(v)) => (
                Some("application/json"),
                Some(serde_json::to_vec(v).unwrap_or_default()),
            ),
            Some(Body::Raw {
                content_type,
                bytes,
            }) => (content_type.as_deref(), Some(bytes.clone())),
        };
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        if let Some(bytes) = bytes {
            // A server may answer a large body early (413) and close without reading the
            // rest; such a connection must not be pooled for the next request.
            if bytes.len() > LARGE_BODY {
                builder = builder.header("connection", "close");
            }
            builder = builder.body(bytes);
        }
        let started = Instant::now();
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.limits.note_sent();
        let mut response = builder.send().await.map_err(|e| self.classify(e, &line))?;
        let status = response.status().as_u16();
        // Refused before reading when the target says up front that it is too large.
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY as u64)
        {
            return Err(TransportError::TooLarge(line));
        }
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect::<Vec<(String, String)>>();
        if status != 429 {
            self.limits.not_throttled();
        }
        if let Some((remaining, reset)) = rate_headers::budget(&headers, unix_now()) {
            self.limits.budget_left(remaining, reset);
        }
        // Chunks come decoded (gzip, deflate, brotli): the limit holds on what is decoded, as
        // it is decoded.
        // Sized once when the length is known (at most the limit, checked above): growing by
        // doubling would hold two copies of a large body at once.
        let known = response.content_length().map_or(0, |n| n as usize);
        let mut body = Vec::with_capacity(known);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.classify(e, &line))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(TransportError::TooLarge(line));
            }
            body.extend_from_slice(&chunk);
        }
        let mut request = request.clone();
        if let Some(path) = sent_path {
            request.path = path;
        }
        Ok(Exchange {
            request,
            response: Response::new(status, headers, body),
            elapsed: started.elapsed(),
        })
    }

    fn classify(&self, e: reqwest::Error, line: &str) -> TransportError {
        // reqwest's messages can quote the URL, never headers, so they are safe to report.
        let detail = error_chain(&e);
        if e.is_timeout() {
            TransportError::Timeout(self.config.timeout, line.to_string())
        } else if e.is_connect() {
            TransportError::Connect(line.to_string(), detail)
        } else {
            TransportError::Other(line.to_string(), detail)
        }
    }
}

/// The header that asked for `wait`, with the wait in seconds unless the header says it as is.
fn asking(header: &str, wait: Duration) -> String {
    let secs = wait.as_secs();
    if header.ends_with(&format!(" {secs}")) {
        header.to_string()
    } else {
        format!("{header}, asking for {secs} s")
    }
}

/// The wall clock in Unix seconds, for rate-limit resets given as a time.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The path `url` really asks for, relative to the base URL's path `base_path`, when it
/// differs from `asked` (dot segments resolved); `None` when it is the path asked for.
fn path_as_sent(base_path: &str, url: &reqwest::Url, asked: &str) -> Option<String> {
    let full = url.path();
    let relative = full
        .strip_prefix(base_path)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .unwrap_or(full);
    let relative = if relative.is_empty() { "/" } else { relative };
    (relative != asked).then(|| relative.to_string())
}

/// Why a header naming a secret could not be built: the secret is not configured, or the
/// near miss asked for would not change it.
fn unresolved(value: &HeaderValue, creds: &Credentials, line: String) -> TransportError {
    match value {
        HeaderValue::Derived { secret, edit, .. } if secret.value(creds).is_some() => {
            TransportError::Other(
                line,
                format!(
                    "the configured {} has no near miss {}",
                    secret.noun(),
                    edit.phrase()
                ),
            )
        }
        HeaderValue::Secret { secret, .. } | HeaderValue::Derived { secret, .. } => {
            TransportError::MissingCredential(secret.env_var(), line)
        }
        HeaderValue::Literal(_) => {
            TransportError::Other(line, "a header could not be built".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn executor(base_url: String, timeout_ms: u64) -> Executor {
        Executor::new(ExecutorConfig {
            base_url,
            credentials: Credentials::default(),
            timeout: Duration::from_millis(timeout_ms),
            retries_on_429: 1,
        })
        .unwrap()
    }

    fn get(path: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            query: vec![],
            headers: vec![],
            body: None,
        }
    }

    /// A one-connection server that answers with `reply` bytes, then closes.
    fn serve_raw(replies: Vec<&'static [u8]>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for reply in replies {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(reply);
            }
        });
        format!("http://{addr}")
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn records_status_headers_and_body() {
        let url = serve_raw(vec![b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"]);
        let ex = rt().block_on(executor(url, 2000).send(&get("/x"))).unwrap();
        assert_eq!(ex.response.status, 404);
        assert_eq!(ex.response.header("Content-Type"), Some("application/json"));
        assert_eq!(ex.response.body, b"{}");
    }

    /// A server that answers 404 to one request and hands back its request line.
    fn request_line_seen(base_suffix: &str) -> (String, std::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            let _ = tx.send(head.lines().next().unwrap_or_default().to_string());
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        });
        (format!("http://{addr}{base_suffix}"), rx)
    }

    #[test]
    fn the_exchange_shows_the_path_that_went_out_not_the_one_asked_for() {
        for (base, asked, sent) in [
            ("", "/accounts/a/custom_csrs/.", "/accounts/a/custom_csrs/"),
            ("/client/v4", "/zones/z/custom_csrs/..", "/zones/z/"),
            (
                "/client/v4/",
                "/zones/z/custom_csrs/%2e",
                "/zones/z/custom_csrs/",
            ),
            (
                "/client/v4",
                "/zones/z/custom_csrs/a%2F..",
                "/zones/z/custom_csrs/a%2F..",
            ),
        ] {
            let (url, seen) = request_line_seen(base);
            let ex = rt()
                .block_on(executor(url, 2000).send(&get(asked)))
                .unwrap();
            let line = seen.recv().unwrap();
            let on_wire = format!("GET {}{sent} HTTP/1.1", base.trim_end_matches('/'));
            assert_eq!(line, on_wire, "{asked}");
            assert_eq!(ex.request.path, sent, "{asked}");
            assert_eq!(ex.request.line(), format!("GET {sent}"));
        }
    }

    #[test]
    fn a_refused_connection_is_an_error_not_a_panic() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = rt()
            .block_on(executor(format!("http://127.0.0.1:{port}"), 2000).send(&get("/x")))
            .unwrap_err();
        assert!(matches!(e, TransportError::Connect(..)), "{e}");
    }

    #[test]
    fn a_hanging_target_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let e = rt()
            .block_on(executor(url, 300).send(&get("/x")))
            .unwrap_err();
        drop(listener);
        assert!(matches!(e, TransportError::Timeout(..)), "{e}");
    }

    /// A server that sends `head` and then neither more nor closes, for as long as `hold`.
    fn stall_after(head: &'static [u8], hold: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(head);
            std::thread::sleep(hold);
        });
        url
    }

    #[test]
    fn the_timeout_covers_the_body_too() {
        let url = stall_after(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"",
            Duration::from_secs(5),
        );
        // Without a timeout over the body this would end as a cut-off body when the server
        // gives up after 5 s, not as a timeout.
        let e = rt()
            .block_on(executor(url, 300).send(&get("/x")))
            .unwrap_err();
        assert!(matches!(e, TransportError::Timeout(..)), "{e}");
    }

    #[test]
    fn a_declared_length_over_the_cap_is_refused_before_reading() {
        let url = stall_after(
            b"HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n",
            Duration::from_secs(5),
        );
        // Refused at once, not after waiting for a body that never comes.
        let e = rt()
            .block_on(executor(url, 3000).send(&get("/x")))
            .unwrap_err();
        assert!(matches!(e, TransportError::TooLarge(..)), "{e}");
    }

    #[test]
    fn the_breaker_and_the_stop_refuse_without_sending() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let limits = Arc::new(Limits::unbounded());
        let ex = executor(format!("http://127.0.0.1:{port}"), 2000).with_limits(limits.clone());
        let rt = rt();
        for _ in 0..crate::limits::BREAKER_THRESHOLD {
            let e = rt.block_on(ex.send(&get("/x"))).unwrap_err();
            assert!(matches!(e, TransportError::Connect(..)), "{e}");
        }
        let e = rt.block_on(ex.send(&get("/y"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("GET /y not answered: the target stopped answering"),
            "{e}"
        );
        let fresh = Arc::new(Limits::unbounded());
        fresh.stop.trip("deadline");
        let ex = executor(format!("http://127.0.0.1:{port}"), 2000).with_limits(fresh);
        let e = rt.block_on(ex.send(&get("/z"))).unwrap_err();
        assert_eq!(
            e,
            TransportError::NotSent("GET /z".into(), "deadline".into())
        );
    }

    #[test]
    fn garbage_and_resets_are_errors() {
        let url = serve_raw(vec![b"this is not http\r\n\r\n"]);
        let e = rt()
            .block_on(executor(url, 2000).send(&get("/x")))
            .unwrap_err();
        assert!(matches!(e, TransportError::Other(..)), "{e}");
        let url = serve_raw(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"]);
        let e = rt()
            .block_on(executor(url, 2000).send(&get("/x")))
            .unwrap_err();
        assert!(matches!(e, TransportError::Other(..)), "{e}");
    }

    /// The request head the target saw for `request`.
    fn head_seen(request: Request) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 8192];
            let n = s.read(&mut buf).unwrap();
            let _ = s.write_all(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
            String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase()
        });
        let _ = rt().block_on(executor(url, 2000).send(&request));
        server.join().unwrap()
    }

    #[test]
    fn large_bodies_go_on_a_connection_that_is_not_reused() {
        let mut big = Request::new("POST", "/x");
        big.body = Some(Body::Raw {
            content_type: None,
            bytes: vec![b'a'; LARGE_BODY + 1],
        });
        assert!(head_seen(big).contains("connection: close"));
        let mut small = Request::new("POST", "/x");
        small.body = Some(Body::Json(serde_json::json!({"a": 1})));
        let head = head_seen(small);
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
    }

    #[test]
    fn retries_a_429_after_retry_after() {
        let url = serve_raw(vec![
            b"HTTP/1.1 429 Too Many\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let mut waits = Vec::new();
        let ex = rt()
            .block_on(executor(url, 2000).send_noting(&get("/x"), &mut waits))
            .unwrap();
        assert_eq!(ex.response.status, 200);
        assert_eq!(
            waits,
            ["GET /x answered 429: waited 0 s (Retry-After: 0) and sent it again"]
        );
    }

    const TOO_MANY: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    #[test]
    fn a_429_asking_for_longer_than_a_run_waits_stops_the_run() {
        let url = serve_raw(vec![TOO_MANY]);
        let limits = Arc::new(Limits::unbounded());
        let ex = executor(url, 2000).with_limits(limits.clone());
        let rt = rt();
        let started = Instant::now();
        let e = rt.block_on(ex.send(&get("/x"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "GET /x answered 429 with Retry-After: 3600, longer than the 60 s a run waits; the run stops sending to this target"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // Nothing more is sent: the server would not even accept it.
        let e = rt.block_on(ex.send(&get("/y"))).unwrap_err();
        assert_eq!(
            e,
            TransportError::NotSent(
                "GET /y".into(),
                "the target told the run to stop sending (GET /x answered 429 with Retry-After: 3600, longer than the 60 s a run waits)".into()
            )
        );
        // Not even the cleanup's deletes.
        let e = rt
            .block_on(ex.send_regardless(&Request::new("DELETE", "/x/1")))
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("DELETE /x/1 not answered: the target told the run to stop sending"),
            "{e}"
        );
        assert_eq!(ex.requests_sent(), 1);
    }

    #[test]
    fn a_429_that_says_not_for_how_long_or_comes_again_stops_the_run() {
        let url = serve_raw(vec![
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: Wed, 21 Oct 2099 07:28:00 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let e = rt()
            .block_on(executor(url, 2000).send(&get("/x")))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "GET /x answered 429 with Retry-After: Wed, 21 Oct 2099 07:28:00 GMT, not a number of seconds; the run stops sending to this target"
        );
        let again: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let url = serve_raw(vec![again, again]);
        let mut waits = Vec::new();
        let ex = executor(url, 2000);
        let e = rt()
            .block_on(ex.send_noting(&get("/x"), &mut waits))
            .unwrap_err();
        assert_eq!(
            e,
            TransportError::ToldToStop(
                "GET /x still answered 429 (Retry-After: 0) after 1 wait(s) for it".into()
            )
        );
        assert_eq!(waits.len(), 1, "{waits:?}");
        assert!(ex.limits().refusal().is_some());
    }

    /// A 2xx whose gzip body inflates to `mib` MiB of zeros, and is a few KiB on the wire.
    fn gzip_bomb(mib: usize) -> &'static [u8] {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..mib {
            gz.write_all(&zeros).unwrap();
        }
        let body = gz.finish().unwrap();
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(&body);
        Box::leak(answer.into_boxed_slice())
    }

    #[test]
    fn the_answer_limit_holds_on_the_decoded_body() {
        let bomb = gzip_bomb(64);
        assert!(
            bomb.len() < MAX_BODY / 64,
            "{} bytes on the wire",
            bomb.len()
        );
        let url = serve_raw(vec![bomb]);
        let e = rt()
            .block_on(executor(url, 10_000).send(&get("/x")))
            .unwrap_err();
        assert_eq!(e, TransportError::TooLarge("GET /x".into()));
        assert!(e.to_string().contains("8 MiB answer limit"), "{e}");
        // A small encoded answer is decoded and judged as any other.
        let json = br#"{"success":true}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, json).unwrap();
        let body = gz.finish().unwrap();
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(&body);
        let url = serve_raw(vec![Box::leak(answer.into_boxed_slice())]);
        let ex = rt().block_on(executor(url, 2000).send(&get("/x"))).unwrap();
        assert_eq!(ex.response.body, json);
    }

    #[test]
    fn a_429_naming_only_a_reset_header_is_read_and_one_naming_nothing_stops() {
        let url = serve_raw(vec![
            b"HTTP/1.1 429 Too Many Requests\r\nRateLimit: limit=10, remaining=0, reset=86400\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let e = rt()
            .block_on(executor(url, 2000).send(&get("/x")))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "GET /x answered 429 with RateLimit: limit=10, remaining=0, reset=86400, asking for 86400 s, longer than the 60 s a run waits; the run stops sending to this target"
        );
        let url = serve_raw(vec![
            b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let e = rt()
            .block_on(executor(url, 2000).send(&get("/x")))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("answered 429 with no Retry-After or rate-limit reset header"),
            "{e}"
        );
    }

    #[test]
    fn a_429_pauses_every_request_not_only_its_own() {
        let ok: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let url = serve_raw(vec![
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ok,
            ok,
        ]);
        let ex = executor(url, 3000);
        let started = Instant::now();
        let (told, other) = rt().block_on(async {
            let told = async {
                let r = ex.send(&get("/told")).await;
                (r, started.elapsed())
            };
            let other = async {
                // Sent once the 429 has come back.
                tokio::time::sleep(Duration::from_millis(300)).await;
                let r = ex.send(&get("/other")).await;
                (r, started.elapsed())
            };
            tokio::join!(told, other)
        });
        assert_eq!(told.0.unwrap().response.status, 200);
        assert_eq!(other.0.unwrap().response.status, 200);
        assert!(told.1 >= Duration::from_secs(1), "{:?}", told.1);
        assert!(other.1 >= Duration::from_millis(950), "{:?}", other.1);
    }

    #[test]
    fn a_missing_secret_is_reported_by_its_variable() {
        let mut req = get("/x");
        req.headers.push((
            "Authorization".into(),
            HeaderValue::Secret {
                prefix: "Bearer ".into(),
                secret: crate::model::SecretRef::Token,
            },
        ));
        let e = rt()
            .block_on(executor("http://127.0.0.1:9".into(), 500).send(&req))
            .unwrap_err();
        assert_eq!(
            e,
            TransportError::MissingCredential("CLOUDFLARE_API_TOKEN", "GET /x".into())
        );
    }
}
