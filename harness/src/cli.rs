//! The `csr-conformance` command line as a whole: a subcommand is its first word (`record`,
//! `import-har`, `merge`, `completions`, `help`); anything else is a run, whose first word may
//! be a libtest FILTER (trial names look like `family::scope::case`, so none is a
//! subcommand's name). The run's own flags are [`runner::Cli`]'s; this module adds the
//! help that lists the subcommands, `--version`, and shell completions.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Arg, Command, CommandFactory, FromArgMatches, value_parser};
use clap_complete::Shell;

use crate::record::command as record;
use crate::report::merge;
use crate::runner::{self, Cli, Mode};

/// The binary's name, as help and completions spell it.
pub const BIN: &str = "csr-conformance";

/// clap's own help layout (see [`runner::HELP_TEMPLATE`], beside the run's flags, so that
/// subcommands below the command line can use it too).
pub use crate::runner::HELP_TEMPLATE;

/// The one sentence `--help` opens with.
const ABOUT: &str =
    "csr-conformance checks a server against the contract of Cloudflare's Custom CSR API.";

const LONG_ABOUT: &str = "\
csr-conformance checks a server against the contract of Cloudflare's Custom CSR API.

With no --target it starts the embedded reference emulator. Credentials come only from the
environment: CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY. Every run
writes a JUnit report (reports/junit.xml unless --junit or --no-junit), and its last line is
`csr-conformance: N requests (G generated) in T s, seed S`.";

const AFTER_HELP: &str = "\
Examples:
  csr-conformance                  every trial, against the embedded reference emulator
  csr-conformance --target https://api.cloudflare.com/client/v4 --zone-id ID
                                   the real API, with CLOUDFLARE_API_TOKEN from the environment
  csr-conformance pem::            only the trials whose name contains `pem::`

Exit status: 0 every trial judged passed, 1 something failed or errored, 2 usage,
4 no trial judged (see --no-tests), 130 interrupted.";

/// The whole command line: a run's flags and the subcommands. Runs are parsed with it (so
/// `--help`, `--version` and `help` are its), and completions are generated from it.
pub fn command() -> Command {
    Cli::command()
        .name(BIN)
        .bin_name(BIN)
        .about(ABOUT)
        .long_about(LONG_ABOUT)
        .version(env!("CARGO_PKG_VERSION"))
        .disable_version_flag(false)
        .help_template(HELP_TEMPLATE)
        .override_usage(format!(
            "{BIN} [OPTIONS] [FILTER]\n       {BIN} <COMMAND> [ARGS]"
        ))
        .after_help(AFTER_HELP)
        // A word after a run's flags is a FILTER, as it always was, even if it is `help`.
        .args_conflicts_with_subcommands(true)
        .subcommand(record::command())
        .subcommand(record::import_har_command())
        .subcommand(merge::command())
        .subcommand(
            Command::new("completions")
                .about("Prints a shell completion script: bash, zsh or fish")
                .long_about(
                    "Prints a shell completion script: bash, zsh or fish (elvish and powershell \
                     too).\n\nbash: source <(csr-conformance completions bash)\n\
                     zsh:  csr-conformance completions zsh > ~/.zfunc/_csr-conformance\n\
                     fish: csr-conformance completions fish > \
                     ~/.config/fish/completions/csr-conformance.fish",
                )
                .arg(
                    Arg::new("shell")
                        .value_name("SHELL")
                        .required(true)
                        .value_parser(value_parser!(Shell)),
                ),
        )
}

/// The binary's `main`: the process's exit code.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let rest = args.get(2..).unwrap_or_default();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("merge") => {
            return merge::main(
                std::iter::once(format!("{BIN} merge").into()).chain(rest.to_vec()),
            );
        }
        Some("record") => return record::record(rest),
        Some("import-har") => return record::import_har(rest),
        _ => {}
    }
    let matches = match command().try_get_matches_from(&args) {
        Ok(m) => m,
        // Help, `help SUBCOMMAND` and --version print and exit 0; usage errors exit 2.
        Err(e) => e.exit(),
    };
    match matches.subcommand() {
        None => match Cli::from_arg_matches(&matches) {
            Ok(cli) => runner::run(cli, Mode::Binary, None),
            Err(e) => e.exit(),
        },
        Some(("completions", m)) => {
            let shell = *m.get_one::<Shell>("shell").expect("SHELL is required");
            print!("{}", completions(shell));
            ExitCode::SUCCESS
        }
        // The others are taken by their first word above; a subcommand never follows flags.
        Some((other, _)) => {
            eprintln!("{BIN}: {other} must be the first word");
            ExitCode::from(2)
        }
    }
}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), BIN, &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        // clap_complete (4.6.12) spells the state of a subcommand of a binary whose name has a
        // hyphen two ways in bash (`csr__conformance__subcmd__merge` where it is set,
        // `csr__subcmd__conformance__subcmd__merge` where it is matched), so no subcommand's
        // options would complete (clap-rs/clap#6421). Once fixed there, this changes nothing.
        Shell::Bash => script.replace("csr__subcmd__conformance", "csr__conformance"),
        _ => script,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn a_word_after_flags_is_still_a_filter() {
        let m = command()
            .try_get_matches_from([BIN, "--read-only", "help"])
            .unwrap();
        assert!(m.subcommand().is_none());
        let cli = Cli::from_arg_matches(&m).unwrap();
        assert_eq!(cli.libtest.filter.as_deref(), Some("help"));
        assert!(cli.read_only);
    }

    #[test]
    fn runs_parse_as_before() {
        let args = [BIN, "--exact", "pem::zone::x", "--no-tests=warn", "-q"];
        let m = command().try_get_matches_from(args).unwrap();
        let cli = Cli::from_arg_matches(&m).unwrap();
        let plain = Cli::try_parse_from(args).unwrap();
        assert_eq!(format!("{cli:?}"), format!("{plain:?}"));
        assert_eq!(cli.no_tests, Some(runner::NoTests::Warn));
    }
}
