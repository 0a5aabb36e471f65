//! The registry of documented rules: every rule of the contract a run can verify, named once,
//! and the ledger of which of them this run verified. Checks and properties say
//! `rules::exercised(id, held)` where they compare an answer with a rule; the runner prints how
//! many rules were verified and which were not, JUnit keeps the counts as properties, and the
//! HTML page shows the coverage table. A rule that was never verified is listed by name, never
//! passed in silence.
//!
//! The ledger is process-wide (one run per process) and attributes each verification to the
//! trial running on the calling thread ([`crate::traffic::current_trial`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, Mutex};

/// What part of the contract a rule is about (the coverage table's groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// The success and failure envelopes.
    Envelope,
    /// A field constraint of the create body, at one side of its limit.
    Field,
    /// A documented error code a request can provoke.
    ErrorCode,
    /// A documented list parameter value.
    ListParam,
    /// An auth scheme and its refusals.
    Auth,
    /// The PEM CSR agreeing with the JSON fields.
    Pem,
    /// What a sequence of requests must leave behind.
    Stateful,
}

impl Group {
    pub fn label(self) -> &'static str {
        match self {
            Group::Envelope => "envelope",
            Group::Field => "field constraints",
            Group::ErrorCode => "error codes",
            Group::ListParam => "list parameters",
            Group::Auth => "auth",
            Group::Pem => "PEM agreement",
            Group::Stateful => "stateful",
        }
    }
}

/// What a run needs to be able to verify a rule; the reason a rule was not verified names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any run with credentials.
    Read,
    /// A run that may create CSRs (not `--read-only`).
    Write,
    /// A write-enabled run with an account scope.
    AccountWrite,
    /// `CLOUDFLARE_EMAIL` + `CLOUDFLARE_API_KEY`.
    EmailKey,
    /// A token (`CLOUDFLARE_API_TOKEN`).
    Token,
}

impl Needs {
    pub fn text(self) -> &'static str {
        match self {
            Needs::Read => "credentials",
            Needs::Write => "a run that creates CSRs (not --read-only)",
            Needs::AccountWrite => "an account scope and a run that creates CSRs",
            Needs::EmailKey => "CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY",
            Needs::Token => "CLOUDFLARE_API_TOKEN",
        }
    }
}

/// One documented rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable name, e.g. `field.common_name.over-limit`; reports and JUnit use it.
    pub id: &'static str,
    pub group: Group,
    /// One sentence: what the contract says.
    pub text: &'static str,
    pub needs: Needs,
}

const fn rule(id: &'static str, group: Group, needs: Needs, text: &'static str) -> Rule {
    Rule {
        id,
        group,
        text,
        needs,
    }
}

use Group::*;
use Needs::*;

/// Every documented rule, in the order reports list them. The facts come from the API's
/// documentation and spec (see `cases/README.md`); a rule the documentation leaves open is not
/// here (the harness asserts only "no 5xx, a valid envelope" there).
pub static RULES: &[Rule] = &[
    // Envelope
    rule(
        "envelope.success",
        Envelope,
        Read,
        "a 2xx answer is `success: true` with `errors: []`, `messages` and `result`",
    ),
    rule(
        "envelope.failure",
        Envelope,
        Read,
        "a 4xx answer is `success: false` with at least one error `{code >= 1000, message}`",
    ),
    rule(
        "envelope.content-type",
        Envelope,
        Read,
        "every answer is `Content-Type: application/json`",
    ),
    rule(
        "envelope.no-credential-echo",
        Envelope,
        Read,
        "no answer echoes a credential it was sent",
    ),
    // Field constraints of the create body, each at both sides of its limit
    rule(
        "field.common_name.at-limit",
        Field,
        Write,
        "a `common_name` of 64 characters is accepted and echoed",
    ),
    rule(
        "field.common_name.over-limit",
        Field,
        Write,
        "a `common_name` of 65 characters is refused with 1410",
    ),
    rule(
        "field.sans.one",
        Field,
        Write,
        "a body with one SAN is accepted",
    ),
    rule(
        "field.sans.at-limit",
        Field,
        Write,
        "a body with 150 SANs is accepted",
    ),
    rule(
        "field.sans.over-limit",
        Field,
        Write,
        "a body with 151 SANs is refused with a 4xx",
    ),
    rule(
        "field.sans.empty",
        Field,
        Write,
        "a body with `sans: []` is refused with 1411",
    ),
    rule(
        "field.san.at-limit",
        Field,
        Write,
        "a SAN of 255 characters is accepted",
    ),
    rule(
        "field.san.over-limit",
        Field,
        Write,
        "a SAN of 257 characters is refused with 1412",
    ),
    rule(
        "field.subject.at-limit",
        Field,
        Write,
        "organization and organizational_unit of 64, locality and state of 128 characters are accepted and echoed",
    ),
    rule(
        "field.key_type.rsa2048",
        Field,
        Write,
        "`key_type: rsa2048` is accepted",
    ),
    rule(
        "field.key_type.p256v1",
        Field,
        Write,
        "`key_type: p256v1` is accepted",
    ),
    rule(
        "field.key_type.default",
        Field,
        Write,
        "a body without `key_type` makes an rsa2048 CSR",
    ),
    rule(
        "field.optional.absent",
        Field,
        Write,
        "a body without `organizational_unit` (and, on accounts, `name` and `description`) is accepted",
    ),
    rule(
        "field.account-fields",
        Field,
        AccountWrite,
        "`name` and `description` are accepted and echoed in account scope",
    ),
    rule(
        "field.created_at",
        Field,
        Write,
        "`created_at` of a new CSR is an RFC 3339 time of the run",
    ),
    rule(
        "field.echo",
        Field,
        Write,
        "a create's result carries the fields it was sent",
    ),
    rule(
        "field.created-201",
        Field,
        Write,
        "a valid create answers 201",
    ),
    // Documented error codes a request can provoke
    rule(
        "code.1400",
        ErrorCode,
        Write,
        "a body that is not JSON is refused with 400 / 1400",
    ),
    rule(
        "code.1405",
        ErrorCode,
        Write,
        "a body without `country` is refused with 1405",
    ),
    rule(
        "code.1406",
        ErrorCode,
        Write,
        "a body without `state` is refused with 1406",
    ),
    rule(
        "code.1407",
        ErrorCode,
        Write,
        "a body without `locality` is refused with 1407",
    ),
    rule(
        "code.1408",
        ErrorCode,
        Write,
        "a body without `organization` is refused with 1408",
    ),
    rule(
        "code.1409",
        ErrorCode,
        Write,
        "a body without `common_name` is refused with 1409",
    ),
    rule(
        "code.1411",
        ErrorCode,
        Write,
        "a body without `sans` is refused with 1411",
    ),
    rule(
        "code.1412",
        ErrorCode,
        Write,
        "an invalid SAN (an IP address, special characters, a leading or trailing `-`) is refused with 1412",
    ),
    rule(
        "code.1413",
        ErrorCode,
        Write,
        "a non-ASCII SAN is refused with 1413 (1412 under the strict reading)",
    ),
    rule(
        "code.1414",
        ErrorCode,
        Write,
        "a SAN under a reserved TLD (test, example, invalid, localhost) is refused with 1414",
    ),
    rule(
        "code.1416",
        ErrorCode,
        Write,
        "a SAN under example.com, .net or .org is refused with 1416",
    ),
    rule(
        "code.1417",
        ErrorCode,
        Write,
        "an unknown `key_type` is refused with 1417",
    ),
    rule(
        "code.1418",
        ErrorCode,
        Read,
        "a custom CSR id longer than 36 characters is refused with a 4xx (1418, or 1419)",
    ),
    rule(
        "code.1419",
        ErrorCode,
        Read,
        "a well-formed unknown id answers 404 / 1419 on get and delete",
    ),
    // List parameters
    rule(
        "list.per_page.5",
        ListParam,
        Read,
        "`per_page=5` gives pages of at most 5, and says so in `result_info`",
    ),
    rule(
        "list.per_page.50",
        ListParam,
        Read,
        "`per_page=50` gives pages of at most 50, and says so in `result_info`",
    ),
    rule(
        "list.per_page.default",
        ListParam,
        Read,
        "a list without `per_page` gives pages of at most 50",
    ),
    rule(
        "list.page.first",
        ListParam,
        Read,
        "page 1 is the first page, consistent with `result_info`",
    ),
    rule(
        "list.page.last",
        ListParam,
        Read,
        "the last page holds the rest of `total_count`",
    ),
    rule(
        "list.page.past-last",
        ListParam,
        Read,
        "a page past the last answers 200 with `result: []`",
    ),
    rule(
        "list.order.created_at.asc",
        ListParam,
        AccountWrite,
        "`order=created_at&direction=asc` sorts by `created_at`, oldest first",
    ),
    rule(
        "list.order.created_at.desc",
        ListParam,
        AccountWrite,
        "`order=created_at&direction=desc` sorts by `created_at`, newest first",
    ),
    rule(
        "list.order.name.asc",
        ListParam,
        AccountWrite,
        "`order=name&direction=asc` sorts by `name`",
    ),
    rule(
        "list.order.name.desc",
        ListParam,
        AccountWrite,
        "`order=name&direction=desc` sorts by `name`, reversed",
    ),
    rule(
        "list.order.account_tag.asc",
        ListParam,
        AccountWrite,
        "`order=account_tag&direction=asc` lists every CSR of the account once, sorted by `account_tag` (the account's own tag on each)",
    ),
    rule(
        "list.order.account_tag.desc",
        ListParam,
        AccountWrite,
        "`order=account_tag&direction=desc` lists every CSR of the account once, sorted by `account_tag`, reversed",
    ),
    // Auth
    rule(
        "auth.bearer",
        Auth,
        Token,
        "`Authorization: Bearer` with the configured token is accepted",
    ),
    rule(
        "auth.email-key",
        Auth,
        EmailKey,
        "`X-Auth-Email` + `X-Auth-Key` with the configured pair is accepted",
    ),
    rule(
        "auth.missing",
        Auth,
        Read,
        "a request without credentials is refused with a 4xx",
    ),
    rule(
        "auth.malformed",
        Auth,
        Read,
        "malformed credentials are refused with a 4xx",
    ),
    rule(
        "auth.wrong",
        Auth,
        Read,
        "a wrong token or key is refused with a 4xx",
    ),
    rule(
        "auth.partial",
        Auth,
        Read,
        "an email without a key, or a key without an email, is refused with a 4xx",
    ),
    rule(
        "auth.near-miss-token",
        Auth,
        Token,
        "a token one edit away from the configured one (its last character changed, one character short or long, in another case), or the token sent as `X-Auth-Key`, is refused with a 4xx",
    ),
    rule(
        "auth.near-miss-key",
        Auth,
        EmailKey,
        "an API key one edit away from the configured one (as for the token), or the right key with another email, is refused with a 4xx",
    ),
    // PEM agreement
    rule(
        "pem.parses",
        Pem,
        Write,
        "`csr` is a PEM CERTIFICATE REQUEST that parses as PKCS#10",
    ),
    rule(
        "pem.signature",
        Pem,
        Write,
        "the CSR's self-signature verifies",
    ),
    rule(
        "pem.common-name",
        Pem,
        Write,
        "the CSR's subject CN equals `common_name`",
    ),
    rule(
        "pem.subject",
        Pem,
        Write,
        "the CSR's C, ST, L, O and OU equal the JSON fields",
    ),
    rule(
        "pem.sans",
        Pem,
        Write,
        "the CSR's SAN extension holds exactly `sans`",
    ),
    rule(
        "pem.key-type",
        Pem,
        Write,
        "the CSR's public key matches `key_type`",
    ),
    // Stateful
    rule(
        "state.get-after-create",
        Stateful,
        Write,
        "a created CSR is found by id, the same as created",
    ),
    rule(
        "state.listed-once",
        Stateful,
        Write,
        "every CSR of the scope is listed exactly once across the pages",
    ),
    rule(
        "state.total-count",
        Stateful,
        Write,
        "`total_count` counts the CSRs of the scope",
    ),
    rule(
        "state.deleted-gone",
        Stateful,
        Write,
        "a deleted CSR is no longer found (404) or listed",
    ),
    rule(
        "state.scope-isolation",
        Stateful,
        Write,
        "a CSR of one scope is not found or listed in another",
    ),
];

/// The rule named `id`.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// What a run recorded of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// Exchanges (or comparisons) that exercised it.
    pub exercised: u64,
    /// Of those, how many found it broken.
    pub violated: u64,
    /// The trials that verified it.
    pub trials: BTreeSet<String>,
}

impl Entry {
    pub fn held(&self) -> bool {
        self.exercised > 0 && self.violated == 0
    }
}

/// What a run verified, rule by rule.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<BTreeMap<&'static str, Entry>>,
}

impl Ledger {
    /// Records that rule `id` was compared with an answer, and whether it held. An id the
    /// registry does not know is a bug in the harness: it panics in debug builds.
    pub fn exercised(&self, id: &str, held: bool, trial: Option<&str>) {
        let Some(rule) = find(id) else {
            debug_assert!(false, "rule {id} is not in the registry");
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.entry(rule.id).or_default();
        e.exercised += 1;
        if !held {
            e.violated += 1;
        }
        if let Some(t) = trial
            && !e.trials.contains(t)
        {
            e.trials.insert(t.to_string());
        }
    }

    /// What was recorded of every rule, in registry order (never-verified rules included,
    /// with an empty entry).
    pub fn snapshot(&self) -> Vec<(&'static Rule, Entry)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        RULES
            .iter()
            .map(|r| (r, entries.get(r.id).cloned().unwrap_or_default()))
            .collect()
    }

    /// Adds what another ledger recorded (shard reports merged into one).
    pub fn absorb(&self, rule: &str, other: &Entry) {
        let Some(rule) = find(rule) else { return };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.entry(rule.id).or_default();
        e.exercised += other.exercised;
        e.violated += other.violated;
        e.trials.extend(other.trials.iter().cloned());
    }
}

static LEDGER: LazyLock<Ledger> = LazyLock::new(Ledger::default);

/// This process's ledger.
pub fn ledger() -> &'static Ledger {
    &LEDGER
}

/// Records, in this process's ledger, that rule `id` was compared with an answer on the
/// calling thread's trial, and whether it held.
pub fn exercised(id: &str, held: bool) {
    let trial = crate::traffic::current_trial();
    LEDGER.exercised(id, held, trial.as_deref());
}

/// The run's coverage, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub rows: Vec<(&'static Rule, Entry)>,
}

impl Coverage {
    pub fn of(ledger: &Ledger) -> Coverage {
        Coverage {
            rows: ledger.snapshot(),
        }
    }

    pub fn verified(&self) -> usize {
        self.rows.iter().filter(|(_, e)| e.exercised > 0).count()
    }

    pub fn documented(&self) -> usize {
        self.rows.len()
    }

    /// The rules no exchange verified.
    pub fn unverified(&self) -> Vec<&'static Rule> {
        self.rows
            .iter()
            .filter(|(_, e)| e.exercised == 0)
            .map(|(r, _)| *r)
            .collect()
    }

    /// `57/57 documented rules verified`, the run's second summary line (after
    /// `csr-conformance: `).
    pub fn summary(&self) -> String {
        format!(
            "{}/{} documented rules verified",
            self.verified(),
            self.documented()
        )
    }

    /// The lines that name each unverified rule and what verifying it needs.
    pub fn unverified_lines(&self) -> Vec<String> {
        self.unverified()
            .iter()
            .map(|r| {
                format!(
                    "not verified: {} ({}; needs {})",
                    r.id,
                    r.text,
                    r.needs.text()
                )
            })
            .collect()
    }

    /// JUnit properties: the counts, every unverified rule by name, and one property per rule
    /// (`rule: ID` = `exercised=N violated=V trials=T`), which `merge` adds up again.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (
                "rules_documented".to_string(),
                self.documented().to_string(),
            ),
            ("rules_verified".to_string(), self.verified().to_string()),
        ];
        let unverified: Vec<&str> = self.unverified().iter().map(|r| r.id).collect();
        if !unverified.is_empty() {
            out.push(("rules_not_verified".into(), unverified.join(" ")));
        }
        for (r, e) in &self.rows {
            out.push((
                format!("{RULE_PREFIX}{}", r.id),
                format!(
                    "exercised={} violated={} trials={}",
                    e.exercised,
                    e.violated,
                    e.trials.iter().cloned().collect::<Vec<_>>().join(",")
                ),
            ));
        }
        out
    }
}

/// The prefix of the per-rule JUnit properties.
pub const RULE_PREFIX: &str = "rule: ";

/// Reads back a per-rule property value written by [`Coverage::properties`].
pub fn parse_entry(value: &str) -> Option<Entry> {
    let mut e = Entry::default();
    for part in value.split(' ') {
        let (k, v) = part.split_once('=')?;
        match k {
            "exercised" => e.exercised = v.parse().ok()?,
            "violated" => e.violated = v.parse().ok()?,
            "trials" => {
                e.trials = v
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            }
            _ => return None,
        }
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_dotted() {
        let mut seen = BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "{} twice", r.id);
            assert!(r.id.contains('.') && !r.id.contains(' '), "{}", r.id);
        }
    }

    #[test]
    fn a_ledger_counts_and_lists_what_was_not_verified() {
        let l = Ledger::default();
        l.exercised("pem.sans", true, Some("t1"));
        l.exercised("pem.sans", false, Some("t2"));
        l.exercised("auth.missing", true, None);
        let c = Coverage::of(&l);
        assert_eq!(c.verified(), 2);
        assert_eq!(
            c.summary(),
            format!("2/{} documented rules verified", RULES.len())
        );
        let sans = c.rows.iter().find(|(r, _)| r.id == "pem.sans").unwrap();
        assert_eq!(sans.1.exercised, 2);
        assert!(!sans.1.held());
        assert!(c.unverified().iter().all(|r| r.id != "pem.sans"));
        assert!(c.unverified_lines().iter().any(|l| l.contains("code.1400")));
    }

    #[test]
    fn properties_read_back_and_add_up() {
        let l = Ledger::default();
        l.exercised("code.1419", true, Some("a"));
        let props = Coverage::of(&l).properties();
        let (_, v) = props
            .iter()
            .find(|(k, _)| k == "rule: code.1419")
            .expect("per-rule property");
        let e = parse_entry(v).unwrap();
        assert_eq!(e.exercised, 1);
        let merged = Ledger::default();
        merged.absorb("code.1419", &e);
        merged.absorb("code.1419", &e);
        let c = Coverage::of(&merged);
        let row = c.rows.iter().find(|(r, _)| r.id == "code.1419").unwrap();
        assert_eq!(row.1.exercised, 2);
        assert_eq!(row.1.trials.len(), 1);
    }
}
