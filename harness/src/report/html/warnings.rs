//! Warnings that make a pass meaningless, each a sentence a person reads without the terminal:
//! a family whose every trial was skipped, credentials refused on every request, a read-only
//! run against a scope with no CSR, documented rules never verified, a run that stopped early,
//! long waits for the target's rate limit, and a run that judged nothing or mostly skipped.

use std::collections::BTreeMap;

use crate::rules::{Entry, Rule};

use super::props::Props;
use super::{Status, Trial};

/// More than this many seconds spent waiting for 429s is worth a warning.
pub const LONG_WAIT_SECS: u64 = 60;

/// How many names a sentence lists before `and N more`.
const LISTED: usize = 12;

/// The run's warnings, most serious first.
pub fn of(props: &Props, trials: &[Trial], coverage: &[(&'static Rule, Entry)]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = props.get("no_tests") {
        out.push(format!("Nothing was judged, so this is no pass: {why}."));
    }
    if let Some(reason) = props.get("stopped_early") {
        let after = props.get("requests_after_stop").unwrap_or("0");
        out.push(format!(
            "The run stopped early: {reason}. Every trial not finished by then is an error, not \
             a pass; {after} request(s) were sent after the stop (the cleanup's deletes)."
        ));
    }
    if let (Some(sent), Some(refused)) = (
        props.number("credentialed_requests"),
        props.number("credentialed_refused"),
    ) && sent > 0
        && refused == sent
    {
        out.push(format!(
            "Every one of the {sent} requests sent with the run's credentials was answered 401 \
             or 403: the credentials lack permission (a token needs \"SSL and Certificates \
             Write\", or \"Read\" with --read-only, on this account or zone), so no trial saw \
             the API do its work."
        ));
    }
    // A family whose every trial was skipped.
    let mut families: BTreeMap<&str, (usize, usize, BTreeMap<&str, usize>)> = BTreeMap::new();
    for t in trials {
        let e = families.entry(t.family()).or_default();
        e.0 += 1;
        if t.status == Status::Skip {
            e.1 += 1;
            let reason = t.summary.strip_prefix("skipped: ").unwrap_or(&t.summary);
            *e.2.entry(reason).or_default() += 1;
        }
    }
    for (family, (all, skipped, reasons)) in &families {
        if all == skipped {
            let (reason, _) = reasons
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(r, n)| (*r, *n))
                .unwrap_or_default();
            out.push(format!(
                "Every trial of the {family} family was skipped ({all} trial(s), mostly: \
                 {reason}), so nothing it checks was verified."
            ));
        }
    }
    // A read-only run against a scope that holds no CSR.
    if props.get("read_only") == Some("true") {
        let mut empty: BTreeMap<&str, usize> = BTreeMap::new();
        for t in trials {
            if t.status == Status::Skip && t.summary.contains("has no CSR to read") {
                *empty.entry(t.scope()).or_default() += 1;
            }
        }
        for (scope, n) in empty {
            out.push(format!(
                "This read-only run found no CSR in the {scope} scope: the {n} trial(s) that read \
                 existing CSRs were skipped, so nothing about stored CSRs (their JSON, their PEM, \
                 get against list) was checked there. Create one CSR in that scope, or run \
                 without --read-only."
            ));
        }
    }
    let unverified: Vec<&str> = coverage
        .iter()
        .filter(|(_, e)| e.exercised == 0)
        .map(|(r, _)| r.id)
        .collect();
    if !unverified.is_empty() {
        let listed = unverified
            .iter()
            .take(LISTED)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = unverified.len().saturating_sub(LISTED);
        out.push(format!(
            "{} of the {} documented rules were never verified by this run: {listed}{}. The \
             coverage table says what each needs.",
            unverified.len(),
            coverage.len(),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let waited: u64 = trials.iter().map(|t| t.waited_secs).sum();
    if waited > LONG_WAIT_SECS {
        out.push(format!(
            "The target's rate limit held the run for {waited} s in all (answers 429 with \
             Retry-After): the run took longer than it should, and a target that limits this \
             hard may not serve a full run. Lower --rate, or run fewer --cases."
        ));
    }
    if props.get("no_tests").is_none() {
        let skipped: Vec<(String, &str)> = props
            .0
            .iter()
            .filter_map(|(n, v)| {
                n.strip_prefix("skipped: ")
                    .map(|r| (r.to_string(), v.as_str()))
            })
            .collect();
        if !skipped.is_empty() {
            let total: u64 = skipped
                .iter()
                .filter_map(|(_, n)| n.parse::<u64>().ok())
                .sum();
            let reasons = skipped
                .iter()
                .map(|(r, n)| format!("{n} \"{r}\""))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(format!(
                "Most trials were skipped ({total}: {reasons}): a pass covers only the rest."
            ));
        }
    }
    out
}
