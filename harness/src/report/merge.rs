//! `csr-conformance merge -o OUT.xml IN.xml...`: the reports of the shards of a run
//! (`--partition`) as one report. Testcases keep their text byte for byte (they were cleaned
//! when their shard wrote them); suites of the same name become one, with counts recomputed;
//! properties are the first shard's, without the shard's own `partition`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::drift::{self, Notice};
use crate::report::html;
use crate::report::junit::{self, CaseXml, Header, Tally};
use crate::rules;

#[derive(Parser, Debug)]
#[command(
    name = "merge",
    about = "Merges the JUnit reports of shards (--partition) into one report"
)]
struct MergeCli {
    /// Where to write the merged report
    #[arg(short = 'o', long = "output", value_name = "OUT.xml")]
    output: PathBuf,
    /// The shards' reports
    #[arg(value_name = "IN.xml", required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the merged HTML page [default: index.html beside OUT.xml]
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// Write no HTML page
    #[arg(long, conflicts_with = "html")]
    no_html: bool,
}

/// The subcommand's command line, for help and completions.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    MergeCli::command()
}

/// Runs the subcommand; `args` start with the program's name, `csr-conformance merge`.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match MergeCli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let mut texts = Vec::new();
    for path in &cli.inputs {
        match std::fs::read_to_string(path) {
            Ok(t) => texts.push((path.display().to_string(), t)),
            Err(e) => {
                eprintln!("csr-conformance merge: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let (cases, header) = match merge(&texts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("csr-conformance merge: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = junit::write_report_file(&cases, &header, &cli.output) {
        eprintln!(
            "csr-conformance merge: cannot write {}: {e}",
            cli.output.display()
        );
        return ExitCode::from(1);
    }
    if !cli.no_html {
        let path = cli
            .html
            .clone()
            .unwrap_or_else(|| html::default_path(&cli.output));
        let trials = html::from_junit::trials(&cases);
        if let Err(e) = html::write_page_file(&header, &trials, &path) {
            eprintln!(
                "csr-conformance merge: cannot write {}: {e}",
                path.display()
            );
            return ExitCode::from(1);
        }
        eprintln!(
            "csr-conformance merge: HTML report written to {}",
            path.display()
        );
    }
    let failed = cases
        .iter()
        .filter(|c| matches!(c.tally, Tally::Failure | Tally::Error))
        .count();
    eprintln!(
        "csr-conformance merge: {} testcases from {} reports ({failed} failed or errored) written to {}",
        cases.len(),
        texts.len(),
        cli.output.display()
    );
    ExitCode::SUCCESS
}

/// The testcases of every report, in order, each once (by suite and name), and the header of
/// the first. Each input is (label for messages, XML text).
pub fn merge(inputs: &[(String, String)]) -> Result<(Vec<CaseXml>, Header), String> {
    let mut header: Option<Header> = None;
    let mut shards: Vec<Vec<(String, String)>> = Vec::new();
    let mut cases = Vec::new();
    let mut seen = HashSet::new();
    for (label, xml) in inputs {
        let parsed = parse(xml).map_err(|e| format!("{label}: {e}"))?;
        shards.push(parsed.header.properties.clone());
        if header.is_none() {
            header = Some(parsed.header);
        }
        for (name, case) in parsed.cases {
            if seen.insert((case.suite.clone(), name)) {
                cases.push(case);
            }
        }
    }
    let mut header = header.ok_or("no report given")?;
    header.properties = merge_properties(&shards);
    if cases.is_empty() {
        header.properties.push((
            "no_tests".into(),
            format!("none of the {} report(s) holds a testcase", inputs.len()),
        ));
    }
    Ok((cases, header))
}

/// Properties that add up over shards.
const SUMS: &[&str] = &[
    "requests",
    "generated_requests",
    "credentialed_requests",
    "credentialed_refused",
    "requests_after_stop",
    "drift_dropped",
];

/// The run's properties from its shards': the first shard's, with what each shard counted
/// added up (requests, the rules' coverage, drift notices, the duration), the first reason a
/// shard stopped early, and the command without its `--partition`.
fn merge_properties(shards: &[Vec<(String, String)>]) -> Vec<(String, String)> {
    let Some(first) = shards.first() else {
        return Vec::new();
    };
    let all = || shards.iter().flatten();
    let counted = |name: &str| {
        SUMS.contains(&name)
            || name == "duration_secs"
            || name.starts_with(rules::RULE_PREFIX)
            || name.starts_with(drift::PROPERTY_PREFIX)
            || name.starts_with("rules_")
            || name == "stopped_early"
    };
    let mut out: Vec<(String, String)> = first
        .iter()
        .filter(|(n, _)| !counted(n))
        .map(|(n, v)| {
            if n == "command" {
                (n.clone(), without_partition(v))
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    if let Some((_, why)) = all().find(|(n, _)| n == "stopped_early") {
        out.push(("stopped_early".into(), why.clone()));
    }
    for name in SUMS {
        let values: Vec<u64> = all()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| v.parse().ok())
            .collect();
        if !values.is_empty() {
            out.push((name.to_string(), values.iter().sum::<u64>().to_string()));
        }
    }
    let secs: Vec<f64> = all()
        .filter(|(n, _)| n == "duration_secs")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if !secs.is_empty() {
        out.push((
            "duration_secs".into(),
            format!("{:.2}", secs.iter().sum::<f64>()),
        ));
    }
    if all().any(|(n, _)| n == "rules_documented") {
        let ledger = rules::Ledger::default();
        for (n, v) in all() {
            if let (Some(id), Some(entry)) =
                (n.strip_prefix(rules::RULE_PREFIX), rules::parse_entry(v))
            {
                ledger.absorb(id, &entry);
            }
        }
        out.extend(rules::Coverage::of(&ledger).properties());
    }
    let mut notices: Vec<Notice> = Vec::new();
    for shard in shards {
        let these = shard
            .iter()
            .filter_map(|(n, v)| Notice::from_property(n, v))
            .collect();
        drift::merge(&mut notices, these);
    }
    out.extend(notices.iter().map(Notice::property));
    out.push(("merged_reports".into(), shards.len().to_string()));
    out
}

/// A command line without its `--partition SPEC` (a merged report is the whole run's).
fn without_partition(command: &str) -> String {
    let mut words = command.split(' ').peekable();
    let mut out = Vec::new();
    while let Some(w) = words.next() {
        if w == "--partition" {
            words.next();
        } else if !w.starts_with("--partition=") {
            out.push(w);
        }
    }
    out.join(" ")
}

struct Parsed {
    header: Header,
    /// (testcase name, case).
    cases: Vec<(String, CaseXml)>,
}

fn attr(e: &BytesStart, name: &str) -> Result<Option<String>, String> {
    match e.try_get_attribute(name).map_err(|e| e.to_string())? {
        Some(a) => Ok(Some(
            a.unescape_value().map_err(|e| e.to_string())?.into_owned(),
        )),
        None => Ok(None),
    }
}

fn parse(xml: &str) -> Result<Parsed, String> {
    let mut reader = Reader::from_str(xml);
    let mut header = Header {
        name: "csr-conformance".into(),
        properties: Vec::new(),
        timestamp: String::new(),
        hostname: String::new(),
    };
    let mut first_suite = true;
    let mut in_first_properties = false;
    let mut suite: Option<String> = None;
    let mut cases = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| format!("not well-formed XML at byte {before}: {e}"))?;
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuites" => {
                if let Some(n) = attr(&e, "name")? {
                    header.name = n;
                }
            }
            Event::Start(e) if e.name().as_ref() == b"testsuite" => {
                suite = Some(attr(&e, "name")?.ok_or("a testsuite without a name")?);
                if first_suite {
                    header.timestamp = attr(&e, "timestamp")?.unwrap_or_default();
                    header.hostname = attr(&e, "hostname")?.unwrap_or_default();
                }
            }
            Event::End(e) if e.name().as_ref() == b"testsuite" => {
                suite = None;
                first_suite = false;
            }
            Event::Start(e) if e.name().as_ref() == b"properties" => {
                in_first_properties = first_suite;
            }
            Event::End(e) if e.name().as_ref() == b"properties" => in_first_properties = false,
            Event::Empty(e) if e.name().as_ref() == b"property" && in_first_properties => {
                let name = attr(&e, "name")?.unwrap_or_default();
                // What one shard selected and skipped is not what the merged run did.
                if name != "partition" && name != "no_tests" && !name.starts_with("skipped: ") {
                    header
                        .properties
                        .push((name, attr(&e, "value")?.unwrap_or_default()));
                }
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let Some(suite) = &suite else {
                    return Err("a testcase outside a testsuite".into());
                };
                let name = attr(&e, "name")?.ok_or("a testcase without a name")?;
                let time = attr(&e, "time")?
                    .and_then(|t| t.parse::<f64>().ok())
                    .filter(|t| t.is_finite() && *t >= 0.0)
                    .map_or(Duration::ZERO, Duration::from_secs_f64);
                let mut tally = Tally::Pass;
                let self_closing = xml[before..reader.buffer_position() as usize].ends_with("/>");
                if !self_closing {
                    let mut depth = 0usize;
                    loop {
                        match reader.read_event().map_err(|e| e.to_string())? {
                            Event::Start(child) => {
                                if depth == 0 {
                                    tally = tally_of(child.name().as_ref(), tally);
                                }
                                depth += 1;
                            }
                            Event::Empty(child) if depth == 0 => {
                                tally = tally_of(child.name().as_ref(), tally);
                            }
                            Event::End(end) => {
                                if depth == 0 && end.name().as_ref() == b"testcase" {
                                    break;
                                }
                                depth = depth.saturating_sub(1);
                            }
                            Event::Eof => return Err(format!("testcase {name:?} never ends")),
                            _ => {}
                        }
                    }
                }
                let end = reader.buffer_position() as usize;
                cases.push((
                    name,
                    CaseXml {
                        suite: suite.clone(),
                        tally,
                        time,
                        xml: xml[before..end].trim_start().to_string(),
                    },
                ));
            }
            _ => {}
        }
    }
    Ok(Parsed { header, cases })
}

fn tally_of(element: &[u8], so_far: Tally) -> Tally {
    match element {
        b"failure" => Tally::Failure,
        b"error" => Tally::Error,
        b"skipped" => Tally::Skipped,
        _ => so_far,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Outcome, Verdict};
    use crate::report::junit::{RunInfo, write_junit};

    fn outcome(name: &str, suite: &str, verdict: Verdict) -> Outcome {
        Outcome {
            name: name.into(),
            suite: suite.into(),
            verdict,
            exchanges: vec![],
            duration: Duration::from_millis(250),
            seed: None,
            notes: vec![],
            retries: vec![],
            waits: vec![],
        }
    }

    fn report(outcomes: &[Outcome], partition: &str) -> String {
        let run = RunInfo {
            name: "csr-conformance".into(),
            base_url: "http://127.0.0.1:1/client/v4".into(),
            target: "embedded emulator".into(),
            secrets: vec![],
            properties: vec![("partition".into(), partition.into())],
            timestamp: time::OffsetDateTime::UNIX_EPOCH,
        };
        let mut out = Vec::new();
        write_junit(outcomes, &run, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn shards_merge_into_the_report_of_one_run() {
        let all = vec![
            outcome("pem::zone::a", "pem", Verdict::Pass),
            outcome(
                "pem::zone::b",
                "pem",
                Verdict::Error("timed out <&>".into()),
            ),
            outcome("auth::zone::c", "auth", Verdict::Skipped("no key".into())),
            outcome("auth::zone::d", "auth", Verdict::Failure(vec![])),
        ];
        let one = report(&all, "count:1/1");
        let shard1 = report(&[all[0].clone(), all[2].clone()], "count:1/2");
        let shard2 = report(&[all[1].clone(), all[3].clone()], "count:2/2");
        let (cases, header) = merge(&[
            ("1".into(), shard1.clone()),
            ("2".into(), shard2),
            // The same shard twice adds nothing.
            ("1 again".into(), shard1),
        ])
        .unwrap();
        assert!(header.properties.iter().all(|(n, _)| n != "partition"));
        let mut merged = Vec::new();
        junit::write_report(&cases, &header, &mut merged).unwrap();
        let merged = String::from_utf8(merged).unwrap();
        let (expected, _) = merge(&[("one".into(), one.clone())]).unwrap();
        let key = |c: &CaseXml| (c.suite.clone(), c.tally, c.xml.clone());
        let mut got: Vec<_> = cases.iter().map(key).collect();
        let mut want: Vec<_> = expected.iter().map(key).collect();
        got.sort_by(|a, b| a.2.cmp(&b.2));
        want.sort_by(|a, b| a.2.cmp(&b.2));
        assert_eq!(got, want);
        for counts in [
            r#"<testsuite name="pem" tests="2" failures="0" errors="1" skipped="0" time="0.500""#,
            r#"<testsuite name="auth" tests="2" failures="1" errors="0" skipped="1" time="0.500""#,
            r#"<testsuites name="csr-conformance" tests="4" failures="1" errors="1" time="1.000">"#,
        ] {
            assert!(merged.contains(counts), "{counts}\n{merged}");
        }
        assert!(merged.contains("timed out &lt;&amp;&gt;"), "{merged}");
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let e = merge(&[("shard-2.xml".into(), "<testsuites><testsuite>".into())]).unwrap_err();
        assert!(e.starts_with("shard-2.xml: "), "{e}");
        assert!(merge(&[]).is_err());
    }
}
