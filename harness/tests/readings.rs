//! A red run means the server is wrong: the contract's two extremes, the emulator's lenient and
//! strict readings (`emulator/src/reading.rs`), pass the generated properties that touch what
//! the documentation leaves open. Each test pins a false alarm a correct server once met:
//!
//! - an id `.` goes out as `GET …/custom_csrs/` (the URL library resolves the dot segment), which
//!   a lenient server answers with the list: the list was judged as a single object;
//! - a SAN whose inner label ends with `-` (`a-.shop.net`) was called invalid, though the
//!   documentation's "leading or trailing '-'" may mean the SAN's own first and last character.
//!
//! Many cases, so that the shapes that once failed come up under every seed tried.

mod support;

use csr_emulator::{Config, Emulator, Reading};
use support::{Creds, Run, run_harness};

fn emulator(reading: Reading) -> Emulator {
    Emulator::start(Config {
        reading,
        preload: 3,
        reuse_keys: 4,
        ..Config::default()
    })
    .expect("start the emulator")
}

fn run(emu: &Emulator, seed: &str, cases: &str, selection: &[&str]) -> Run {
    let mut args = vec!["--seed", seed, "--cases", cases];
    args.extend_from_slice(selection);
    run_harness(&emu.base_url(), &Creds::of_emulator(emu.config()), &args)
}

#[track_caller]
fn assert_passes(run: &Run, trials: &[&str]) {
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(run.failed_trials.is_empty() && run.errored_trials.is_empty());
    for t in trials {
        assert!(
            run.trials.contains(*t) && !run.skipped_trials.contains_key(*t),
            "{t} was not judged\n{}",
            run.summary()
        );
    }
}

#[test]
fn a_server_answering_the_trailing_slash_collection_with_the_list_passes_ids() {
    let emu = emulator(Reading::Lenient);
    for seed in ["20261129", "1", "2"] {
        let run = run(&emu, seed, "300", &["::ids"]);
        assert_passes(&run, &["property::account::ids", "property::zone::ids"]);
    }
}

#[test]
fn a_server_accepting_inner_label_hyphens_passes_invalid_creates() {
    let emu = emulator(Reading::Lenient);
    for seed in ["20261129", "3"] {
        let run = run(
            &emu,
            seed,
            "200",
            &["_creates", "--skip", "::valid_creates"],
        );
        assert_passes(
            &run,
            &[
                "property::account::invalid_creates",
                "property::zone::invalid_creates",
                "property::zone::unspecified_creates",
            ],
        );
    }
}

#[test]
fn a_server_refusing_all_it_may_refuse_passes_every_generated_property() {
    let emu = emulator(Reading::Strict);
    for seed in ["20261129", "4"] {
        let run = run(&emu, seed, "64", &["property::"]);
        assert_passes(
            &run,
            &[
                "property::account::valid_creates",
                "property::zone::unspecified_creates",
                "property::account::list_params",
                "property::zone::ids",
            ],
        );
    }
}
