//! No false alarm on a correct server, in every mode a user can pick. Correct implementations,
//! each holding CSRs the harness did not write (the embedded emulator with `preload` in each of
//! its readings of the contract, lenient, default and strict, and the independent Python server
//! with `--preload`), are checked in every mode:
//! both scopes, account only and zone only; a token and email + key; `--read-only`;
//! `--strict`; base URLs with and without `/client/v4`, with and without a trailing slash. Each
//! run must end with 0 failures and 0 errors, and must really have judged something: what a
//! mode cannot judge it reports as a skip, and the checks that matter still ran.
//!
//! The independent server needs `bash .ci/install` (Python's `cryptography`).

#[path = "targets/spawn.rs"]
mod spawn;
mod support;

use support::{ACCOUNT_ID, Creds, Run, ZONE_ID, assert_junit_valid, run_harness_in};

/// CSRs each scope holds before the run: enough for both key types and varied subjects.
const PRELOAD: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scopes {
    Both,
    AccountOnly,
    ZoneOnly,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Credential {
    Token,
    EmailKey,
}

#[derive(Clone, Copy, Debug)]
struct Mode {
    scopes: Scopes,
    credential: Credential,
    read_only: bool,
    strict: bool,
    /// Appended to the server's root URL: "", "/", "/client/v4" or "/client/v4/".
    base_suffix: &'static str,
}

const FULL: Mode = Mode {
    scopes: Scopes::Both,
    credential: Credential::Token,
    read_only: false,
    strict: false,
    base_suffix: "/client/v4",
};

/// Every dimension takes each of its values at least once; every URL form appears, and
/// `--read-only` meets each scope choice and both credentials.
const MATRIX: &[(&str, Mode)] = &[
    ("full", FULL),
    (
        "account_email_key_slash",
        Mode {
            scopes: Scopes::AccountOnly,
            credential: Credential::EmailKey,
            base_suffix: "/client/v4/",
            ..FULL
        },
    ),
    (
        "zone_root",
        Mode {
            scopes: Scopes::ZoneOnly,
            base_suffix: "",
            ..FULL
        },
    ),
    (
        "read_only",
        Mode {
            read_only: true,
            ..FULL
        },
    ),
    (
        "read_only_account_email_key_root_slash",
        Mode {
            scopes: Scopes::AccountOnly,
            credential: Credential::EmailKey,
            read_only: true,
            base_suffix: "/",
            ..FULL
        },
    ),
    (
        "read_only_zone_strict_slash",
        Mode {
            scopes: Scopes::ZoneOnly,
            read_only: true,
            strict: true,
            base_suffix: "/client/v4/",
            ..FULL
        },
    ),
    (
        "strict_email_key_root",
        Mode {
            credential: Credential::EmailKey,
            strict: true,
            base_suffix: "",
            ..FULL
        },
    ),
];

fn mode(name: &str) -> Mode {
    MATRIX
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
        .unwrap_or_else(|| panic!("no mode {name}"))
}

/// A correct server holding [`PRELOAD`] CSRs per scope; `root` has no trailing slash.
enum Target {
    Emulator(Box<csr_emulator::Emulator>),
    Independent(spawn::Spawned),
}

impl Target {
    fn emulator() -> Target {
        Target::emulator_reading(csr_emulator::Reading::Default)
    }

    fn lenient() -> Target {
        Target::emulator_reading(csr_emulator::Reading::Lenient)
    }

    fn strict() -> Target {
        Target::emulator_reading(csr_emulator::Reading::Strict)
    }

    fn emulator_reading(reading: csr_emulator::Reading) -> Target {
        let config = csr_emulator::Config {
            preload: PRELOAD,
            reading,
            ..csr_emulator::Config::default()
        };
        Target::Emulator(Box::new(
            csr_emulator::Emulator::start(config).expect("start the emulator"),
        ))
    }

    fn independent() -> Target {
        let c = Creds::emulator_defaults();
        Target::Independent(spawn::independent_server_with(
            c.token.as_deref().unwrap(),
            c.email.as_deref().unwrap(),
            c.api_key.as_deref().unwrap(),
            &["--preload", &PRELOAD.to_string()],
        ))
    }

    fn root(&self) -> String {
        match self {
            Target::Emulator(e) => e.root_url(),
            Target::Independent(s) => s
                .base_url
                .strip_suffix("/client/v4")
                .unwrap_or(&s.base_url)
                .to_string(),
        }
    }
}

/// Runs the harness in `mode` and asserts what holds in every mode.
fn check(target: Target, mode: Mode) -> Run {
    let all = Creds::emulator_defaults();
    let creds = match mode.credential {
        Credential::Token => Creds {
            token: all.token,
            ..Creds::default()
        },
        Credential::EmailKey => Creds { token: None, ..all },
    };
    let (account, zone) = match mode.scopes {
        Scopes::Both => (Some(ACCOUNT_ID), Some(ZONE_ID)),
        Scopes::AccountOnly => (Some(ACCOUNT_ID), None),
        Scopes::ZoneOnly => (None, Some(ZONE_ID)),
    };
    let mut args = Vec::new();
    if mode.read_only {
        args.push("--read-only");
    }
    if mode.strict {
        args.push("--strict");
    }
    let base = format!("{}{}", target.root(), mode.base_suffix);
    let run = run_harness_in(&base, &creds, account, zone, &args);
    let context = format!("{mode:?} against {base}\n{}", run.summary());
    assert_eq!(run.code, 0, "{context}");
    assert!(run.failed_trials.is_empty(), "{context}");
    assert!(run.errored_trials.is_empty(), "{context}");

    // It judged something in every scope it was given, and nothing of the others.
    for (label, given) in [("account", account.is_some()), ("zone", zone.is_some())] {
        let judged = run
            .trials
            .iter()
            .filter(|t| t.contains(&format!("::{label}::")) && !run.skipped_trials.contains_key(*t))
            .count();
        if given {
            assert!(
                judged >= 10,
                "only {judged} {label} trials judged\n{context}"
            );
        } else {
            assert_eq!(judged, 0, "{label} was not given\n{context}");
        }
    }
    // A skip always says why.
    for (trial, reason) in &run.skipped_trials {
        assert!(
            !reason.trim().is_empty(),
            "{trial} skipped without a reason"
        );
    }
    drop(target);
    run
}

/// Asserts `trial` ran and passed (neither skipped nor missing).
#[track_caller]
fn assert_judged(run: &Run, trial: &str) {
    assert!(
        run.trials.contains(trial) && !run.skipped_trials.contains_key(trial),
        "{trial} was not judged (skipped: {:?})\n{}",
        run.skipped_trials.get(trial),
        run.summary()
    );
}

/// What `--read-only` still judges: the existing CSRs against themselves, and the list.
fn assert_read_only_judged(run: &Run, scope: &str) {
    for trial in [
        format!("behaviour::{scope}::get_returns_the_created_object"),
        format!("behaviour::{scope}::list_pagination"),
        format!("behaviour::{scope}::not_visible_under_another_id"),
        format!("pem::{scope}::behaviour.get_returns_the_created_object"),
        format!("auth::{scope}::wrong_token"),
    ] {
        assert_judged(run, &trial);
    }
    // ... and says why it leaves the rest.
    let writes = format!("validation::{scope}::missing_country");
    let skipped = run.skipped_trials.keys().any(|t| t.starts_with(&writes));
    assert!(skipped, "{writes} should be skipped\n{}", run.summary());
    // Generated reads still run; generated writes are skipped, saying why.
    assert_judged(run, &format!("property::{scope}::list_params"));
    assert_judged(run, &format!("property::{scope}::ids"));
    for writes in ["valid_creates", "sequences", "volume"] {
        let trial = format!("property::{scope}::{writes}");
        assert!(
            run.skipped_trials
                .get(&trial)
                .is_some_and(|r| r.contains("--read-only")),
            "{trial}: {:?}",
            run.skipped_trials.get(&trial)
        );
    }
    let guess = format!("behaviour::{scope}::get_returns_the_default_key_type");
    assert!(
        run.skipped_trials
            .get(&guess)
            .is_some_and(|r| r.contains("--read-only")),
        "{guess}: {:?}",
        run.skipped_trials.get(&guess)
    );
}

fn assert_full_run(run: &Run) {
    for trial in [
        "envelope::account::fixtures.rsa_full",
        "schema::zone::fixtures.p256_full",
        "pem::zone::fixtures.rsa_full",
        "auth::account::no_credentials",
        "behaviour::zone::list_pagination",
        "behaviour::account::account_fields_are_kept",
        "behaviour::account::get_returns_the_default_key_type",
        "validation::zone::missing_country",
        "property::account::valid_creates",
        "property::zone::sequences",
        "property::account::volume",
    ] {
        assert_judged(run, trial);
    }
    assert_junit_valid(run);
}

/// Nothing more to assert than what `check` does for every mode.
fn nothing_more(_: &Run) {}

fn read_only_both(run: &Run) {
    assert_read_only_judged(run, "account");
    assert_read_only_judged(run, "zone");
    assert_judged(run, "behaviour::account::account_fields_are_kept");
}

fn read_only_account(run: &Run) {
    assert_read_only_judged(run, "account");
}

fn read_only_zone(run: &Run) {
    assert_read_only_judged(run, "zone");
}

/// One test per mode of [`MATRIX`] against `$target`, and what each asserts beyond `check`.
macro_rules! matrix {
    ($target:ident) => {
        matrix!(@tests $target;
            full => assert_full_run,
            account_email_key_slash => nothing_more,
            zone_root => nothing_more,
            read_only => read_only_both,
            read_only_account_email_key_root_slash => read_only_account,
            read_only_zone_strict_slash => read_only_zone,
            strict_email_key_root => nothing_more,
        );
    };
    (@tests $target:ident; $($mode:ident => $extra:expr),* $(,)?) => {$(
        #[test]
        fn $mode() {
            let run = check(Target::$target(), mode(stringify!($mode)));
            $extra(&run);
        }
    )*};
}

mod emulator {
    use super::*;
    matrix!(emulator);
}

mod independent {
    use super::*;
    matrix!(independent);
}

/// The emulator accepting everything the documentation does not forbid.
mod lenient {
    use super::*;
    matrix!(lenient);
}

/// The emulator refusing everything the documentation does not allow.
mod strict {
    use super::*;
    matrix!(strict);
}

#[test]
fn every_mode_of_the_matrix_has_a_test() {
    let source = include_str!("modes.rs");
    for (name, _) in MATRIX {
        assert!(source.contains(&format!("{name} =>")), "no test for {name}");
    }
}
