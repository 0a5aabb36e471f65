//! Cloudflare's official SDKs drive the real `csr-emulator` binary, as their users use them:
//! the Python SDK (`sdk_roundtrip.py`) and the TypeScript SDK (`sdk_roundtrip.cjs`). Both need
//! `bash .ci/install`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A running emulator binary, killed however the test ends.
struct Running {
    child: Child,
    base_url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `csr-emulator` on a free port and returns once it has printed its base URL.
fn start_emulator() -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_csr-emulator"))
        .args(["--listen", "127.0.0.1:0", "--key-pool", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start csr-emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read the listening line");
    let base_url = line
        .trim()
        .strip_prefix("csr-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/client/v4"));
    assert!(
        !base_url.ends_with(":0/client/v4"),
        "the real port is printed"
    );
    Running { child, base_url }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the emulator crate lives inside the repository")
        .to_path_buf()
}

/// Runs an SDK script against a fresh emulator, with none of a developer's CLOUDFLARE_*
/// settings (the SDKs read them as defaults, which would send real credentials or go
/// elsewhere), and asserts it passed every scope with both credential kinds.
fn run_round_trip(mut command: Command) {
    let emulator = start_emulator();
    command.arg(&emulator.base_url);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CLOUDFLARE_") {
            command.env_remove(&key);
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run the SDK script");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr),
    );
    assert!(
        status.success(),
        "SDK round trip failed ({status}):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("sdk round trip passed"), "{stdout}");
    // Two credential kinds times two scopes.
    assert_eq!(stdout.matches("ok: ").count(), 4, "{stdout}");
}

#[test]
fn python_sdk_round_trip_against_the_binary() {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import cloudflare, sys; sys.exit(0 if cloudflare.__version__.startswith('5.') else 1)",
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the Cloudflare Python SDK 5.x is not installed (run `bash .ci/install`): {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("python3 is not available (run `bash .ci/install`): {e}"),
    }
    let mut command = Command::new("python3");
    command.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sdk_roundtrip.py"
    ));
    run_round_trip(command);
}

#[test]
fn typescript_sdk_round_trip_against_the_binary() {
    let modules = repo_root().join(".ci/node/node_modules");
    let package = modules.join("cloudflare/package.json");
    let manifest = std::fs::read_to_string(&package).unwrap_or_else(|e| {
        panic!(
            "the Cloudflare TypeScript SDK is not installed at {} ({e}): run `bash .ci/install`",
            package.display()
        )
    });
    assert!(
        manifest.contains("\"version\": \"7."),
        "the TypeScript SDK at {} is not 7.x: run `bash .ci/install`",
        package.display()
    );
    let mut command = Command::new("node");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sdk_roundtrip.cjs"
        ))
        .env("NODE_PATH", &modules);
    run_round_trip(command);
}
