//! `cases/properties.toml`: which generators run, how many cases each, and which properties
//! they check. Loading is pure, like case files: text in, declarations or located errors out.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::cases::{ALL_SCOPES, LoadError, Origin, ScopeKind, is_identifier, line_of};
use crate::holds::Use;

/// The file in the cases directory that declares generated properties.
pub use crate::cases::PROPERTIES_FILE as FILE_NAME;

/// Where inputs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Generator {
    /// Create bodies that are valid under the documented contract, limits included.
    CreateValid,
    /// Create bodies that break exactly one documented constraint, wrong JSON types, non-JSON.
    CreateInvalid,
    /// Create bodies the contract says nothing about (e.g. a 500-character locality).
    CreateUnspecified,
    /// Get and delete with ids of every shape.
    Ids,
    /// List with every kind of `page`, `per_page`, `order` and `direction`.
    ListParams,
    /// Every operation with missing, partial, malformed or wrong credentials.
    Auth,
    /// Model-based sequences of create, get, list and delete, with foreign-scope writes,
    /// concurrency bursts and (with `volume`) a scope grown past several dozen CSRs.
    Sequences,
}

/// A property: a rule every generated exchange of a generator must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// No answer is a 5xx.
    #[serde(rename = "no-5xx")]
    No5xx,
    /// Every answer is Cloudflare's envelope; `success` is true exactly on 2xx.
    Envelope,
    /// Every answer satisfies the schema its operation and status imply.
    Schema,
    /// A valid create answers 201.
    Created,
    /// A create's result carries exactly the fields sent, with equal values.
    Echo,
    /// The PEM agrees with every subject field and SAN of its object.
    Pem,
    /// A get returns the object the create returned.
    GetSame,
    /// `created_at` is neither in the future nor before the run started (beyond the allowed skew).
    CreatedAt,
    /// An invalid create is refused with a 4xx carrying an error.
    Refused,
    /// Get and delete of an id nobody created never succeed; a well-formed UUID is a 404.
    NotFound,
    /// List answers agree with their documented parameters: 200, page and per_page honoured.
    ListConsistent,
    /// The documented `order` and `direction` are honoured.
    ListOrder,
    /// A request without valid credentials is refused with a 4xx.
    AuthRefused,
    /// Every created CSR can be fetched and is listed exactly once until deleted; deleted
    /// ones are gone from get and list.
    Model,
    /// `total_count` equals the number of CSRs the model says the scope holds.
    TotalCount,
    /// A write under another account or zone id changes nothing here.
    ForeignScope,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::No5xx => "no-5xx",
            Check::Envelope => "envelope",
            Check::Schema => "schema",
            Check::Created => "created",
            Check::Echo => "echo",
            Check::Pem => "pem",
            Check::GetSame => "get-same",
            Check::CreatedAt => "created-at",
            Check::Refused => "refused",
            Check::NotFound => "not-found",
            Check::ListConsistent => "list-consistent",
            Check::ListOrder => "list-order",
            Check::AuthRefused => "auth-refused",
            Check::Model => "model",
            Check::TotalCount => "total-count",
            Check::ForeignScope => "foreign-scope",
        }
    }
}

impl Generator {
    pub fn name(self) -> &'static str {
        match self {
            Generator::CreateValid => "create-valid",
            Generator::CreateInvalid => "create-invalid",
            Generator::CreateUnspecified => "create-unspecified",
            Generator::Ids => "ids",
            Generator::ListParams => "list-params",
            Generator::Auth => "auth",
            Generator::Sequences => "sequences",
        }
    }

    /// The properties this generator's exchanges can be judged by.
    pub fn supported(self) -> &'static [Check] {
        use Check::*;
        match self {
            Generator::CreateValid => &[
                No5xx, Envelope, Schema, Created, Echo, Pem, GetSame, CreatedAt,
            ],
            Generator::CreateInvalid => &[No5xx, Envelope, Schema, Refused],
            // Where the contract is silent, nothing but these two may be asserted.
            Generator::CreateUnspecified => &[No5xx, Envelope],
            Generator::Ids => &[No5xx, Envelope, Schema, NotFound],
            Generator::ListParams => &[No5xx, Envelope, Schema, ListConsistent, ListOrder],
            Generator::Auth => &[No5xx, Envelope, AuthRefused],
            Generator::Sequences => &[
                No5xx,
                Envelope,
                Schema,
                Created,
                Echo,
                GetSame,
                CreatedAt,
                Model,
                TotalCount,
                ForeignScope,
            ],
        }
    }

    /// Whether every input it makes writes (so that `--read-only` skips the property). The
    /// others keep to reads under `--read-only`.
    pub fn always_writes(self) -> bool {
        matches!(
            self,
            Generator::CreateValid
                | Generator::CreateInvalid
                | Generator::CreateUnspecified
                | Generator::Sequences
        )
    }

    /// How its cases use the scope (see [`Use`]): sequences compare the whole scope with a
    /// model; what an unspecified create makes (a 500-character locality, a country "USA")
    /// must be gone before another trial's list could judge it by the schema; list
    /// parameters judge every CSR listed; the others touch only what they create, or ids no
    /// CSR has.
    pub fn scope_use(self) -> Use {
        match self {
            Generator::Sequences => Use::Alone,
            Generator::CreateUnspecified => Use::Odd,
            Generator::ListParams => Use::Lists,
            Generator::CreateValid
            | Generator::CreateInvalid
            | Generator::Ids
            | Generator::Auth => Use::Own,
        }
    }
}

/// Re-runs shrinking may spend when `properties.toml` does not say (`shrink_runs`).
pub const DEFAULT_SHRINK_RUNS: u32 = 40;

/// One declared property run: a generator, how many cases, and what is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub doc: Option<String>,
    pub generator: Generator,
    /// Generated cases per scope; for `sequences`, transitions (sequences = cases / steps).
    pub cases: u32,
    pub checks: Vec<Check>,
    pub scopes: Vec<ScopeKind>,
    /// `sequences`: the most transitions in one sequence.
    pub steps: u32,
    /// `sequences`: CSRs each sequence first creates, one after another.
    pub volume: u32,
    /// `sequences`: requests in flight in one concurrency burst.
    pub burst: u32,
    /// Re-runs shrinking a failure may spend (each re-runs one case: for a valid create, a
    /// create, a get and a delete), whatever the wall time: a rate-limited target gets the same
    /// minimal input as a fast one. 0: failures are reported as found.
    pub shrink_runs: u32,
    /// How far `created_at` may be off the harness's clock.
    pub clock_skew_secs: u32,
    pub origin: Origin,
}

impl Property {
    pub fn checks(&self, check: Check) -> bool {
        self.checks.contains(&check)
    }

    /// How many proptest cases run when `--cases` says `override_cases` (or nothing).
    pub fn runner_cases(&self, override_cases: Option<u32>) -> u32 {
        let cases = override_cases.unwrap_or(self.cases).max(1);
        match self.generator {
            Generator::Sequences => cases.div_ceil(self.steps.max(1)).max(1),
            _ => cases,
        }
    }

    /// About how many requests the property sends in one scope: what trials are ordered by, so
    /// that the longest start first and do not end a run alone.
    pub fn weight(&self, override_cases: Option<u32>) -> u64 {
        let cases = u64::from(self.runner_cases(override_cases));
        cases
            * match self.generator {
                // A baseline walk, the growth, the steps (each with a walk) and the teardown.
                Generator::Sequences => 2 * u64::from(self.steps) + 2 * u64::from(self.volume) + 2,
                Generator::CreateValid => 3,
                Generator::CreateUnspecified => 2,
                _ => 1,
            }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    property: Vec<Spanned<RawProperty>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProperty {
    name: String,
    doc: Option<String>,
    generator: Generator,
    cases: Option<u32>,
    checks: Option<Vec<Check>>,
    scopes: Option<Vec<ScopeKind>>,
    steps: Option<u32>,
    volume: Option<u32>,
    burst: Option<u32>,
    shrink_runs: Option<u32>,
    /// The older name of `shrink_runs`, still read.
    shrink_iters: Option<u32>,
    /// Read and ignored: shrinking is bounded by re-runs, not by time.
    #[allow(dead_code)]
    shrink_secs: Option<u32>,
    clock_skew_secs: Option<u32>,
}

/// Loads `dir/properties.toml`; no file means no generated properties.
pub fn load_dir(dir: &Path) -> (Vec<Property>, Vec<LoadError>) {
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => match parse(&path, &text) {
            Ok(p) => (p, Vec::new()),
            Err(e) => (Vec::new(), vec![e]),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), Vec::new()),
        Err(e) => (
            Vec::new(),
            vec![LoadError {
                file: path,
                line: 0,
                message: format!("cannot read: {e}"),
            }],
        ),
    }
}

/// Parses a property file; `path` only names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Property>, LoadError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| LoadError {
        file: path.to_path_buf(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for spanned in raw.property {
        let line = line_of(text, spanned.span().start);
        let err = |message: String| LoadError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let p = spanned.into_inner();
        if !is_identifier(&p.name) {
            return Err(err(format!(
                "property name {:?} must be lowercase letters, digits, '_' or '-'",
                p.name
            )));
        }
        if !names.insert(p.name.clone()) {
            return Err(err(format!("property {:?} is declared twice", p.name)));
        }
        let supported = p.generator.supported();
        let checks = match p.checks {
            None => supported.to_vec(),
            Some(list) => {
                if let Some(bad) = list.iter().find(|c| !supported.contains(c)) {
                    return Err(err(format!(
                        "property {:?}: generator {} cannot check {:?} (it checks {})",
                        p.name,
                        p.generator.name(),
                        bad.name(),
                        supported
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                list
            }
        };
        let sequences_only = [
            ("steps", p.steps.is_some()),
            ("volume", p.volume.is_some()),
            ("burst", p.burst.is_some()),
        ];
        if p.generator != Generator::Sequences
            && let Some((field, _)) = sequences_only.iter().find(|(_, set)| *set)
        {
            return Err(err(format!(
                "property {:?}: `{field}` only applies to generator = \"sequences\"",
                p.name
            )));
        }
        let scopes = p.scopes.unwrap_or_else(|| ALL_SCOPES.to_vec());
        if scopes.is_empty() {
            return Err(err(format!("property {:?} has no scopes", p.name)));
        }
        out.push(Property {
            name: p.name,
            doc: p.doc,
            generator: p.generator,
            cases: p.cases.unwrap_or(32).max(1),
            checks,
            scopes,
            steps: p.steps.unwrap_or(16).max(1),
            volume: p.volume.unwrap_or(0),
            burst: p.burst.unwrap_or(8).max(2),
            shrink_runs: p
                .shrink_runs
                .or(p.shrink_iters)
                .unwrap_or(DEFAULT_SHRINK_RUNS),
            clock_skew_secs: p.clock_skew_secs.unwrap_or(300),
            origin: Origin {
                file: path.to_path_buf(),
                line,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<Property>, LoadError> {
        parse(Path::new("cases/properties.toml"), text)
    }

    #[test]
    fn a_declaration_names_generator_cases_and_checks() {
        let p = parse_text(
            "[[property]]\nname = \"valid\"\ngenerator = \"create-valid\"\ncases = 7\nchecks = [\"no-5xx\", \"pem\"]\nscopes = [\"zone\"]\n\n[[property]]\nname = \"seq\"\ngenerator = \"sequences\"\ncases = 40\nsteps = 10\nvolume = 3\n",
        )
        .unwrap();
        assert_eq!(p[0].generator, Generator::CreateValid);
        assert_eq!(p[0].checks, vec![Check::No5xx, Check::Pem]);
        assert_eq!(p[0].scopes, vec![ScopeKind::Zone]);
        assert_eq!(p[0].runner_cases(None), 7);
        assert_eq!(p[0].runner_cases(Some(100)), 100);
        assert_eq!(p[1].origin.line, 8);
        assert_eq!(p[1].checks, Generator::Sequences.supported());
        assert_eq!(p[1].runner_cases(None), 4, "40 transitions of at most 10");
        assert_eq!(p[1].volume, 3);
    }

    #[test]
    fn mistakes_are_located_errors() {
        let e = parse_text("[[property]]\nname = \"x\"\ngenerator = \"create-unspecified\"\nchecks = [\"created\"]\n").unwrap_err();
        assert!(e.message.contains("cannot check \"created\""), "{e}");
        assert_eq!(e.line, 1);
        let e = parse_text("[[property]]\nname = \"x\"\ngenerator = \"nope\"\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = parse_text("[[property]]\nname = \"x\"\ngenerator = \"ids\"\nvolume = 3\n")
            .unwrap_err();
        assert!(e.message.contains("only applies"), "{e}");
        let e = parse_text(
            "[[property]]\nname = \"x\"\ngenerator = \"ids\"\n[[property]]\nname = \"x\"\ngenerator = \"ids\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
    }

    #[test]
    fn shrinking_is_bounded_by_re_runs_and_the_old_keys_still_load() {
        let base = "[[property]]\nname = \"x\"\ngenerator = \"ids\"\n";
        let runs = |extra: &str| parse_text(&format!("{base}{extra}")).unwrap()[0].shrink_runs;
        assert_eq!(runs(""), DEFAULT_SHRINK_RUNS);
        assert_eq!(runs("shrink_runs = 7\n"), 7);
        assert_eq!(runs("shrink_iters = 512\nshrink_secs = 10\n"), 512);
        assert_eq!(runs("shrink_runs = 3\nshrink_iters = 512\n"), 3);
        assert_eq!(runs("shrink_secs = 1\n"), DEFAULT_SHRINK_RUNS);
    }
}
