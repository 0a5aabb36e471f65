//! Starts the external targets the harness is tested against, as child processes: the
//! independent Python implementation (`independent_server.py`, which must pass every check) and
//! Prism (the generic mock Cloudflare's SDK suites use, which must not).
//!
//! Include with `#[path = "targets/spawn.rs"] mod spawn;`. Std only, so it costs the test
//! targets nothing to build. Dropping a `Spawned` kills and reaps its child.
#![allow(dead_code)] // each test binary uses only some of these helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "run bash .ci/install";
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(20);
const PRISM_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a child's output is kept for a panic message.
const OUTPUT_TAIL: usize = 16 * 1024;

/// A running target. `base_url` has no trailing slash.
pub struct Spawned {
    pub base_url: String,
    child: Child,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository root (the harness crate sits one level below it).
fn repo_root() -> PathBuf {
    manifest_dir()
        .parent()
        .expect("the harness crate lives inside the repository")
        .to_path_buf()
}

/// What a child has written so far, kept in the background so its pipes never fill up and
/// block it (Prism logs every request), and so a failure can show why.
#[derive(Clone, Default)]
struct OutputTail(Arc<Mutex<Vec<u8>>>);

impl OutputTail {
    fn drain(&self, mut pipe: impl Read + Send + 'static) {
        let tail = self.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut kept = tail.0.lock().unwrap_or_else(|e| e.into_inner());
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > OUTPUT_TAIL {
                    let excess = kept.len() - OUTPUT_TAIL;
                    kept.drain(..excess);
                }
            }
        });
    }

    fn text(&self) -> String {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&kept).into_owned()
    }
}

/// Stops a child that failed to come up, waits briefly for its output to arrive, and returns
/// it for the panic message.
fn stop_and_collect(child: &mut Child, output: &OutputTail) -> String {
    let _ = child.kill();
    let _ = child.wait();
    // The drain threads finish once the pipes close; give them a moment.
    thread::sleep(Duration::from_millis(200));
    output.text()
}

/// Starts `independent_server.py` on a free port and returns once it prints
/// `listening on http://127.0.0.1:PORT/client/v4`; that URL is `base_url`.
/// An empty `email` or `api_key` starts it without email + key credentials.
pub fn independent_server(token: &str, email: &str, api_key: &str) -> Spawned {
    independent_server_with(token, email, api_key, &[])
}

/// [`independent_server`] with more of its flags, e.g. `["--preload", "5"]`.
pub fn independent_server_with(
    token: &str,
    email: &str,
    api_key: &str,
    extra_args: &[&str],
) -> Spawned {
    let script = manifest_dir().join("tests/targets/independent_server.py");
    assert!(
        script.is_file(),
        "independent server script not found at {}",
        script.display()
    );
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .args(["--port", "0", "--token", token])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !email.is_empty() && !api_key.is_empty() {
        command.args(["--email", email, "--api-key", api_key]);
    }
    command.args(extra_args);
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!(
            "could not start python3 {} ({e}); {INSTALL_HINT}",
            script.display()
        )
    });

    let output = OutputTail::default();
    output.drain(child.stderr.take().expect("stderr is piped"));
    let stdout: ChildStdout = child.stdout.take().expect("stdout is piped");
    let (first_line, rest) = mpsc::channel();
    let tail = output.clone();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).map(|_| line);
        let _ = first_line.send(read);
        // Keep draining: the server never writes more, but a full pipe must never block it.
        tail.drain(reader);
    });

    let failure = match rest.recv_timeout(SERVER_START_TIMEOUT) {
        Ok(Ok(line)) => match line.trim().strip_prefix("listening on ") {
            Some(url) if url.starts_with("http://") => {
                return Spawned {
                    base_url: url.trim_end_matches('/').to_string(),
                    child,
                };
            }
            _ if line.is_empty() => "it exited before printing its address".to_string(),
            _ => format!("its first line was {:?}, not 'listening on ...'", line),
        },
        Ok(Err(e)) => format!("reading its stdout failed: {e}"),
        Err(_) => format!(
            "it printed no 'listening on' line within {}s",
            SERVER_START_TIMEOUT.as_secs()
        ),
    };
    let stderr = stop_and_collect(&mut child, &output);
    let hint = if stderr.contains("cryptography") || stderr.contains("ModuleNotFoundError") {
        format!("Python's `cryptography` package is missing: {INSTALL_HINT}")
    } else {
        format!("if python3 or its `cryptography` package is missing, {INSTALL_HINT}")
    };
    panic!(
        "the independent server ({}) did not start: {failure}.\n{hint}.\n--- its stderr ---\n{stderr}",
        script.display()
    );
}

/// Whether an HTTP server answers at `address`. A bare connect is not enough: with nothing
/// listening yet, a connect to a port in the ephemeral range can connect to itself, and that
/// socket echoes what it is sent instead of answering.
fn answers_http(address: &SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(address, Duration::from_millis(250)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// A port that was free a moment ago. Another process may still take it before the child
/// binds it; `prism` retries when that happens.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Starts Prism (`prism mock`) on the project's copy of the Custom CSR spec and returns once its
/// port accepts connections. `base_url` is `http://127.0.0.1:PORT` (no `/client/v4`: Prism
/// serves the spec's paths from the root).
pub fn prism() -> Spawned {
    let prism = repo_root().join(".ci/node/node_modules/.bin/prism");
    assert!(
        prism.exists(),
        "Prism is not installed at {}; {INSTALL_HINT}",
        prism.display()
    );
    let spec = manifest_dir().join("tests/data/custom_csrs.openapi.json");
    assert!(
        spec.is_file(),
        "the OpenAPI spec Prism serves is missing: {}",
        spec.display()
    );

    let mut last_failure = String::new();
    for _attempt in 0..3 {
        let port = free_port();
        let mut child = Command::new(&prism)
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(&spec)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start {} ({e}); {INSTALL_HINT}", prism.display())
            });
        let output = OutputTail::default();
        output.drain(child.stdout.take().expect("stdout is piped"));
        let stderr: ChildStderr = child.stderr.take().expect("stderr is piped");
        output.drain(stderr);

        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + PRISM_START_TIMEOUT;
        let failure = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break format!("it exited ({status}) before listening on port {port}");
            }
            if answers_http(&address) {
                return Spawned {
                    base_url: format!("http://127.0.0.1:{port}"),
                    child,
                };
            }
            if Instant::now() >= deadline {
                break format!(
                    "port {port} did not accept connections within {}s",
                    PRISM_START_TIMEOUT.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(100));
        };
        let log = stop_and_collect(&mut child, &output);
        last_failure = format!("{failure}.\n--- its output ---\n{log}");
        if !log.contains("EADDRINUSE") {
            break;
        }
    }
    panic!(
        "Prism ({}) did not start: {last_failure}\nIf it is not installed properly, {INSTALL_HINT}.",
        prism.display()
    );
}
