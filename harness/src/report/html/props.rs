//! What the page reads from the report header (the run's properties, coverage, drift), how
//! many trials ended each way, and unique ids for its elements.

use std::collections::HashSet;

use crate::drift::Notice;
use crate::report::repro;
use crate::rules::{self, Entry, Rule};

use super::{Status, Trial};

/// The report header's properties, by name.
pub struct Props<'a>(pub &'a [(String, String)]);

impl<'a> Props<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn number(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    /// Every rule of the registry with what the report says of it (nothing: never verified).
    pub fn coverage(&self) -> Vec<(&'static Rule, Entry)> {
        rules::RULES
            .iter()
            .map(|r| {
                let entry = self
                    .get(&format!("{}{}", rules::RULE_PREFIX, r.id))
                    .and_then(rules::parse_entry)
                    .unwrap_or_default();
                (r, entry)
            })
            .collect()
    }

    pub fn drift(&self) -> Vec<Notice> {
        self.0
            .iter()
            .filter_map(|(n, v)| Notice::from_property(n, v))
            .collect()
    }

    /// The flags that select the run's target and scopes, for rerun lines.
    pub fn target_options(&self) -> Vec<String> {
        let mut out = Vec::new();
        let remote = self
            .get("target")
            .is_some_and(|t| t.starts_with("http://") || t.starts_with("https://"));
        if remote {
            out.push("--target".into());
            out.push(repro::shell_word(self.get("target").unwrap_or_default()));
            for scope in self.get("scopes").unwrap_or_default().split(',') {
                if let Some((kind, id)) = scope.split_once(':') {
                    out.push(format!("--{kind}-id"));
                    out.push(repro::shell_word(id));
                }
            }
        }
        if self.get("read_only") == Some("true") {
            out.push("--read-only".into());
        }
        if self.get("strict") == Some("true") {
            out.push("--strict".into());
        }
        if let Some(n) = self.get("cases") {
            out.push("--cases".into());
            out.push(repro::shell_word(n));
        }
        out
    }

    pub fn seed(&self) -> u64 {
        self.number("seed").unwrap_or(0)
    }
}

/// How many trials ended each way.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn of<'a>(trials: impl IntoIterator<Item = &'a Trial>) -> Counts {
        let mut c = Counts::default();
        for t in trials {
            match t.status {
                Status::Pass => c.passed += 1,
                Status::Fail => c.failed += 1,
                Status::Error => c.errored += 1,
                Status::Skip => c.skipped += 1,
            }
        }
        c
    }

    /// `3 failed, 400 passed, 0 errored, 12 skipped`.
    pub fn text(&self) -> String {
        format!(
            "{} failed, {} passed, {} errored, {} skipped",
            self.failed, self.passed, self.errored, self.skipped
        )
    }
}

/// `word` as an id: lower-case letters, digits and `-`.
pub fn slug(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Unique ids: `prefix-slug`, with `-2`, `-3`… when taken.
#[derive(Default)]
pub struct Ids(HashSet<String>);

impl Ids {
    pub fn make(&mut self, prefix: &str, word: &str) -> String {
        let base = format!("{prefix}-{}", slug(word));
        let mut id = base.clone();
        let mut n = 2;
        while !self.0.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }
}
