//! The run as one self-contained HTML page (`--html`, default `reports/index.html`): the
//! verdict, warnings that make a pass meaningless, drift notices, a matrix of check families by
//! scope, each failure with its curl and rerun lines, and the contract's coverage.
//!
//! The page is a function of what the JUnit writer gets: the report header (whose properties
//! carry the run's facts, the rules' coverage and the drift notices) and one [`Trial`] per
//! outcome. `merge` rebuilds the same page from merged reports ([`from_junit`]), so everything
//! the page shows, except the PEM side-by-side table, travels in the JUnit report.
//!
//! No network, no script, no external resource: one file a person opens from a CI artifact.
//! Everything that came from the target is escaped ([`esc`]) after the same cleaning as JUnit's.

pub mod coverage;
pub mod failures;
pub mod from_junit;
pub mod matrix;
pub mod page;
pub mod props;
pub mod warnings;

use std::path::{Path, PathBuf};

use crate::checks::pem::describe;
use crate::model::{Exchange, Outcome, Verdict};
use crate::report::junit::{self, Header};
use crate::report::repro::curl_line;
use crate::report::text::{failure_text, summary_line};

/// How a trial ended, as the page colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Pass,
    Skip,
    Fail,
    Error,
}

impl Status {
    /// The CSS class (`pass`, `fail`, `error`, `skip`).
    pub fn class(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Skip => "skip",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// One trial as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub name: String,
    pub status: Status,
    pub millis: u64,
    /// `passed`, `skipped: why`, `2 findings: pem.sans, …`.
    pub summary: String,
    /// Seconds the trial's requests waited for a 429's Retry-After.
    pub waited_secs: u64,
    /// What a failed or errored trial shows.
    pub failure: Option<Failure>,
}

/// What the page shows of a trial that did not pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The text the terminal and JUnit show ([`failure_text`]).
    pub text: String,
    /// The curl line of the request the failure is about (the text holds the earlier steps').
    pub curls: Vec<String>,
    /// The seed of a generated trial (the run's seed otherwise).
    pub seed: Option<u64>,
    /// For a PEM finding: the CSR's subject and SANs beside the JSON's.
    pub pem: Vec<describe::Row>,
}

impl Trial {
    /// The page's view of `outcome`, cleaned as its JUnit testcase is (`secrets` redacted).
    pub fn of(outcome: &Outcome, secrets: &[String], base_url: &str) -> Trial {
        let status = match outcome.verdict {
            Verdict::Pass => Status::Pass,
            Verdict::Skipped(_) => Status::Skip,
            Verdict::Failure(_) => Status::Fail,
            Verdict::Error(_) => Status::Error,
        };
        let waited_secs = outcome.waits.iter().map(|w| waited(w)).sum();
        if matches!(status, Status::Pass | Status::Skip) {
            return Trial {
                name: junit::clean_text(&outcome.name, secrets),
                status,
                millis: outcome.duration.as_millis() as u64,
                summary: junit::clean_text(&summary_line(outcome), secrets),
                waited_secs,
                failure: None,
            };
        }
        let o = junit::clean_outcome(outcome, secrets);
        // The request the failure is about; a sequence's earlier steps have theirs in the text.
        let curls = about(&o)
            .map(|ex| curl_line(base_url, &ex.request))
            .into_iter()
            .collect();
        Trial {
            name: o.name.clone(),
            status,
            millis: o.duration.as_millis() as u64,
            summary: summary_line(&o),
            waited_secs,
            failure: Some(Failure {
                text: failure_text(&o, base_url),
                curls,
                seed: o.seed,
                pem: pem_rows(&o),
            }),
        }
    }

    /// The check family: the name's first part (`pem`, `property`, `behaviour`, …).
    pub fn family(&self) -> &str {
        self.name.split("::").next().unwrap_or_default()
    }

    /// The scope's label (`account`, `zone`), or `run` for a trial of no scope (load errors).
    pub fn scope(&self) -> &str {
        match self.name.split("::").nth(1) {
            Some(s @ ("account" | "zone")) => s,
            _ => "run",
        }
    }
}

/// The seconds in `… answered 429: waited 2 s (Retry-After: 2) and sent it again`.
pub fn waited(line: &str) -> u64 {
    line.split_once("waited ")
        .and_then(|(_, rest)| rest.split_once(" s"))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The exchange a failure is about: the one its first finding names (`… (answer to POST
/// /zones/…)`), as a generated case goes on to clean up after the answer it judged; otherwise
/// the last.
fn about(o: &Outcome) -> Option<&Exchange> {
    let named = match &o.verdict {
        Verdict::Failure(findings) => findings.first().and_then(|f| {
            let (_, rest) = f.message.rsplit_once("(answer to ")?;
            let line = rest.strip_suffix(')')?;
            o.exchanges
                .iter()
                .rev()
                .find(|ex| ex.request.line() == line)
        }),
        _ => None,
    };
    named.or_else(|| o.exchanges.last())
}

/// The side-by-side table of the object the first PEM finding is about.
fn pem_rows(o: &Outcome) -> Vec<describe::Row> {
    let Verdict::Failure(findings) = &o.verdict else {
        return Vec::new();
    };
    let Some(finding) = findings.iter().find(|f| f.rule.starts_with("pem.")) else {
        return Vec::new();
    };
    let Some(body) = about(o).and_then(|ex| ex.response.body_json()) else {
        return Vec::new();
    };
    // The finding's pointer names a field of the object (`/result/3/sans`): walk up to the
    // object that holds `csr`.
    let mut pointer = finding.pointer.as_str();
    loop {
        if let Some(object) = body.pointer(pointer).filter(|v| v.get("csr").is_some()) {
            return describe::side_by_side(object).unwrap_or_default();
        }
        match pointer.rfind('/') {
            Some(at) => pointer = &pointer[..at],
            None => return Vec::new(),
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Not allowed in HTML text: controls other than tab, line feed and carriage return.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The facts of a run the page shows and JUnit keeps for `merge`: requests sent (and how
/// many generated), the duration, the command that runs it again, `--cases` if given.
pub fn run_properties(
    (requests, generated): (usize, usize),
    elapsed: std::time::Duration,
    command: &str,
    cases: Option<u32>,
) -> Vec<(String, String)> {
    let mut out = vec![
        ("requests".to_string(), requests.to_string()),
        ("generated_requests".to_string(), generated.to_string()),
        (
            "duration_secs".to_string(),
            format!("{:.2}", elapsed.as_secs_f64()),
        ),
        ("command".to_string(), command.to_string()),
    ];
    if let Some(n) = cases {
        out.push(("cases".into(), n.to_string()));
    }
    out
}

/// This process's command line as a person would type it again, with `--seed` added when the
/// seed was chosen at random.
pub fn command(seed: u64) -> String {
    let mut words: Vec<String> = vec!["csr-conformance".into()];
    words.extend(std::env::args().skip(1));
    let seeded = words
        .iter()
        .any(|w| w == "--seed" || w.starts_with("--seed="));
    if !seeded {
        words.push("--seed".into());
        words.push(seed.to_string());
    }
    crate::report::repro::command_line(&words)
}

/// Where the page goes unless `--html` says: `index.html` in the JUnit report's directory.
pub fn default_path(junit: &Path) -> PathBuf {
    match junit.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("index.html"),
        _ => PathBuf::from("index.html"),
    }
}

/// Writes the page of `header` and `trials` to `path`, creating its directory; written to a
/// temporary file and renamed into place, as the JUnit report is.
pub fn write_page_file(header: &Header, trials: &[Trial], path: &Path) -> std::io::Result<()> {
    let html = page::render(header, trials);
    junit::write_text_file(path, &html)
}

#[cfg(test)]
mod tests;
