//! A small seed sweep on every run of the suite: `bench/seed_sweep.sh` with a few seeds and
//! `--cases 8` against the emulator's three readings and the independent server must report
//! no false alarm. The script itself is what a user runs for more seeds (see the README).
//!
//! The independent server needs `bash .ci/install` (Python's `cryptography`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `csr-emulator` binary of this build, built now when this test runs without it (e.g.
/// under `cargo test -p csr-conformance`).
fn emulator_binary() -> PathBuf {
    let harness = Path::new(env!("CARGO_BIN_EXE_csr-conformance"));
    let emulator = harness.with_file_name(format!("csr-emulator{}", std::env::consts::EXE_SUFFIX));
    if !emulator.is_file() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "csr-emulator", "--bin", "csr-emulator"])
            .current_dir(repo_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "could not build csr-emulator");
    }
    emulator
}

/// Runs the sweep script, with `emulator_args` added to each emulator; its exit code and output.
fn sweep(args: &[&str], emulator_args: &str) -> (i32, String) {
    let out = Command::new("bash")
        .arg(repo_root().join("bench/seed_sweep.sh"))
        .args(args)
        .env("CSR_CONFORMANCE_BIN", env!("CARGO_BIN_EXE_csr-conformance"))
        .env("CSR_EMULATOR_BIN", emulator_binary())
        .env("EMULATOR_ARGS", emulator_args)
        .output()
        .expect("run bench/seed_sweep.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_small_sweep_finds_no_false_alarm_on_any_reading() {
    let (code, out) = sweep(
        &["3", "full,strict_email_key_root", "--", "--cases", "8"],
        "",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "false alarms: 0 over 3 seeds × 4 targets (emulator:lenient emulator:default emulator:strict independent)"
        ),
        "{out}"
    );
    assert!(!out.contains("FALSE ALARM"), "{out}");
}

#[test]
fn the_sweep_counts_every_failing_trial_and_says_how_to_rerun_it() {
    // Every emulator 500s on some id shapes; the independent server does not: one failing
    // trial (the zone's ids) for each reading.
    let (code, out) = sweep(
        &["1", "zone_root", "--", "--cases", "100", "::ids"],
        "--fault crash-on-id-shape",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("false alarms: 3 over 1 seeds × 4 targets"),
        "{out}"
    );
    for reading in ["lenient", "default", "strict"] {
        assert!(
            out.contains(&format!(
                "FALSE ALARM: mode zone_root, target emulator:{reading}, seed 1"
            )),
            "{out}"
        );
    }
    assert!(out.contains("  property::zone::ids"), "{out}");
    assert!(out.contains("--seed 1 --zone-id"), "{out}");
    assert!(!out.contains("target independent"), "{out}");
}
