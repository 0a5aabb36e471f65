//! The command line, from the real binary: a run that judges no trial is not a pass (exit 4,
//! saying why, and a report that says so), `--no-tests`, the warning of a run that skipped
//! most of its trials, `--version`, help that lists the subcommands, `help SUBCOMMAND`, and
//! shell completions a shell can load. A normal run keeps its exit code and its last line.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{Creds, assert_report_valid, harness_command};

const SUBCOMMANDS: [&str; 5] = ["record", "import-har", "merge", "completions", "help"];

/// What one run of the binary printed and wrote.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    /// The JUnit report (empty when none was written).
    junit: String,
}

impl Ran {
    fn context(&self) -> String {
        format!(
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// The run's summary line (`N requests (G generated) in T s, seed S`), which the line
    /// on documented rules follows.
    fn summary_stdout_line(&self) -> &str {
        let lines: Vec<&str> = self.stdout.lines().collect();
        let at = lines
            .iter()
            .rposition(|l| l.contains(" requests (") && l.contains(", seed "))
            .unwrap_or(lines.len().saturating_sub(1));
        if let Some(next) = lines.get(at + 1) {
            assert!(
                next.ends_with(" documented rules verified"),
                "the rules line follows the summary: {next:?}"
            );
        }
        lines.get(at).copied().unwrap_or_default()
    }

    /// Whether stderr has exactly this line.
    fn says(&self, line: &str) -> bool {
        self.stderr.lines().any(|l| l == line)
    }

    fn property(&self, name: &str) -> Option<String> {
        let key = format!("<property name=\"{}\" value=\"", escape(name));
        let start = self.junit.find(&key)? + key.len();
        let len = self.junit[start..].find('"')?;
        Some(self.junit[start..start + len].replace("&quot;", "\""))
    }

    #[track_caller]
    fn assert_valid_report(&self) {
        assert!(!self.junit.is_empty(), "no report\n{}", self.context());
        assert_report_valid(&self.junit);
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .expect("start csr-conformance")
}

/// Runs the binary with `args` (against the embedded emulator unless they say otherwise),
/// its report going to a fresh file.
fn run(args: &[&str]) -> Ran {
    let dir = scratch();
    let junit = dir.join("junit.xml");
    let out = output(
        harness_command(&Creds::default())
            .args(args)
            .arg("--junit")
            .arg(&junit),
    );
    let ran = Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        junit: std::fs::read_to_string(&junit).unwrap_or_default(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    ran
}

/// Runs the binary with exactly `args`: help, version, completions.
fn plain(args: &[&str]) -> Ran {
    let out = output(harness_command(&Creds::default()).args(args));
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        junit: String::new(),
    }
}

/// The run's last line, as CI reads it: `csr-conformance: N requests (G generated) in T s,
/// seed S`.
#[track_caller]
fn assert_summary_last(ran: &Ran) {
    let last = ran.summary_stdout_line();
    let shape = last
        .strip_prefix("csr-conformance: ")
        .and_then(|l| l.split_once(" requests ("))
        .and_then(|(n, rest)| {
            let (g, rest) = rest.split_once(" generated) in ")?;
            let (t, seed) = rest.split_once(" s, seed ")?;
            Some(
                n.parse::<u64>().is_ok()
                    && g.parse::<u64>().is_ok()
                    && t.parse::<f64>().is_ok()
                    && seed.parse::<u64>().is_ok(),
            )
        });
    assert_eq!(shape, Some(true), "last line {last:?}\n{}", ran.context());
}

// Nothing judged is not a pass.

#[test]
fn a_filter_that_matches_nothing_exits_4_saying_so_and_the_report_records_it() {
    let ran = run(&["nosuchtrial"]);
    assert_eq!(ran.code, 4, "{}", ran.context());
    let why = r#"no trial matched the filter "nosuchtrial""#;
    assert!(
        ran.says(&format!("csr-conformance: {why}")),
        "{}",
        ran.context()
    );
    assert_summary_last(&ran);
    // The report is not an empty one: it records the run, and why nothing in it was judged.
    ran.assert_valid_report();
    assert_eq!(
        ran.property("no_tests").as_deref(),
        Some(why),
        "{}",
        ran.junit
    );
    assert!(ran.property("seed").is_some(), "{}", ran.junit);
    assert!(ran.junit.contains("<testsuite "), "{}", ran.junit);
}

#[test]
fn no_tests_warn_says_why_and_exits_0_and_pass_exits_0_quietly() {
    let ran = run(&["nosuchtrial", "--no-tests=warn"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert!(
        ran.says(r#"csr-conformance: no trial matched the filter "nosuchtrial""#),
        "{}",
        ran.context()
    );
    assert_summary_last(&ran);

    let ran = run(&["nosuchtrial", "--no-tests", "pass"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert!(
        !ran.stderr.contains("no trial matched"),
        "{}",
        ran.context()
    );
    // The report still says it.
    assert!(ran.property("no_tests").is_some(), "{}", ran.junit);

    let ran = run(&["nosuchtrial", "--no-tests=fail"]);
    assert_eq!(ran.code, 4, "{}", ran.context());
}

#[test]
fn a_partition_that_selects_nothing_exits_4_saying_so() {
    // One case in one scope is one unit: shard 1 of 2 has it, shard 2 nothing.
    let trial = "auth::zone::no_credentials";
    let listed = plain(&["--list", "--exact", trial]);
    assert!(listed.stdout.contains(trial), "{}", listed.context());
    let ran = run(&["--exact", trial, "--partition", "count:2/2"]);
    assert_eq!(ran.code, 4, "{}", ran.context());
    assert!(
        ran.says(&format!(
            "csr-conformance: --partition count:2/2 selected none of the 1 trial(s) that matched \
             the filter \"{trial}\" --exact"
        )),
        "{}",
        ran.context()
    );
    ran.assert_valid_report();
}

#[test]
fn a_run_whose_every_trial_was_skipped_exits_4_naming_the_reason() {
    // Under --read-only, every validation case sends a POST.
    let ran = run(&["--read-only", "validation::"]);
    assert_eq!(ran.code, 4, "{}", ran.context());
    let reason = "sends POST, which writes: skipped with --read-only";
    assert!(
        ran.says(&format!(
            "csr-conformance: every trial was skipped: {reason}"
        )),
        "{}",
        ran.context()
    );
    assert_summary_last(&ran);
    ran.assert_valid_report();
    let skipped: usize = ran
        .property(&format!("skipped: {reason}"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(skipped > 0, "{}", ran.junit);
    assert_eq!(
        ran.junit.matches("<skipped").count(),
        skipped,
        "{}",
        ran.junit
    );
}

#[test]
fn listing_nothing_is_not_a_failure() {
    // --list judges nothing by design.
    let ran = plain(&["--list", "nosuchtrial"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert!(
        !ran.stderr.contains("no trial matched"),
        "{}",
        ran.context()
    );
}

#[test]
fn a_run_that_skips_most_warns_before_its_last_line_and_reports_the_counts() {
    let ran = run(&["--read-only", "--seed", "1"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    let warning = ran
        .stderr
        .lines()
        .find(|l| l.contains(" trials skipped: "))
        .unwrap_or_else(|| panic!("no warning\n{}", ran.context()));
    // `csr-conformance: K of N trials skipped: n1 "reason", n2 "reason"...`
    let (counts, reasons) = warning
        .strip_prefix("csr-conformance: ")
        .and_then(|w| w.split_once(" trials skipped: "))
        .unwrap_or_else(|| panic!("{warning}"));
    let (k, n) = counts.split_once(" of ").unwrap();
    let (k, n): (usize, usize) = (k.parse().unwrap(), n.parse().unwrap());
    assert!(k * 2 > n && k < n, "{warning}");
    let post = "sends POST, which writes: skipped with --read-only";
    assert!(reasons.contains(&format!("\"{post}\"")), "{warning}");
    // The same counts are in the report, one property per reason.
    let in_report = ran.property(&format!("skipped: {post}")).unwrap();
    assert!(
        reasons.contains(&format!("{in_report} \"{post}\"")),
        "{warning}\n{in_report}"
    );
    assert_eq!(ran.junit.matches("<skipped").count(), k);
    ran.assert_valid_report();
    assert_summary_last(&ran);
    assert!(ran.property("no_tests").is_none());
}

#[test]
fn a_normal_run_is_unchanged() {
    let ran = run(&["--seed", "1"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert_summary_last(&ran);
    assert!(
        !ran.stderr.contains(" trials skipped: "),
        "{}",
        ran.context()
    );
    assert!(ran.property("no_tests").is_none(), "{}", ran.junit);
    ran.assert_valid_report();
}

// The command line of a well-kept CLI.

#[test]
fn version_names_the_binary_and_its_version() {
    let expected = format!("csr-conformance {}", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let ran = plain(&[flag]);
        assert_eq!(ran.code, 0, "{flag}: {}", ran.context());
        assert_eq!(ran.stdout.trim(), expected, "{flag}");
    }
}

#[test]
fn help_opens_with_what_it_does_and_lists_the_subcommands_and_common_runs() {
    for args in [&["--help"][..], &["-h"], &["help"], &["--strict", "--help"]] {
        let ran = plain(args);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.context());
        // Help instead of a run: no seed, no trial.
        assert!(ran.stderr.is_empty(), "{args:?}: {}", ran.context());
        let first = ran.stdout.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("csr-conformance checks a server against")
                && first.ends_with('.')
                && first.matches(". ").count() == 0,
            "{args:?}: one sentence, naming the binary: {first:?}"
        );
        let commands: Vec<&str> = ran
            .stdout
            .lines()
            .skip_while(|l| *l != "Commands:")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        let names: Vec<&str> = commands
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(names, SUBCOMMANDS, "{args:?}:\n{}", ran.stdout);
        assert!(
            commands.iter().all(|l| l.split_whitespace().count() > 2),
            "each with one line saying what it does:\n{}",
            ran.stdout
        );
        let examples: Vec<&str> = ran
            .stdout
            .lines()
            .skip_while(|l| *l != "Examples:")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter(|l| l.trim_start().starts_with("csr-conformance"))
            .collect();
        assert_eq!(examples.len(), 3, "{args:?}:\n{}", ran.stdout);
        assert!(
            examples.iter().any(|e| e.contains("embedded")),
            "{examples:?}"
        );
        assert!(
            examples.iter().any(|e| e.contains("--target")),
            "{examples:?}"
        );
        assert!(examples.iter().any(|e| e.contains("pem::")), "{examples:?}");
        // The flags of a run, ours and libtest's, are there.
        for flag in ["--no-tests", "--partition", "--exact", "--skip", "--list"] {
            assert!(ran.stdout.contains(flag), "{flag} in {args:?}");
        }
    }
}

#[test]
fn every_subcommand_has_help_whose_usage_starts_with_its_name() {
    for sub in SUBCOMMANDS {
        let mut shown = vec![("help SUB", plain(&["help", sub]))];
        // (clap's `help` takes subcommand names only: `help --help` is a usage error.)
        if sub != "help" {
            shown.push(("SUB --help", plain(&[sub, "--help"])));
        }
        for (how, ran) in &shown {
            assert_eq!(ran.code, 0, "{how} for {sub}: {}", ran.context());
            let usage = ran
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("Usage: "))
                .unwrap_or_default();
            assert!(
                usage.starts_with(&format!("csr-conformance {sub}")),
                "{how} for {sub}: {usage:?}\n{}",
                ran.stdout
            );
        }
    }
    // record takes a run's flags and its own --out.
    let ran = plain(&["record", "--help"]);
    assert!(ran.stdout.contains("--out <DIR>"), "{}", ran.stdout);
    assert!(ran.stdout.contains("--target <URL>"), "{}", ran.stdout);
    let ran = plain(&["help", "merge"]);
    assert!(
        ran.stdout.starts_with("Merges the JUnit reports"),
        "{}",
        ran.stdout
    );
    // An unknown subcommand after `help` is a usage error.
    assert_eq!(plain(&["help", "nosuch"]).code, 2);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(plain(&["--no-such-flag"]).code, 2);
    assert_eq!(plain(&["--no-tests=maybe"]).code, 2);
    assert_eq!(plain(&["completions"]).code, 2);
    assert_eq!(plain(&["completions", "cmd.exe"]).code, 2);
}

#[test]
fn libtest_flags_keep_working_and_a_word_after_flags_is_a_filter() {
    let ran = plain(&["--list", "--exact", "auth::zone::no_credentials"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert_eq!(
        ran.stdout.lines().filter(|l| l.ends_with(": test")).count(),
        1,
        "{}",
        ran.stdout
    );
    // `help` after a flag is a filter, not the subcommand: it lists nothing.
    let ran = plain(&["--list", "help"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert!(!ran.stdout.contains("Commands:"), "{}", ran.stdout);
    let ran = plain(&["--list", "--skip", "property::", "-q", "auth::zone::"]);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert!(
        ran.stdout.contains("auth::zone::no_credentials"),
        "{}",
        ran.stdout
    );
}

// Shell completions.

#[test]
fn bash_sources_the_completions() {
    let bin = env!("CARGO_BIN_EXE_csr-conformance");
    let script = format!("source <('{bin}' completions bash) && complete -p csr-conformance");
    let out = output(Command::new("bash").args(["--norc", "-c", &script]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("complete ") && stdout.trim_end().ends_with(" csr-conformance"),
        "{stdout}"
    );
}

/// What bash offers after `words` (the last being the word completed).
fn bash_offers(words: &[&str]) -> Vec<String> {
    let bin = env!("CARGO_BIN_EXE_csr-conformance");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <('{bin}' completions bash) || exit 1\n\
         COMP_WORDS=(csr-conformance {words})\n\
         COMP_CWORD={cword}\n\
         \"$(complete -p csr-conformance | sed 's/.* -F \\([^ ]*\\) .*/\\1/')\" \
         csr-conformance \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = quoted.join(" "),
        cword = words.len(),
    );
    let out = output(Command::new("bash").args(["--norc", "-c", &script]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_subcommands_their_flags_and_values() {
    let offers = |words: &[&str]| bash_offers(words);
    assert_eq!(offers(&["mer"]), ["merge"]);
    assert_eq!(offers(&["--no-te"]), ["--no-tests"]);
    assert_eq!(offers(&["--no-tests", ""]), ["pass", "warn", "fail"]);
    assert!(offers(&["merge", "--"]).contains(&"--output".to_string()));
    assert!(offers(&["record", "--o"]).contains(&"--out".to_string()));
    assert!(offers(&["record", "--part"]).contains(&"--partition".to_string()));
    let shells = offers(&["completions", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.contains(&shell.to_string()), "{shells:?}");
    }
}

#[test]
fn completions_cover_the_subcommands_and_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let ran = plain(&["completions", shell]);
        assert_eq!(ran.code, 0, "{shell}: {}", ran.context());
        for word in SUBCOMMANDS.iter().chain(&[
            "no-tests",
            "partition",
            "read-only",
            "exact",
            "out",
            "output",
        ]) {
            assert!(ran.stdout.contains(word), "{shell} completions lack {word}");
        }
        // Where the shell is installed, it must accept the script.
        let check = match shell {
            "zsh" => Some(("zsh", "-n")),
            "fish" => Some(("fish", "--no-execute")),
            _ => None,
        };
        if let Some((program, flag)) = check {
            let dir = scratch();
            let file = dir.join("completions");
            std::fs::write(&file, &ran.stdout).unwrap();
            if let Ok(out) = Command::new(program).arg(flag).arg(&file).output() {
                assert!(
                    out.status.success(),
                    "{program}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

// A report of nothing merges into a report of nothing that says so.

#[test]
fn merging_reports_of_nothing_says_so() {
    let ran = run(&["nosuchtrial"]);
    let dir = scratch();
    let (input, merged) = (dir.join("shard.xml"), dir.join("merged.xml"));
    std::fs::write(&input, &ran.junit).unwrap();
    let out = output(
        Command::new(env!("CARGO_BIN_EXE_csr-conformance"))
            .arg("merge")
            .arg("-o")
            .arg(&merged)
            .arg(&input),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = Ran {
        code: 0,
        stdout: String::new(),
        stderr: String::new(),
        junit: std::fs::read_to_string(&merged).unwrap(),
    };
    merged.assert_valid_report();
    assert_eq!(
        merged.property("no_tests").as_deref(),
        Some("none of the 1 report(s) holds a testcase"),
        "{}",
        merged.junit
    );
    let _ = std::fs::remove_dir_all(&dir);
}
