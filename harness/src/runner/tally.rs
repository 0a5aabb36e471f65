//! What a run judged, counted: why it judged nothing (`--no-tests`), whether it skipped most
//! of what it selected, and the run's last line. Pure: the caller prints what it returns.

use std::path::Path;
use std::time::Duration;

use crate::partition;

/// How many trials a run had, selected and judged: enough to say why it judged none, or that it
/// skipped most.
#[derive(Debug, Default, PartialEq)]
pub struct Tally {
    /// Every trial of the run, before the name filter.
    all: usize,
    /// Those the name filter kept (FILTER, --exact, --skip, --ignored), before --partition.
    matched: usize,
    /// Passed, failed or errored.
    judged: u64,
    /// Skipped (libtest's "ignored"): (reason, trials), most frequent first.
    skips: Vec<(String, u64)>,
}

impl Tally {
    pub fn of(
        all: usize,
        matched: usize,
        c: &libtest_mimic::Conclusion,
        skips: Vec<(String, usize)>,
    ) -> Tally {
        let mut skips: Vec<(String, u64)> = skips.into_iter().map(|(r, n)| (r, n as u64)).collect();
        // Trials libtest itself did not run (under --bench) have no outcome to give a reason.
        let unexplained =
            c.num_ignored - skips.iter().map(|(_, n)| n).sum::<u64>().min(c.num_ignored);
        if unexplained > 0 {
            skips.push(("not run: --bench runs benchmarks only".into(), unexplained));
        }
        Tally {
            all,
            matched,
            judged: c.num_passed + c.num_failed + c.num_measured,
            skips,
        }
    }

    pub fn skipped(&self) -> u64 {
        self.skips.iter().map(|(_, n)| n).sum()
    }

    /// Why nothing was judged, as the sentence after `csr-conformance: `; `None` when
    /// something was.
    pub fn nothing_judged(
        &self,
        args: &libtest_mimic::Arguments,
        partition: Option<partition::Partition>,
        cases_dir: &Path,
    ) -> Option<String> {
        if self.judged > 0 {
            return None;
        }
        let selected = self.skipped();
        Some(if selected > 0 {
            match self.skips.as_slice() {
                [(reason, _)] => format!("every trial was skipped: {reason}"),
                _ => format!("every trial was skipped: {}", skip_list(&self.skips)),
            }
        } else if self.all == 0 {
            format!(
                "there is no trial to run: {} holds no case or property",
                cases_dir.display()
            )
        } else if self.matched == 0 {
            format!("no trial matched the filter {}", filter_words(args))
        } else if let Some(p) = partition {
            let of = if args.filter.is_some() || !args.skip.is_empty() || args.ignored {
                format!(" that matched the filter {}", filter_words(args))
            } else {
                String::new()
            };
            format!(
                "--partition {p} selected none of the {} trial(s){of}",
                self.matched
            )
        } else {
            "no trial was selected".into()
        })
    }

    /// The warning of a run that judged something but skipped more than half of what it
    /// selected.
    pub fn mostly_skipped(&self) -> Option<String> {
        let skipped = self.skipped();
        let selected = self.judged + skipped;
        (self.judged > 0 && skipped * 2 > selected).then(|| {
            format!(
                "{skipped} of {selected} trials skipped: {}",
                skip_list(&self.skips)
            )
        })
    }

    /// What the report says of it: why nothing was judged (`no_tests`), and the skip reasons
    /// with their counts (`skipped: REASON`) when they are what the run mostly did.
    pub fn properties(&self, nothing: Option<&str>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = nothing
            .map(|why| ("no_tests".to_string(), why.to_string()))
            .into_iter()
            .collect();
        if nothing.is_some() || self.mostly_skipped().is_some() {
            out.extend(
                self.skips
                    .iter()
                    .map(|(reason, n)| (format!("skipped: {reason}"), n.to_string())),
            );
        }
        out
    }
}

/// `240 "the scope holds no CSR to read", 42 "needs email + key"`.
fn skip_list(skips: &[(String, u64)]) -> String {
    skips
        .iter()
        .map(|(reason, n)| format!("{n} \"{reason}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name filter as given: `"pem::" --exact --skip "zone"`.
fn filter_words(args: &libtest_mimic::Arguments) -> String {
    let mut words: Vec<String> = args.filter.iter().map(|f| format!("{f:?}")).collect();
    if args.exact {
        words.push("--exact".into());
    }
    words.extend(args.skip.iter().map(|s| format!("--skip {s:?}")));
    if args.ignored {
        words.push("--ignored (no trial is marked ignored)".into());
    }
    words.join(" ")
}

/// The run's last line, for CI to read: `csr-conformance: N requests (G generated) in T s, seed S`.
pub fn summary(requests: usize, generated: usize, elapsed: Duration, seed: u64) -> String {
    format!(
        "csr-conformance: {requests} requests ({generated} generated) in {:.2} s, seed {seed}",
        elapsed.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::flags::Cli;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("csr-conformance").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_summary_line_has_the_form_ci_reads() {
        assert_eq!(
            summary(1234, 1000, Duration::from_millis(2346), 42),
            "csr-conformance: 1234 requests (1000 generated) in 2.35 s, seed 42"
        );
    }

    fn tally(all: usize, matched: usize, judged: u64, skips: &[(&str, u64)]) -> Tally {
        Tally {
            all,
            matched,
            judged,
            skips: skips.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn a_run_that_judged_nothing_says_why() {
        let args = |a: &[&str]| cli(a).libtest;
        let dir = Path::new("cases");
        let why = |t: Tally, a: &[&str], p: Option<&str>| {
            t.nothing_judged(
                &args(a),
                p.map(|p| partition::Partition::parse(p).unwrap()),
                dir,
            )
        };
        assert_eq!(
            why(tally(384, 0, 0, &[]), &["nosuchtrial"], None).unwrap(),
            "no trial matched the filter \"nosuchtrial\""
        );
        assert_eq!(
            why(
                tally(384, 0, 0, &[]),
                &["x", "--exact", "--skip", "y"],
                None
            )
            .unwrap(),
            "no trial matched the filter \"x\" --exact --skip \"y\""
        );
        assert_eq!(
            why(tally(384, 3, 0, &[]), &["pem::"], Some("hash:2/3")).unwrap(),
            "--partition hash:2/3 selected none of the 3 trial(s) that matched the filter \"pem::\""
        );
        assert_eq!(
            why(
                tally(384, 40, 0, &[("the scope holds no CSR to read", 40)]),
                &[],
                None
            )
            .unwrap(),
            "every trial was skipped: the scope holds no CSR to read"
        );
        assert_eq!(
            why(tally(384, 40, 0, &[("a", 30), ("b", 10)]), &[], None).unwrap(),
            "every trial was skipped: 30 \"a\", 10 \"b\""
        );
        assert!(
            why(tally(0, 0, 0, &[]), &[], None)
                .unwrap()
                .starts_with("there is no trial to run")
        );
        assert_eq!(why(tally(384, 384, 1, &[("a", 383)]), &[], None), None);
    }

    #[test]
    fn a_run_that_skipped_most_warns_and_reports_the_counts() {
        let t = tally(
            384,
            384,
            102,
            &[
                ("the scope holds no CSR to read", 240),
                ("needs email + key", 42),
            ],
        );
        assert_eq!(
            t.mostly_skipped().unwrap(),
            "282 of 384 trials skipped: 240 \"the scope holds no CSR to read\", 42 \"needs email + key\""
        );
        assert_eq!(
            t.properties(None),
            vec![
                (
                    "skipped: the scope holds no CSR to read".into(),
                    "240".into()
                ),
                ("skipped: needs email + key".into(), "42".into()),
            ]
        );
        // Half is not more than half; and a run that judged nothing says so instead.
        let half = tally(4, 4, 2, &[("a", 2)]);
        assert_eq!(half.mostly_skipped(), None);
        assert!(half.properties(None).is_empty());
        assert_eq!(tally(4, 4, 0, &[("a", 4)]).mostly_skipped(), None);
        assert_eq!(
            tally(4, 0, 0, &[]).properties(Some("no trial matched the filter \"x\"")),
            vec![(
                "no_tests".into(),
                "no trial matched the filter \"x\"".into()
            )]
        );
    }
}
