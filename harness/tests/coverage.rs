//! The deterministic coverage of the documented contract: a default run verifies the
//! documented rules and says so (stdout and JUnit), `--budget 300` verifies the same rules in
//! at most 300 requests, `--read-only` names the rules it could not verify, and a server that
//! ignores one documented list value (`ignore-sort-value`, `ignore-direction`) is caught under
//! every seed of a 20-seed sweep by the generated properties alone.

mod support;

use csr_emulator::{Config, Emulator, Fault};
use support::{Creds, Run, run_harness};

/// The emulator with `faults`, and CSRs of its own in every scope.
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

/// The run's own lines on stdout, without their `csr-conformance: ` prefix.
fn ours(run: &Run) -> impl Iterator<Item = &str> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("csr-conformance: "))
}

/// `(verified, documented)` from `csr-conformance: N/M documented rules verified`.
fn verified(run: &Run) -> (usize, usize) {
    let line = ours(run)
        .find_map(|l| l.strip_suffix(" documented rules verified"))
        .unwrap_or_else(|| panic!("no rules line in\n{}", run.stdout));
    let (n, m) = line.split_once('/').expect("N/M");
    (n.parse().unwrap(), m.parse().unwrap())
}

/// The rules named on the `not verified:` line (none when there is no such line).
fn not_verified(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("csr-conformance: not verified: "))
        .map(|l| l.split(", ").map(String::from).collect())
        .unwrap_or_default()
}

/// The value of JUnit property `name`.
fn property(run: &Run, name: &str) -> Option<String> {
    let key = format!("<property name=\"{name}\" value=\"");
    let at = run.junit.find(&key)? + key.len();
    let end = run.junit[at..].find('"')? + at;
    Some(run.junit[at..end].to_string())
}

/// `N` of the summary line `csr-conformance: N requests (G generated) in T s, seed S`.
fn requests(run: &Run) -> u64 {
    ours(run)
        .find_map(|l| l.split_once(" requests (").map(|(n, _)| n.to_string()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line in\n{}", run.stdout))
}

#[track_caller]
fn assert_all_verified(run: &Run) {
    let (n, m) = verified(run);
    let missing = not_verified(run);
    assert!(
        missing.is_empty(),
        "not verified: {missing:?}\n{}",
        run.stdout
    );
    assert_eq!(n, m, "{}", run.stdout);
    assert_eq!(property(run, "rules_documented"), Some(m.to_string()));
    assert_eq!(property(run, "rules_verified"), Some(n.to_string()));
    if missing.is_empty() {
        assert_eq!(property(run, "rules_not_verified"), None);
    } else {
        assert_eq!(property(run, "rules_not_verified"), Some(missing.join(" ")));
    }
}

#[test]
fn a_default_run_verifies_the_documented_rules_and_says_so() {
    let emu = emulator(&[]);
    let run = run(&emu, &["--seed", "7"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert_all_verified(&run);
    // The rules a fixed case verifies whatever the seed, each named in JUnit with the trial.
    for (rule, trial) in [
        ("code.1417", "property::account::invalid_creates"),
        ("list.order.name.desc", "property::account::list_params"),
        ("list.page.past-last", "property::zone::list_params"),
        ("field.key_type.default", "property::zone::valid_creates"),
        ("state.deleted-gone", "property::account::sequences"),
        ("auth.email-key", "property::account::list_params"),
    ] {
        let entry = property(&run, &format!("rule: {rule}")).expect(rule);
        assert!(entry.contains(trial), "{rule}: {entry}");
        assert!(entry.contains("violated=0"), "{rule}: {entry}");
    }
    assert!(
        run.stdout
            .contains("full coverage of the documented rules takes "),
        "{}",
        run.stdout
    );
    support::assert_junit_valid(&run);
}

#[test]
fn a_budget_of_300_verifies_the_same_rules_in_at_most_300_requests() {
    let emu = emulator(&[]);
    let run = run(&emu, &["--seed", "7", "--budget", "300"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert_all_verified(&run);
    let sent = requests(&run);
    assert!(sent <= 300, "{sent} requests\n{}", run.stdout);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("csr-conformance: --budget 300: "))
        .unwrap_or_else(|| panic!("no budget line in\n{}", run.stdout));
    assert!(line.contains("for the deterministic coverage"), "{line}");
    // Hand-written cases that did not fit are skipped, naming the flag.
    let skipped = run
        .skipped_trials
        .values()
        .filter(|r| r.contains("--budget 300"))
        .count();
    assert!(skipped > 0, "{:?}", run.skipped_trials);
    support::assert_junit_valid(&run);
}

#[test]
fn a_budget_too_small_for_full_coverage_stays_within_it_and_names_what_it_left() {
    let emu = emulator(&[]);
    let run = run(&emu, &["--seed", "7", "--budget", "40"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(requests(&run) <= 40, "{}", run.stdout);
    let missing = not_verified(&run);
    assert!(
        missing.iter().any(|r| !r.starts_with("auth.")),
        "{missing:?}"
    );
    assert_eq!(
        property(&run, "rules_not_verified"),
        Some(missing.join(" "))
    );
}

#[test]
fn a_read_only_run_names_the_rules_it_could_not_verify() {
    let emu = emulator(&[]);
    let run = run(&emu, &["--seed", "7", "--read-only"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    let missing = not_verified(&run);
    for rule in [
        "field.echo",
        "field.common_name.over-limit",
        "code.1405",
        "code.1400",
        "list.order.name.asc",
        "list.order.created_at.desc",
        "state.listed-once",
        "field.key_type.default",
    ] {
        assert!(missing.iter().any(|r| r == rule), "{rule}: {missing:?}");
    }
    // What reads can verify, they do.
    for rule in [
        "list.per_page.5",
        "list.per_page.default",
        "list.page.last",
        "list.page.past-last",
        "code.1419",
        "code.1418",
        "auth.bearer",
        "auth.email-key",
        "pem.sans",
    ] {
        assert!(!missing.iter().any(|r| r == rule), "{rule}: {missing:?}");
    }
    let named = property(&run, "rules_not_verified").expect("rules_not_verified");
    assert_eq!(named, missing.join(" "));
    let (n, m) = verified(&run);
    assert_eq!(n + missing.len(), m);
    support::assert_junit_valid(&run);
}

/// Runs the generated properties (no hand-written case) under the sweep's seeds against an
/// emulator with `fault`, and returns the seeds under which the run did not fail with
/// `property.list-order` in the account's list parameters.
fn sweep(fault: Fault) -> Vec<u64> {
    let emu = emulator(&[fault]);
    let mut missed = Vec::new();
    for seed in support::sweep_seeds() {
        let s = seed.to_string();
        let run = run(&emu, &["--seed", &s, "property::"]);
        let caught = run.code == 1
            && run.fired_in("property::account::list_params", "", "property.list-order");
        println!(
            "{fault}: seed {seed}: {}",
            if caught { "caught" } else { "MISSED" }
        );
        if !caught {
            missed.push(seed);
        }
    }
    missed
}

#[test]
fn an_ignored_sort_value_is_caught_under_every_seed() {
    assert_eq!(sweep(Fault::IgnoreSortValue), Vec::<u64>::new());
}

#[test]
fn an_ignored_direction_is_caught_under_every_seed() {
    assert_eq!(sweep(Fault::IgnoreDirection), Vec::<u64>::new());
}

#[test]
fn the_correct_emulator_passes_the_list_coverage_under_every_seed() {
    let emu = emulator(&[]);
    for seed in support::sweep_seeds() {
        let s = seed.to_string();
        let run = run(&emu, &["--seed", &s, "property::account::list_params"]);
        assert_eq!(run.code, 0, "seed {seed}: {}", run.summary());
    }
}

/// A fixed case that fails does not hide the rules of the fixed cases after it: they still
/// run and are recorded, so a mock's coverage table lists every rule it broke or kept.
#[test]
fn the_fixed_cases_after_a_failing_one_still_verify_their_rules() {
    // A common name of 64 characters (the first fixed valid body) is refused.
    let emu = emulator(&[Fault::CommonNameLimitOffByOne]);
    let run = run(
        &emu,
        &[
            "--seed",
            "1",
            "--cases",
            "1",
            "--exact",
            "property::account::valid_creates",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    let entry = |id: &str| property(&run, &format!("rule: {id}")).unwrap_or_default();
    // Broken (its re-runs while shrinking count too).
    let cn = entry("field.common_name.at-limit");
    assert!(
        !cn.contains("violated=0 ") && cn.contains("violated="),
        "{cn}"
    );
    for id in [
        "field.subject.at-limit",
        "field.sans.at-limit",
        "field.san.at-limit",
    ] {
        let e = entry(id);
        assert!(
            !e.starts_with("exercised=0") && e.contains("violated=0"),
            "{id}: {e}"
        );
    }
}
