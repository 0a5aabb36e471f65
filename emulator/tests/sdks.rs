//! Cloudflare's official SDKs drive the real `csr-emulator` binary, as their users use them:
//! round trips with the Python SDK (`sdk_roundtrip.py`) and the TypeScript SDK
//! (`sdk_roundtrip.cjs`), and the call patterns of both SDKs' generated Custom CSR tests
//! (`sdk_suite_calls.*`), which pass with `--sdk-suite` and get the real API's errors without it.
//! All need `bash .ci/install`.

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

/// Starts `csr-emulator` on a free port with `flags` and returns once it has printed its base
/// URL.
fn start_emulator(flags: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_csr-emulator"))
        .args(["--listen", "127.0.0.1:0", "--key-pool", "2"])
        .args(flags)
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

/// Runs an SDK script (`command`, whose first argument will be the base URL, then
/// `script_args`) against a fresh emulator started with `flags`, with none of a developer's
/// CLOUDFLARE_* settings (the SDKs read them as defaults, which would send real credentials or
/// go elsewhere). Asserts it printed `passed` and `oks` lines starting `ok: `.
fn run_script(
    mut command: Command,
    flags: &[&str],
    script_args: &[&str],
    passed: &str,
    oks: usize,
) {
    let emulator = start_emulator(flags);
    command.arg(&emulator.base_url).args(script_args);
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
        "SDK script failed ({status}):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(passed), "{stdout}");
    assert_eq!(stdout.matches("ok: ").count(), oks, "{stdout}");
}

fn python(script: &str) -> Command {
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
    command.arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(script),
    );
    command
}

fn node(script: &str) -> Command {
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
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(script),
        )
        .env("NODE_PATH", &modules);
    command
}

/// Round trips: two credential kinds times two scopes.
const ROUND_TRIP_OKS: usize = 4;

#[test]
fn python_sdk_round_trip_against_the_binary() {
    let passed = "sdk round trip passed";
    run_script(python("sdk_roundtrip.py"), &[], &[], passed, ROUND_TRIP_OKS);
}

#[test]
fn typescript_sdk_round_trip_against_the_binary() {
    let passed = "sdk round trip passed";
    run_script(node("sdk_roundtrip.cjs"), &[], &[], passed, ROUND_TRIP_OKS);
}

#[test]
fn python_sdk_generated_test_calls_pass_with_the_sdk_suite_profile() {
    // Loose and strict clients.
    let passed = "sdk suite calls passed";
    run_script(
        python("sdk_suite_calls.py"),
        &["--sdk-suite"],
        &[],
        passed,
        2,
    );
}

#[test]
fn python_sdk_generated_test_calls_get_faithful_errors_without_the_profile() {
    let passed = "sdk suite calls passed";
    run_script(
        python("sdk_suite_calls.py"),
        &[],
        &["--faithful"],
        passed,
        2,
    );
}

#[test]
fn typescript_sdk_generated_test_calls_pass_with_the_sdk_suite_profile() {
    let passed = "sdk suite calls passed";
    run_script(
        node("sdk_suite_calls.cjs"),
        &["--sdk-suite"],
        &[],
        passed,
        1,
    );
}

#[test]
fn typescript_sdk_generated_test_calls_get_faithful_errors_without_the_profile() {
    let passed = "sdk suite calls passed";
    run_script(node("sdk_suite_calls.cjs"), &[], &["--faithful"], passed, 1);
}
