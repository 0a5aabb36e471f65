//! The official Cloudflare Python SDK drives the real `csr-emulator` binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Kills the emulator however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

    let child = Command::new(env!("CARGO_BIN_EXE_csr-emulator"))
        .args(["--listen", "127.0.0.1:0", "--key-pool", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start csr-emulator");
    let mut emulator = Running(child);
    let mut line = String::new();
    BufReader::new(emulator.0.stdout.take().unwrap())
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

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk_roundtrip.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&base_url)
        // The SDK would otherwise pick up a developer's real credentials or base URL.
        .env_remove("CLOUDFLARE_API_TOKEN")
        .env_remove("CLOUDFLARE_API_KEY")
        .env_remove("CLOUDFLARE_EMAIL")
        .env_remove("CLOUDFLARE_BASE_URL")
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK round trip failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("sdk round trip passed"), "{stdout}");
    assert_eq!(stdout.matches("ok: ").count(), 4, "{stdout}");
}
