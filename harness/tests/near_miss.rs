//! Near-miss credentials: a server that compares credentials carelessly (the emulator's
//! `loose-credentials` fault: trimmed, without case, up to the last character) is caught by a
//! default run under every seed, by the `auth` property's fixed inputs and not by any
//! hand-written case; correct servers (the emulator in each reading, the independent Python
//! server) pass and verify every auth rule; and nothing of a credential, nor any near miss of
//! one, reaches stdout, stderr, the JUnit report or a recorded file.

#[path = "targets/spawn.rs"]
mod spawn;
mod support;

use std::path::{Path, PathBuf};

use csr_emulator::{Config, Emulator, Fault, Reading};
use support::{ACCOUNT_ID, Creds, Run, ZONE_ID, harness_command, run_harness};

const AUTH_RULES: [&str; 8] = [
    "auth.bearer",
    "auth.email-key",
    "auth.missing",
    "auth.malformed",
    "auth.wrong",
    "auth.partial",
    "auth.near-miss-token",
    "auth.near-miss-key",
];

fn emulator(faults: &[Fault], reading: Reading) -> Emulator {
    Emulator::start(Config {
        preload: 4,
        faults: faults.to_vec(),
        reading,
        ..Config::default()
    })
    .expect("start the emulator")
}

/// Every window of `WINDOW` characters of each credential, lowercased: a text holding one (in
/// any case) holds a part of a credential, so also any near miss of it (one character changed,
/// cut, added, or in another case) and any longer piece of it.
const WINDOW: usize = 12;

fn pieces(creds: &Creds) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for (value, what) in [
        (&creds.token, "token"),
        (&creds.api_key, "API key"),
        (&creds.email, "email"),
    ] {
        let v: Vec<char> = value.as_deref().unwrap_or_default().chars().collect();
        for w in v.windows(WINDOW.min(v.len())) {
            out.push((w.iter().collect::<String>().to_lowercase(), what));
        }
    }
    out
}

/// What part of a credential `text` holds, if any.
fn leak(text: &str, creds: &Creds) -> Option<String> {
    let lower = text.to_lowercase();
    pieces(creds).into_iter().find_map(|(p, what)| {
        lower
            .find(&p)
            .map(|at| format!("a piece of the {what} at byte {at}"))
    })
}

#[test]
fn the_leak_scan_finds_every_near_miss() {
    let c = Creds::emulator_defaults();
    let token = c.token.clone().unwrap();
    let key = c.api_key.clone().unwrap();
    let n = token.len();
    for text in [
        format!("Bearer {}Z", &token[..n - 1]),
        format!("token {} cut", &token[..n - 1]),
        format!("{token}x"),
        token.to_uppercase(),
        format!(" {token} "),
        key.to_uppercase(),
        format!("k={}", &key[..key.len() - 1]),
        "USER@example.com".into(),
    ] {
        assert!(leak(&text, &c).is_some(), "{text}");
    }
    assert_eq!(
        leak(
            "curl -H \"Authorization: Bearer ${CLOUDFLARE_API_TOKEN%?}\"",
            &c
        ),
        None
    );
}

/// The trials that failed, and the rules they fired.
fn failed(run: &Run) -> Vec<String> {
    run.fired.iter().map(|(t, r)| format!("{t}: {r}")).collect()
}

#[track_caller]
fn assert_caught_by_near_misses(run: &Run, seed: u64) {
    assert_eq!(run.code, 1, "seed {seed}\n{}", run.summary());
    let expected: std::collections::BTreeSet<String> = ["account", "zone"]
        .map(|s| format!("property::{s}::auth"))
        .into_iter()
        .collect();
    assert_eq!(
        run.failed_trials,
        expected,
        "seed {seed}: only the auth property fails\n{}",
        run.summary()
    );
    assert!(run.errored_trials.is_empty(), "{}", run.summary());
    for trial in &expected {
        assert!(
            run.fired
                .iter()
                .any(|(t, r)| t == trial
                    && (r == "auth.near-miss-token" || r == "auth.near-miss-key")),
            "seed {seed}: {trial} names a near-miss rule: {:?}",
            failed(run)
        );
        let detail = &run.details[trial];
        assert!(
            detail.contains("minimal input: ") && detail.contains("<the configured "),
            "{detail}"
        );
    }
}

/// The fault is caught by a default run (every trial, nothing aimed at it) under each seed of
/// the sweep (`support::sweep_seeds`): the seeds are printed as they pass (`--nocapture`).
#[test]
fn loose_credentials_are_caught_under_every_seed_of_a_sweep() {
    let creds = Creds::emulator_defaults();
    let seeds = support::sweep_seeds();
    // Two runs at a time: one per core.
    std::thread::scope(|s| {
        let workers: Vec<_> = seeds
            .chunks(seeds.len().div_ceil(2))
            .map(|chunk| {
                let creds = &creds;
                s.spawn(move || {
                    for &seed in chunk {
                        let emu = emulator(&[Fault::LooseCredentials], Reading::Default);
                        let run =
                            run_harness(&emu.base_url(), creds, &["--seed", &seed.to_string()]);
                        assert_caught_by_near_misses(&run, seed);
                        println!("seed {seed}: caught: {}", failed(&run).join(", "));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("a sweep worker");
        }
    });
    println!("loose-credentials caught under seeds 1..={}", seeds.len());
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("near-miss-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
        }
    }
    out
}

/// A failing run (the near misses let in) and a recording of the same faulty server: no
/// credential, nor a piece of one in any case, in what either prints or writes.
#[test]
fn nothing_of_a_credential_reaches_output_reports_or_recordings() {
    let creds = Creds::emulator_defaults();
    let emu = emulator(&[Fault::LooseCredentials], Reading::Default);
    let run = run_harness(&emu.base_url(), &creds, &["--seed", "7"]);
    assert_caught_by_near_misses(&run, 7);
    // Every near miss was sent: each kind is named in the report it failed in or was sent
    // before it (the fixed inputs), and the curl lines derive them from the variables.
    assert!(
        run.stdout.contains("${CLOUDFLARE_API_TOKEN%?}$(printf"),
        "{}",
        run.stdout
    );
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("JUnit", &run.junit),
    ] {
        assert_eq!(leak(text, &creds), None, "{what}:\n{text}");
    }

    let dir = scratch("record");
    let out_dir = dir.join("recorded");
    let junit = dir.join("junit.xml");
    let output = harness_command(&creds)
        .args(["record", "--out"])
        .arg(&out_dir)
        .arg("--junit")
        .arg(&junit)
        .args([
            "--target",
            &emu.base_url(),
            "--account-id",
            ACCOUNT_ID,
            "--zone-id",
            ZONE_ID,
        ])
        .args(["--seed", "7"])
        .output()
        .expect("run csr-conformance record");
    let files = files_under(&out_dir);
    assert!(
        !files.is_empty(),
        "the hand-written cases pass and are recorded: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut texts = vec![
        (
            "record stdout".to_string(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ),
        (
            "record stderr".to_string(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ),
        (
            "record JUnit".to_string(),
            std::fs::read_to_string(&junit).unwrap_or_default(),
        ),
    ];
    texts.extend(files.into_iter().map(|(p, t)| (p.display().to_string(), t)));
    for (what, text) in texts {
        assert_eq!(leak(&text, &creds), None, "{what}:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The JUnit `rule: ID` property's counts: (exercised, violated).
fn rule_counts(junit: &str, id: &str) -> Option<(u64, u64)> {
    let at = junit.find(&format!("name=\"rule: {id}\""))?;
    let rest = &junit[at..];
    let value = rest.split("value=\"").nth(1)?.split('"').next()?;
    let num = |key: &str| -> Option<u64> {
        value
            .split(' ')
            .find_map(|w| w.strip_prefix(key))?
            .parse()
            .ok()
    };
    Some((num("exercised=")?, num("violated=")?))
}

#[track_caller]
fn assert_auth_rules_verified(run: &Run, target: &str) {
    assert_eq!(run.code, 0, "{target}\n{}", run.summary());
    for id in AUTH_RULES {
        let (exercised, violated) = rule_counts(&run.junit, id)
            .unwrap_or_else(|| panic!("{target}: no rule property for {id}"));
        assert!(
            exercised > 0 && violated == 0,
            "{target}: {id} {exercised} {violated}"
        );
    }
}

/// The correct emulator in each reading refuses every near miss and accepts both schemes:
/// the auth trials pass and every auth rule is verified, under two seeds.
#[test]
fn correct_emulators_pass_and_verify_every_auth_rule() {
    let creds = Creds::emulator_defaults();
    for reading in [Reading::Lenient, Reading::Default, Reading::Strict] {
        let emu = emulator(&[], reading);
        for seed in ["1", "2"] {
            let run = run_harness(&emu.base_url(), &creds, &["--seed", seed, "auth"]);
            assert!(
                run.trials.contains("property::zone::auth"),
                "{}",
                run.summary()
            );
            assert_auth_rules_verified(&run, &format!("{reading:?} seed {seed}"));
        }
    }
}

/// The independent Python server, written apart from the emulator, does too.
#[test]
fn the_independent_server_passes_and_verifies_every_auth_rule() {
    let c = Creds::emulator_defaults();
    let server = spawn::independent_server_with(
        c.token.as_deref().unwrap(),
        c.email.as_deref().unwrap(),
        c.api_key.as_deref().unwrap(),
        &["--preload", "4"],
    );
    let run = run_harness(&server.base_url, &c, &["--seed", "3", "auth"]);
    assert_auth_rules_verified(&run, "independent server");
}

/// With a token only, the near misses of the key (and the email + key scheme) are skipped,
/// not faked: those rules are listed as not verified, the token's are verified.
#[test]
fn near_misses_of_what_is_not_configured_are_skipped() {
    let emu = emulator(&[], Reading::Default);
    let token_only = Creds {
        token: Creds::emulator_defaults().token,
        ..Creds::default()
    };
    let run = run_harness(&emu.base_url(), &token_only, &["--seed", "4", "auth"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(matches!(rule_counts(&run.junit, "auth.near-miss-token"), Some((n, 0)) if n > 0));
    assert!(matches!(rule_counts(&run.junit, "auth.bearer"), Some((n, 0)) if n > 0));
    for id in ["auth.near-miss-key", "auth.email-key"] {
        assert!(
            matches!(rule_counts(&run.junit, id), None | Some((0, 0))),
            "{id}: {:?}",
            rule_counts(&run.junit, id)
        );
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("csr-conformance: not verified: "))
            .unwrap_or_default();
        assert!(line.contains(id), "{id} listed as not verified: {line}");
    }
}
