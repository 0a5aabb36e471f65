//! `--har` end to end, through the real binary: a default run writes its traffic as a HAR 1.2
//! file that holds nothing the held-back credential scan finds, `import-har` turns it into
//! cases, and those cases replay green against the embedded emulator.
//!
//! Every file is written under the test's own temporary directory, never into `cases/`.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use csr_conformance::model::Credentials;
use csr_conformance::record::readable::scan_readable;
use csr_conformance::record::redact::Secrets;
use serde_json::Value;
use support::{Creds, harness_command, parse_junit};

/// The seed of the run: fixed, so that a failure here reproduces with the same inputs.
const SEED: &str = "1";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("har-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// Runs `csr-conformance ARGS` with no CLOUDFLARE_* environment: (exit code, stdout, stderr).
fn csr_conformance(args: &[&str]) -> (i32, String, String) {
    let out = harness_command(&Creds::default())
        .args(args)
        .output()
        .expect("run csr-conformance");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_default_runs_har_imports_into_cases_that_replay_green() {
    let dir = scratch("replay");
    let har = dir.join("traffic/run.har");
    let (code, stdout, stderr) = csr_conformance(&[
        "--seed",
        SEED,
        "--har",
        path(&har),
        "--junit",
        path(&dir.join("junit.xml")),
    ]);
    assert_eq!(code, 0, "the default run passes\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "csr-conformance: HAR file written to {}",
            path(&har)
        )),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&har).expect("the HAR file");

    // Nothing the held-back scan finds, and none of the emulator's credentials as they are.
    let config = csr_emulator::Config::default();
    let creds = Credentials {
        token: Some(config.token.clone()),
        email: Some(config.email.clone()),
        api_key: Some(config.api_key.clone()),
    };
    let leaks = scan_readable(&text, &Secrets::from_credentials(&creds));
    assert!(leaks.is_empty(), "{leaks:?}");
    for secret in [&config.token, &config.email, &config.api_key] {
        assert!(!text.contains(secret.as_str()));
    }

    // HAR 1.2: one page per trial, every entry on a page, the cleanup on its own, the
    // entries in the order sent.
    let log: Value = serde_json::from_str(&text).expect("the HAR file is JSON");
    let log = &log["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "csr-conformance");
    let pages: BTreeSet<&str> = log["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let entries = log["entries"].as_array().unwrap();
    let sent: usize = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("csr-conformance: ")?
                .split(" requests")
                .next()?
                .parse()
                .ok()
        })
        .expect("the summary line");
    assert_eq!(entries.len(), sent, "every request of the run is an entry");
    for e in entries {
        assert!(
            pages.contains(e["pageref"].as_str().unwrap()),
            "{}",
            e["pageref"]
        );
    }
    assert!(pages.iter().any(|p| p.starts_with("property::")));
    let cleanup: Vec<&Value> = entries
        .iter()
        .filter(|e| e["pageref"] == "cleanup")
        .collect();
    assert!(!cleanup.is_empty(), "the cleanup has a page");
    assert!(cleanup.iter().all(|e| e["request"]["method"] == "DELETE"));
    let started: Vec<&str> = entries
        .iter()
        .map(|e| e["startedDateTime"].as_str().unwrap())
        .collect();
    assert!(
        started.windows(2).all(|w| w[0] <= w[1]),
        "in the order sent"
    );

    // import-har reads it, and what it writes replays green against the embedded emulator.
    let cases = dir.join("cases");
    let (code, _, stderr) = csr_conformance(&["import-har", path(&har), "--out", path(&cases)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(cases.join("recorded-har-run.toml").is_file(), "{stderr}");
    let junit = dir.join("replay.xml");
    let (code, _, stderr) = csr_conformance(&[
        "--seed",
        SEED,
        "--cases-dir",
        path(&cases),
        "--junit",
        path(&junit),
    ]);
    let parsed = parse_junit(&std::fs::read_to_string(&junit).unwrap_or_default());
    let recorded = parsed
        .trials
        .iter()
        .filter(|t| t.starts_with("recorded-har-run::"))
        .count();
    assert!(recorded > 100, "{recorded} imported cases\n{stderr}");
    assert!(
        parsed.failed_trials.is_empty() && parsed.errored_trials.is_empty(),
        "failed: {:?}\nerrored: {:?}\n{}",
        parsed.failed_trials,
        parsed.errored_trials,
        &stderr[stderr.len().saturating_sub(4000)..]
    );
    assert_eq!(code, 0, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_har_path_stops_the_run_before_it_starts() {
    let dir = scratch("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let (code, stdout, stderr) =
        csr_conformance(&["--har", path(&file.join("run.har")), "--no-junit"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("csr-conformance: --har: cannot "),
        "{stderr}"
    );
    assert!(!stdout.contains("test result"), "no trial ran: {stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
