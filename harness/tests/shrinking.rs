//! Targeted shrinking, shown on the emulator's `pem-subject-drops-chars` fault: in the PEM only,
//! `organization` and `organizational_unit` lose `& ' ! @`. No hand-written case is aimed at it;
//! the `valid_creates` property must catch it under every seed, and its reported minimal input
//! must be the named field holding at most 4 characters (the offending one among them), every
//! other field at its simplest (one SAN, one-character subject fields, no optional field),
//! reached in at most 40 re-runs, at `--rate 3` as without a rate: the bound counts re-runs,
//! not seconds. The notes are read from the JUnit report.

mod support;

use csr_emulator::{Config, Emulator, Fault};
use serde_json::Value;
use support::{Creds, Run, run_harness};

/// What the fault strips (as `emulator/src/fault.rs` declares it).
const DROPPED: &[char] = &['&', '\'', '!', '@'];
const SUBJECT: &[&str] = &["state", "locality", "organization", "common_name"];
const OPTIONAL: &[&str] = &["key_type", "organizational_unit", "name", "description"];

fn emulator(faults: &[Fault]) -> Emulator {
    Emulator::start(Config {
        preload: 4,
        faults: faults.to_vec(),
        ..Config::default()
    })
    .expect("start the emulator")
}

fn run(emu: &Emulator, args: &[&str]) -> Run {
    run_harness(&emu.base_url(), &Creds::of_emulator(emu.config()), args)
}

/// The text after `label: ` in a report, up to the end of its line.
fn note<'a>(detail: &'a str, label: &str) -> &'a str {
    let start = detail
        .find(&format!("{label}: "))
        .unwrap_or_else(|| panic!("no {label:?} in\n{detail}"))
        + label.len()
        + 2;
    detail[start..].lines().next().unwrap_or_default().trim()
}

/// Checks the report of a failed `valid_creates` trial against the shrinking bar; returns the
/// minimal input and the re-runs it took.
#[track_caller]
fn assert_minimal(run: &Run, trial: &str) -> (Value, u32) {
    assert!(
        run.fired
            .contains(&(trial.to_string(), "pem.subject".to_string())),
        "{trial} must fail on pem.subject\n{}",
        run.summary()
    );
    let detail = &run.details[trial];
    let body: Value = serde_json::from_str(note(detail, "minimal input")).expect("a JSON body");
    let cases = note(detail, "cases");
    // "failed at case K of N; shrunk in R re-runs (at most 40), field `F` first (...)"
    let runs: u32 = cases
        .split("shrunk in ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no re-run count in {cases:?}"));
    assert!(runs <= 40, "{runs} re-runs: {cases}");
    assert!(cases.contains("(at most 40)"), "the bound is said: {cases}");
    let field = cases
        .split("field `")
        .nth(1)
        .and_then(|f| f.split('`').next())
        .unwrap_or_else(|| panic!("no named field in {cases:?}"));
    assert!(
        ["organization", "organizational_unit"].contains(&field),
        "{cases}"
    );
    let value = body[field].as_str().unwrap();
    assert!(
        value.chars().count() <= 4 && value.contains(DROPPED),
        "the named field holds at most 4 characters, the dropped one among them: {body}"
    );
    for f in SUBJECT.iter().filter(|f| **f != field) {
        assert_eq!(body[f].as_str().unwrap().chars().count(), 1, "{f}: {body}");
    }
    assert_eq!(body["sans"].as_array().unwrap().len(), 1, "{body}");
    assert!(
        body["sans"][0].as_str().unwrap().len() <= 8,
        "a short SAN: {body}"
    );
    for f in OPTIONAL.iter().filter(|f| **f != field) {
        assert!(body.get(f).is_none(), "{f} absent: {body}");
    }
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.retain(|k| !["country", "sans", field].contains(k) && !SUBJECT.contains(k));
    assert!(keys.is_empty(), "no other field: {body}");
    (body, runs)
}

#[test]
fn a_dropped_character_shrinks_to_a_few_characters_also_at_a_polite_rate() {
    let emu = emulator(&[Fault::PemSubjectDropsChars]);
    let trial = "property::account::valid_creates";
    let fast = run(&emu, &["--seed", "20240607", "--exact", trial]);
    assert_eq!(fast.code, 1, "{}", fast.summary());
    let (fast_body, fast_runs) = assert_minimal(&fast, trial);
    let slow = run(
        &emu,
        &["--seed", "20240607", "--rate", "3", "--exact", trial],
    );
    assert_eq!(slow.code, 1, "{}", slow.summary());
    let (slow_body, slow_runs) = assert_minimal(&slow, trial);
    // Bounded by re-runs, not time: the rate changes nothing.
    assert_eq!((&slow_body, slow_runs), (&fast_body, fast_runs));
    println!(
        "--rate 3: {}\n  minimal input: {slow_body}\n  cases: {}",
        slow.details[trial].lines().next().unwrap_or_default(),
        note(&slow.details[trial], "cases")
    );
}

#[test]
fn caught_under_every_seed_of_a_sweep_with_a_minimal_input_each_time() {
    let emu = emulator(&[Fault::PemSubjectDropsChars]);
    let mut caught = Vec::new();
    for seed in support::sweep_seeds() {
        let seed = seed.to_string();
        // A default run: every trial, hand-written ones included, none aimed at this fault.
        let r = run(&emu, &["--seed", &seed]);
        assert_eq!(r.code, 1, "seed {seed}: {}", r.summary());
        let trials: Vec<&String> = r
            .failed_trials
            .iter()
            .filter(|t| t.starts_with("property::") && t.ends_with("::valid_creates"))
            .collect();
        assert!(
            !trials.is_empty(),
            "seed {seed}: not caught\n{}",
            r.summary()
        );
        for t in &trials {
            let (_, runs) = assert_minimal(&r, t);
            caught.push(format!("seed {seed}: {t} in {runs} re-runs"));
        }
    }
    println!("{}", caught.join("\n"));
}

#[test]
fn the_correct_emulator_passes_every_property_in_every_reading() {
    // One seed per reading here; `seed_sweep.rs` sweeps more with fewer cases.
    for (reading, seed) in [("lenient", "1"), ("default", "2"), ("strict", "20240607")] {
        let emu = Emulator::start(Config {
            preload: 4,
            reading: reading.parse().unwrap(),
            ..Config::default()
        })
        .expect("start the emulator");
        let r = run(&emu, &["--seed", seed, "property::"]);
        assert_eq!(r.code, 0, "{reading}, seed {seed}: {}", r.summary());
    }
}
