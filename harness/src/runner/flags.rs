//! The run's flags and settings: what the command line and the environment ask for, turned
//! into the session's [`Settings`]. Pure: never sends a request, never prints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

use crate::limits;
use crate::model::{Credentials, Scope};
use crate::session::{EMBEDDED_ACCOUNT, EMBEDDED_ZONE, Settings, TargetSpec};

/// clap's own help layout. [`Cli`] flattens libtest-mimic's arguments, which bring a layout of
/// their own (`USAGE: [OPTIONS] [FILTER]`, no name): the binary and its subcommands put this
/// one back.
pub const HELP_TEMPLATE: &str =
    "{before-help}{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}{after-help}";

/// csr-conformance: checks a server against the Custom CSR API contract.
///
/// With no target it starts the embedded reference emulator. Credentials come only from the
/// environment: CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY.
#[derive(Parser, Debug)]
#[command(name = "csr-conformance", version)]
pub struct Cli {
    /// Base URL of the API to check, e.g. https://api.cloudflare.com/client/v4
    /// [env: CLOUDFLARE_BASE_URL]
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Account id to run the account-scope checks under [env: CLOUDFLARE_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// Zone id to run the zone-scope checks under [env: CLOUDFLARE_ZONE_ID]
    #[arg(long, value_name = "ID")]
    pub zone_id: Option<String>,
    /// Only list and get what exists: for tokens without write permission
    #[arg(long)]
    pub read_only: bool,
    /// Also require the documented Cloudflare error codes, not just the status class
    #[arg(long)]
    pub strict: bool,
    /// Where to write the JUnit report [default: reports/junit.xml]
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write no JUnit report
    #[arg(long, conflicts_with = "junit")]
    pub no_junit: bool,
    /// Where to write the HTML page [default: index.html beside the JUnit report]
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Write no HTML page
    #[arg(long, conflicts_with = "html")]
    pub no_html: bool,
    /// Also write every exchange of the run as a HAR 1.2 file (redacted as recordings are),
    /// for browser devtools, Charles, Insomnia, mitmproxy, and `import-har`
    #[arg(long, value_name = "PATH")]
    pub har: Option<PathBuf>,
    /// Directory of case files [default: ./cases, else the project's]
    #[arg(long = "cases-dir", value_name = "DIR")]
    pub cases_dir: Option<PathBuf>,
    /// Directory of JSON Schemas [default: ./schemas, else the project's]
    #[arg(long, visible_alias = "schemas-dir", value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Seconds to wait for any one answer
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// The run's seed: generated inputs depend on nothing else [env: CSR_CONFORMANCE_SEED;
    /// default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Generated cases per property, instead of what cases/properties.toml says
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: Option<u32>,
    /// Plan the run within N requests: the deterministic coverage of the documented rules
    /// first (in one scope), then generated cases with what is left; hand-written cases that
    /// do not fit are skipped
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub budget: Option<u64>,
    /// When no trial was judged (none matched the filter or --partition, or all were
    /// skipped): fail says why and exits 4, warn says why and exits 0, pass exits 0
    /// [default: fail; pass for the cargo test target]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub no_tests: Option<NoTests>,

    #[command(flatten)]
    pub run: limits::RunArgs,

    #[command(flatten)]
    pub libtest: libtest_mimic::Arguments,
}

/// What a run that judged no trial means (`--no-tests`), as in cargo-nextest: nothing matched
/// is not a pass unless asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NoTests {
    /// Exit 0, saying nothing.
    Pass,
    /// Say why, and exit 0.
    Warn,
    /// Say why, and exit 4.
    Fail,
}

impl NoTests {
    /// Without `--no-tests`: `fail` for the binary, `pass` for the cargo test target.
    pub fn default_for(mode: Mode) -> NoTests {
        match mode {
            Mode::Binary => NoTests::Fail,
            Mode::TestTarget => NoTests::Pass,
        }
    }
}

/// The exit code of a run that judged no trial under `--no-tests=fail`.
pub const EXIT_NOTHING_JUDGED: u8 = 4;

/// Who is running: the `csr-conformance` binary reads the CLOUDFLARE_* environment; the
/// `cargo test` target checks the embedded emulator unless `--target` is given, so a developer's
/// environment never turns a test run into a run against the real API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Binary,
    TestTarget,
}

/// A usage problem: exit code 2, no trials run.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Settings from the command line and the environment.
pub fn settings(cli: &Cli, mode: Mode, env: Env) -> Result<Settings, UsageError> {
    let use_env = mode == Mode::Binary || cli.target.is_some();
    let var = |k: &str| {
        if use_env {
            env(k).filter(|v| !v.trim().is_empty())
        } else {
            None
        }
    };
    let target_url = cli.target.clone().or_else(|| var("CLOUDFLARE_BASE_URL"));
    let account = cli
        .account_id
        .clone()
        .or_else(|| var("CLOUDFLARE_ACCOUNT_ID"));
    let zone = cli.zone_id.clone().or_else(|| var("CLOUDFLARE_ZONE_ID"));
    for id in account.iter().chain(zone.iter()) {
        if id.is_empty() || id.len() > 32 || id.contains(['/', '?', '#', ' ']) {
            return Err(UsageError(format!(
                "{id:?} is not an account or zone id (1 to 32 characters, no '/', '?', '#' or spaces)"
            )));
        }
    }
    let mut scopes: Vec<Scope> = account
        .map(Scope::Account)
        .into_iter()
        .chain(zone.map(Scope::Zone))
        .collect();
    let target = match target_url {
        None => {
            if scopes.is_empty() {
                scopes = vec![
                    Scope::Account(EMBEDDED_ACCOUNT.into()),
                    Scope::Zone(EMBEDDED_ZONE.into()),
                ];
            }
            TargetSpec::Embedded
        }
        Some(url) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(UsageError(format!(
                    "--target {url:?} must be an http:// or https:// base URL"
                )));
            }
            let credentials = Credentials {
                token: env("CLOUDFLARE_API_TOKEN").filter(|v| !v.is_empty()),
                email: env("CLOUDFLARE_EMAIL").filter(|v| !v.is_empty()),
                api_key: env("CLOUDFLARE_API_KEY").filter(|v| !v.is_empty()),
            };
            if credentials.email.is_some() != credentials.api_key.is_some() {
                return Err(UsageError(
                    "CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY go together: set both, or use CLOUDFLARE_API_TOKEN".into(),
                ));
            }
            if credentials.is_empty() {
                return Err(UsageError(format!(
                    "no credentials for {url}: set CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY"
                )));
            }
            if scopes.is_empty() {
                return Err(UsageError(
                    "no scope to check: give --account-id/CLOUDFLARE_ACCOUNT_ID and/or --zone-id/CLOUDFLARE_ZONE_ID".into(),
                ));
            }
            TargetSpec::Remote {
                base_url: url.trim_end_matches('/').to_string(),
                credentials,
            }
        }
    };
    let seed = match (
        cli.seed,
        env("CSR_CONFORMANCE_SEED").filter(|v| !v.trim().is_empty()),
    ) {
        (Some(s), _) => s,
        (None, Some(v)) => v.trim().parse().map_err(|_| {
            UsageError(format!(
                "CSR_CONFORMANCE_SEED={v:?} is not a whole number from 0 to {}",
                u64::MAX
            ))
        })?,
        (None, None) => random_seed(),
    };
    Ok(Settings {
        target,
        scopes,
        read_only: cli.read_only,
        strict: cli.strict,
        timeout: Duration::from_secs(cli.timeout.max(1)),
        seed,
        cases: cli.cases,
    })
}

/// A fresh seed (from the operating system's randomness, via a v4 UUID).
fn random_seed() -> u64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default())
}

/// The directory holding `cases/`, `schemas/` and `reports/`: the working directory when it
/// has them, else this project's checkout.
pub fn project_root() -> PathBuf {
    if Path::new("cases").is_dir() && Path::new("schemas").is_dir() {
        PathBuf::from(".")
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("csr-conformance").chain(args.iter().copied())).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn no_target_means_the_embedded_emulator_in_both_scopes() {
        let s = settings(&cli(&[]), Mode::Binary, &env(&[])).unwrap();
        assert!(matches!(s.target, TargetSpec::Embedded));
        assert_eq!(s.scopes.len(), 2);
    }

    #[test]
    fn remote_targets_need_credentials_and_a_scope() {
        let e = settings(
            &cli(&["--target", "http://127.0.0.1:1"]),
            Mode::Binary,
            &env(&[]),
        )
        .unwrap_err();
        assert!(e.0.contains("no credentials"), "{e:?}");
        let e = settings(
            &cli(&["--target", "http://127.0.0.1:1"]),
            Mode::Binary,
            &env(&[("CLOUDFLARE_API_TOKEN", "t0k3n-value")]),
        )
        .unwrap_err();
        assert!(e.0.contains("no scope"), "{e:?}");
        let e = settings(
            &cli(&["--target", "http://127.0.0.1:1", "--zone-id", "z"]),
            Mode::Binary,
            &env(&[("CLOUDFLARE_EMAIL", "a@b.c")]),
        )
        .unwrap_err();
        assert!(e.0.contains("go together"), "{e:?}");
        let e = settings(&cli(&["--target", "ftp://x"]), Mode::Binary, &env(&[])).unwrap_err();
        assert!(e.0.contains("http"), "{e:?}");
    }

    #[test]
    fn the_environment_configures_the_binary_but_not_the_test_target() {
        let vars = env(&[
            ("CLOUDFLARE_BASE_URL", "https://api.example.test/client/v4/"),
            ("CLOUDFLARE_API_TOKEN", "t0k3n-value"),
            ("CLOUDFLARE_ZONE_ID", "023e105f4ecef8ad9ca31a8372d0c353"),
        ]);
        let s = settings(&cli(&[]), Mode::Binary, &vars).unwrap();
        let TargetSpec::Remote {
            base_url,
            credentials,
        } = s.target
        else {
            panic!("remote expected")
        };
        assert_eq!(base_url, "https://api.example.test/client/v4");
        assert_eq!(credentials.token.as_deref(), Some("t0k3n-value"));
        assert_eq!(
            s.scopes,
            vec![Scope::Zone("023e105f4ecef8ad9ca31a8372d0c353".into())]
        );
        let s = settings(&cli(&[]), Mode::TestTarget, &vars).unwrap();
        assert!(matches!(s.target, TargetSpec::Embedded));
    }

    #[test]
    fn one_seed_per_run_from_the_flag_the_environment_or_chance() {
        let vars = env(&[("CSR_CONFORMANCE_SEED", "77")]);
        let s = |args: &[&str], vars: &dyn Fn(&str) -> Option<String>| {
            settings(&cli(args), Mode::TestTarget, vars)
        };
        assert_eq!(s(&["--seed", "5"], &vars).unwrap().seed, 5);
        assert_eq!(s(&[], &vars).unwrap().seed, 77);
        let bad = env(&[("CSR_CONFORMANCE_SEED", "soon")]);
        assert!(s(&[], &bad).unwrap_err().0.contains("CSR_CONFORMANCE_SEED"));
        let a = s(&[], &env(&[])).unwrap().seed;
        let b = s(&[], &env(&[])).unwrap().seed;
        assert_ne!(a, b, "random when not given");
        assert_eq!(s(&["--cases", "9"], &env(&[])).unwrap().cases, Some(9));
        assert!(Cli::try_parse_from(["csr-conformance", "--cases", "0"]).is_err());
    }

    #[test]
    fn libtest_flags_sit_beside_ours() {
        let c = cli(&[
            "--read-only",
            "--exact",
            "pem::zone::x",
            "--test-threads",
            "1",
            "--list",
        ]);
        assert!(c.read_only && c.libtest.exact && c.libtest.list);
        assert_eq!(c.libtest.filter.as_deref(), Some("pem::zone::x"));
        assert_eq!(c.libtest.test_threads, Some(1));
    }

    #[test]
    fn nothing_matched_fails_the_binary_but_not_cargo_test() {
        assert_eq!(NoTests::default_for(Mode::Binary), NoTests::Fail);
        assert_eq!(NoTests::default_for(Mode::TestTarget), NoTests::Pass);
        assert_eq!(cli(&["--no-tests=warn"]).no_tests, Some(NoTests::Warn));
        assert!(Cli::try_parse_from(["csr-conformance", "--no-tests=maybe"]).is_err());
    }
}
