//! Deliberate contract breaks, off by default, each switched on by name (`Config::faults`,
//! `--fault NAME`), with the small helpers they need. Names and helpers only: the routes break
//! the contract when one is on; nothing here runs on its own.
//!
//! They exist so that the harness's generated and model-based properties can be shown to catch
//! each class of fault: every one breaks the contract only for some inputs, some volumes, some
//! orders or some concurrency, the way real bugs do.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// A common name of exactly 64 characters (the documented maximum) is refused as too long.
    CommonNameLimitOffByOne,
    /// In the CSR (not in the JSON), subject values have `, + = " \ < > ; #` backslash-escaped,
    /// as a DN string encoder would.
    EscapeDnSpecials,
    /// The CSR holds only the first 100 SANs; the JSON keeps them all.
    TruncateSans,
    /// Deleted CSRs stay in the list (get says 404).
    ListDeleted,
    /// Once a scope holds 32 CSRs, creates answer 201 but store nothing.
    DropCreatesWhenFull,
    /// Creates read the scope, wait a little, and write it back: overlapping creates are lost.
    RacyCreates,
    /// `direction=desc` is ignored.
    IgnoreDirection,
    /// A custom CSR id of 36 characters that is not a UUID is a 500.
    CrashOnIdShape,
    /// A `per_page` above 50 is a 500 instead of being clamped.
    CrashOnLargePerPage,
    /// A delete finds the id in any account or zone, not only the one in the path.
    DeleteIgnoresScope,
    /// `created_at` is an hour ahead.
    CreatedAtFuture,
    /// `order=name` is answered in the default order (`created_at`): one documented sort
    /// value ignored. (Not `account_tag`: every CSR of an account carries that account's tag,
    /// so any order of them is sorted by it, and ignoring it could not be told apart.)
    IgnoreSortValue,
    /// Credentials are compared carelessly: a token or API key that differs from the right
    /// one by a character or two (its last character, its case, surrounding spaces) is
    /// accepted.
    LooseCredentials,
    /// In the CSR only (the JSON keeps them), `organization` and `organizational_unit` lose
    /// the characters of [`DROPPED_SUBJECT_CHARS`], as a sanitiser meant for shells or markup
    /// would strip them; the other subject fields keep them.
    PemSubjectDropsChars,
}

impl Fault {
    pub const ALL: [Fault; 14] = [
        Fault::CommonNameLimitOffByOne,
        Fault::EscapeDnSpecials,
        Fault::TruncateSans,
        Fault::ListDeleted,
        Fault::DropCreatesWhenFull,
        Fault::RacyCreates,
        Fault::IgnoreDirection,
        Fault::CrashOnIdShape,
        Fault::CrashOnLargePerPage,
        Fault::DeleteIgnoresScope,
        Fault::CreatedAtFuture,
        Fault::IgnoreSortValue,
        Fault::LooseCredentials,
        Fault::PemSubjectDropsChars,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::CommonNameLimitOffByOne => "common-name-limit-off-by-one",
            Fault::EscapeDnSpecials => "escape-dn-specials",
            Fault::TruncateSans => "truncate-sans",
            Fault::ListDeleted => "list-deleted",
            Fault::DropCreatesWhenFull => "drop-creates-when-full",
            Fault::RacyCreates => "racy-creates",
            Fault::IgnoreDirection => "ignore-direction",
            Fault::CrashOnIdShape => "crash-on-id-shape",
            Fault::CrashOnLargePerPage => "crash-on-large-per-page",
            Fault::DeleteIgnoresScope => "delete-ignores-scope",
            Fault::CreatedAtFuture => "created-at-future",
            Fault::IgnoreSortValue => "ignore-sort-value",
            Fault::LooseCredentials => "loose-credentials",
            Fault::PemSubjectDropsChars => "pem-subject-drops-chars",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!("no fault {s:?}; one of {}", names.join(", "))
            })
    }
}

/// Once a scope holds this many CSRs, `drop-creates-when-full` drops creates.
pub const DROP_CREATES_AT: usize = 32;
/// The SANs `truncate-sans` keeps in the CSR.
pub const KEPT_SANS: usize = 100;

/// What `pem-subject-drops-chars` strips from `organization` and `organizational_unit`.
pub const DROPPED_SUBJECT_CHARS: &[char] = &['&', '\'', '!', '@'];

/// What `pem-subject-drops-chars` does to an organization or organizational unit.
pub fn drop_subject_chars(value: &str) -> String {
    value
        .chars()
        .filter(|c| !DROPPED_SUBJECT_CHARS.contains(c))
        .collect()
}

/// What `escape-dn-specials` does to a subject value.
pub fn escape_dn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '=' | '"' | '\\' | '<' | '>' | ';' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>(), Ok(f));
        }
        assert!(
            "nope"
                .parse::<Fault>()
                .unwrap_err()
                .contains("racy-creates")
        );
        assert_eq!(escape_dn("a,b#"), "a\\,b\\#");
        assert_eq!(drop_subject_chars("O'Brien & Sons!"), "OBrien  Sons");
    }
}
