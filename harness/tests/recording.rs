//! Recorded requests end to end, through the real binary: `record` against one correct server
//! replays against it and against another correct one, and fails naming the field against a
//! server that drifted; `import-har` turns browser and mitmproxy captures into cases that pass
//! against correct servers, and refuses broken files; no credential reaches anything written.
//!
//! Every file is written under the test's own temporary directory, never into `cases/`.

#[path = "targets/spawn.rs"]
mod spawn;
mod support;

use std::path::{Path, PathBuf};

use support::proxy::{Fault, FaultyProxy};
use support::{ACCOUNT_ID, Creds, Run, ZONE_ID, run_harness};

/// What one run of the binary printed.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `csr-conformance ARGS` with `creds` as its only CLOUDFLARE_* environment.
fn csr_conformance(args: &[&str], creds: &Creds) -> Out {
    let mut cmd = support::harness_command(creds);
    cmd.args(args);
    let out = cmd.output().expect("run csr-conformance");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("recording-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Every file under `dir`, with its text.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path, text));
        }
    }
    out.sort();
    out
}

fn har(name: &str) -> String {
    format!("{}/tests/data/har/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Panics if any of `secrets` appears in any of `texts` (named by their first element).
#[track_caller]
fn assert_nothing_holds(texts: &[(String, &str)], secrets: &[&str]) {
    for (name, text) in texts {
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{name} holds a credential ({} characters)",
                secret.len()
            );
        }
    }
}

#[track_caller]
fn assert_passed(run: &Run, min_recorded: usize) {
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(run.failed_trials.is_empty(), "{}", run.summary());
    assert!(run.errored_trials.is_empty(), "{}", run.summary());
    let judged = run
        .trials
        .iter()
        .filter(|t| t.contains("recorded") && !run.skipped_trials.contains_key(*t))
        .count();
    assert!(
        judged >= min_recorded,
        "only {judged} recorded trials judged\n{}",
        run.summary()
    );
}

fn emulator() -> csr_emulator::Emulator {
    csr_emulator::Emulator::start(csr_emulator::Config {
        preload: 5,
        ..csr_emulator::Config::default()
    })
    .expect("start the emulator")
}

fn independent() -> spawn::Spawned {
    let c = Creds::emulator_defaults();
    spawn::independent_server_with(
        c.token.as_deref().unwrap(),
        c.email.as_deref().unwrap(),
        c.api_key.as_deref().unwrap(),
        &["--preload", "5"],
    )
}

#[test]
fn a_recording_of_the_embedded_emulator_replays_and_catches_drift() {
    let dir = scratch("embedded");
    let out_dir = dir.join("recorded");
    let junit = dir.join("junit.xml");
    let rec = csr_conformance(
        &["record", "--out", path(&out_dir), "--junit", path(&junit)],
        &Creds::default(),
    );
    assert_eq!(rec.code, 0, "{}", rec.stderr);
    let files = files_under(&out_dir);
    let names: Vec<String> = files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "auth.toml",
            "behaviour.toml",
            "fixtures.toml",
            "validation.toml"
        ]
    );
    for (p, text) in &files {
        assert!(text.contains("suite = \"recorded-"), "{}", p.display());
    }
    assert!(
        rec.stderr.contains("case(s) recorded in 4 of 4 file(s)"),
        "{}",
        rec.stderr
    );

    // The embedded emulator's credentials are nowhere in what the recording wrote.
    let d = Creds::emulator_defaults();
    let mut written: Vec<(String, &str)> = files
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.as_str()))
        .collect();
    let report = std::fs::read_to_string(&junit).unwrap_or_default();
    assert!(report.contains("<testcase "), "no JUnit report");
    written.push(("the JUnit report".into(), &report));
    written.push(("stdout".into(), &rec.stdout));
    written.push(("stderr".into(), &rec.stderr));
    assert_nothing_holds(
        &written,
        &[
            d.token.as_deref().unwrap(),
            d.api_key.as_deref().unwrap(),
            d.email.as_deref().unwrap(),
        ],
    );

    // Replayed against a fresh emulator, with its own credentials: everything passes.
    let target = emulator();
    let run = run_harness(&target.base_url(), &d, &["--cases-dir", path(&out_dir)]);
    assert_passed(&run, 100);

    // A server whose answers differ in one stable field fails on that field, naming the
    // recorded value and the value now.
    let drifted = FaultyProxy::start(Fault::OrganizationChanged).expect("start the proxy");
    let run = run_harness(
        &drifted.base_url(),
        &drifted.creds(),
        &["--cases-dir", path(&out_dir), "--skip", "huge_body"],
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    run.assert_fired("recorded-behaviour::", "", "expect.json");
    assert!(
        run.details.values().any(|d| d.contains(
            "/result/organization differs from the recording: recorded \"csr-conformance\", now \"Someone Else Ltd\""
        )),
        "{:#?}",
        run.details
    );

    // A server that breaks a checked rule fails on that field too.
    let broken = FaultyProxy::start(Fault::CreatedAtNotRfc3339).expect("start the proxy");
    let run = run_harness(
        &broken.base_url(),
        &broken.creds(),
        &["--cases-dir", path(&out_dir), "--skip", "huge_body"],
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    run.assert_fired("recorded-fixtures::", "", "expect.format");
    assert!(
        run.details
            .values()
            .any(|d| d.contains("/result/created_at is no longer a date-time value")),
        "{:#?}",
        run.details
    );
}

#[test]
fn a_recording_of_one_correct_server_passes_against_the_other() {
    let d = Creds::emulator_defaults();
    let server = independent();

    // Recorded against the independent server, replayed against the emulator...
    let from_independent = scratch("from-independent");
    let rec = csr_conformance(
        &[
            "record",
            "--out",
            path(&from_independent),
            "--no-junit",
            "--target",
            &server.base_url,
            "--account-id",
            ACCOUNT_ID,
            "--zone-id",
            ZONE_ID,
        ],
        &d,
    );
    assert_eq!(rec.code, 0, "{}", rec.stderr);
    let target = emulator();
    let run = run_harness(
        &target.base_url(),
        &d,
        &["--cases-dir", path(&from_independent)],
    );
    assert_passed(&run, 100);
    // ... and under --read-only, where what writes is skipped with a reason, never failed.
    let run = run_harness(
        &target.base_url(),
        &d,
        &["--cases-dir", path(&from_independent), "--read-only"],
    );
    assert_passed(&run, 20);
    assert!(
        run.skipped_trials
            .iter()
            .any(|(t, why)| t.starts_with("recorded-fixtures::") && why.contains("--read-only")),
        "{}",
        run.summary()
    );

    // Recorded against the embedded emulator, replayed against the independent server, strict.
    let from_emulator = scratch("from-emulator");
    let rec = csr_conformance(
        &["record", "--out", path(&from_emulator), "--no-junit"],
        &Creds::default(),
    );
    assert_eq!(rec.code, 0, "{}", rec.stderr);
    let run = run_harness(
        &server.base_url,
        &d,
        &["--cases-dir", path(&from_emulator), "--strict"],
    );
    assert_passed(&run, 100);
}

#[test]
fn record_takes_the_run_filters() {
    let dir = scratch("filtered");
    let rec = csr_conformance(
        &["record", "--out", path(&dir), "--no-junit", "auth::zone::"],
        &Creds::default(),
    );
    assert_eq!(rec.code, 0, "{}", rec.stderr);
    let files = files_under(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let text = &files[0].1;
    assert!(text.contains("suite = \"recorded-auth\""), "{text}");
    assert!(
        !text.contains("\"account\""),
        "only the zone was selected\n{text}"
    );
    // Refused credentials keep their shape; working ones become the run's own.
    for mode in [
        "none",
        "wrong_token",
        "wrong_key",
        "email_only",
        "key_only",
        "malformed_bearer",
        "malformed_email",
    ] {
        assert!(
            text.contains(&format!("auth = \"{mode}\"")),
            "no {mode}\n{text}"
        );
    }
}

/// The made-up credentials of the HAR fixtures (see `tests/data/har/make_fixtures.py`).
const HAR_TOKEN: &str = "Xq7LmN2pR9sT4vW6yZ8bC1dF3gH5jK0aQwErTyUi";
const HAR_KEY: &str = "c0ffee0123456789abcdef0123456789abcde";
const HAR_EMAIL: &str = "ops.lead@corp-mail.example";
const HAR_COOKIES: &[&str] = &[
    "3f1e0c9b8a7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
    "Zm9vYmFyYmF6cXV4",
    "0H28vgHxwvgAQtjUGU4vq74ZFe3sNVUZ",
];

fn import(file: &str, name: &str) -> (PathBuf, Out, String) {
    let dir = scratch(name);
    let out = csr_conformance(
        &["import-har", &har(file), "--out", path(&dir)],
        &Creds::default(),
    );
    let files = files_under(&dir);
    let text = files.first().map(|(_, t)| t.clone()).unwrap_or_default();
    let reversed: String = HAR_TOKEN.chars().rev().collect();
    let mut secrets = vec![HAR_TOKEN, HAR_KEY, HAR_EMAIL, reversed.as_str()];
    secrets.extend(HAR_COOKIES);
    assert_nothing_holds(
        &[
            ("the imported file".into(), text.as_str()),
            ("stdout".into(), &out.stdout),
            ("stderr".into(), &out.stderr),
        ],
        &secrets,
    );
    (dir, out, text)
}

#[test]
fn a_chrome_capture_imports_into_cases_that_pass_against_correct_servers() {
    let (dir, out, text) = import("chrome.har", "chrome");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "8 Custom CSR exchange(s) as 4 case(s) in {}/recorded-har-chrome.toml; skipped 6 other entries: 1 CORS preflight, 1 no answer (failed or blocked), 4 not the Custom CSR API"
                .replace("{}", path(&dir))
                .as_str()
        ),
        "{}",
        out.stderr
    );
    for expected in [
        "suite = \"recorded-har-chrome\"",
        // The created id is captured, and the list must hold it.
        "capture = { id = \"/result/id\" }",
        "path = \"${scope}/custom_csrs/${id}\"",
        "holds = [\"${id}\"]",
        // The object the capture read but did not create replays against a fixture.
        "[[fixture]]",
        "path = \"${scope}/custom_csrs/${fixture.recorded_har_chrome_object.id}\"",
        // The request refused for its token keeps that shape; the base64 answer was read.
        "auth = \"wrong_token\"",
        "formats = { \"/result/created_at\" = \"date-time\", \"/result/csr\" = \"pem\" }",
        "query = { page = \"1\", per_page = \"20\" }",
        "organizational_unit = \"Web for [REDACTED-EMAIL]\"",
    ] {
        assert!(text.contains(expected), "no {expected}\n{text}");
    }
    let d = Creds::emulator_defaults();
    let target = emulator();
    assert_passed(
        &run_harness(&target.base_url(), &d, &["--cases-dir", path(&dir)]),
        8,
    );
    let server = independent();
    assert_passed(
        &run_harness(&server.base_url, &d, &["--cases-dir", path(&dir)]),
        8,
    );
}

#[test]
fn a_mitmproxy_capture_with_compressed_and_missing_bodies_imports_and_passes() {
    let (dir, out, text) = import("mitmproxy.har", "mitmproxy");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("skipped 1 other entries: 1 not the Custom CSR API"),
        "{}",
        out.stderr
    );
    // The gzip-compressed create answer was read: its fields are compared.
    assert!(
        text.contains("\"/result/organization\" = \"Mitm KK\""),
        "{text}"
    );
    assert!(
        text.contains("\"/result/account_tag\" = \"${scope_id}\""),
        "{text}"
    );
    assert!(text.contains("scopes = [\"account\"]"), "{text}");
    // The email inside a field, taught by the X-Auth-Email header, is gone.
    assert!(text.contains("name = \"capture [REDACTED]\""), "{text}");
    let d = Creds::emulator_defaults();
    let target = emulator();
    assert_passed(
        &run_harness(&target.base_url(), &d, &["--cases-dir", path(&dir)]),
        4,
    );
}

#[test]
fn a_broken_capture_is_a_clear_error_and_nothing_is_written() {
    let (dir, out, _) = import("truncated.har", "truncated");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("the HAR file is truncated: its JSON ends at line")
            && out.stderr.contains("nothing written"),
        "{}",
        out.stderr
    );
    assert!(files_under(&dir).is_empty());

    let scratch_dir = scratch("not-har");
    for (name, content, says) in [
        (
            "page.har",
            "<html>saved the page instead</html>",
            "not a HAR file: not JSON at line 1, column 1",
        ),
        (
            "other.json",
            "{\"hello\": []}",
            "not a HAR 1.2 file: it has no \"log\" object",
        ),
        (
            "empty.har",
            "{\"log\": {\"version\": \"1.2\", \"entries\": []}}",
            "no Custom CSR exchange in 0 entries",
        ),
    ] {
        let file = scratch_dir.join(name);
        std::fs::write(&file, content).unwrap();
        let out_dir = scratch_dir.join("out");
        let out = csr_conformance(
            &["import-har", path(&file), "--out", path(&out_dir)],
            &Creds::default(),
        );
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
        assert!(files_under(&out_dir).is_empty(), "{name} wrote something");
    }
}

#[test]
fn the_final_scan_refuses_a_credential_the_redaction_could_not_know() {
    // A token-shaped value in a body, sent by no header: redaction cannot know it is one, the
    // scan before the disk still refuses it, and says so without printing it.
    let planted = "Zr8KpL3mN5qT7vX9bD2fH4jA6cE0gI1oUyWsQeRt";
    let body = format!(
        "{{\"country\": \"PT\", \"state\": \"Lisboa\", \"locality\": \"Lisboa\", \"organization\": \"{planted}\", \"common_name\": \"s.csr-conformance.net\", \"sans\": [\"s.csr-conformance.net\"]}}"
    );
    let har_text = serde_json::json!({"log": {"version": "1.2", "creator": {"name": "Firefox"}, "entries": [{
        "request": {"method": "POST", "url": format!("https://api.cloudflare.com/client/v4/zones/{ZONE_ID}/custom_csrs"),
                    "headers": [], "postData": {"mimeType": "application/json", "text": body}},
        "response": {"status": 400, "headers": [], "content": {"mimeType": "application/json",
                     "text": "{\"success\": false, \"errors\": [{\"code\": 1000, \"message\": \"no\"}], \"messages\": [], \"result\": null}"}},
    }]}});
    let dir = scratch("planted");
    let file = dir.join("planted.har");
    std::fs::write(&file, har_text.to_string()).unwrap();
    let out_dir = dir.join("out");
    let out = csr_conformance(
        &["import-har", path(&file), "--out", path(&out_dir)],
        &Creds::default(),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("refusing to write")
            && out
                .stderr
                .contains("holds something shaped like a Cloudflare API token"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(planted) && !out.stdout.contains(planted));
    assert!(files_under(&out_dir).is_empty());
}
