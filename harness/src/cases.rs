//! Case files: TOML descriptions of requests and what must come back. Loading is pure: text in,
//! cases or located errors out. The format is documented in `cases/README.md`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

/// The file in the cases directory that declares generated properties (read by
/// `generate::declare`, in its own format): case loading passes over it.
pub const PROPERTIES_FILE: &str = "properties.toml";

/// A problem in a data file, located well enough for a person to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

impl std::error::Error for LoadError {}

/// Where a case or a step was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// How a step authenticates. Only `Configured`, `Token` and `EmailKey` send real credentials;
/// the others send deliberately broken or partial ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The configured token, or else the configured email + key.
    Configured,
    /// The configured token; the case is skipped when none is configured.
    Token,
    /// The configured email + key; skipped when they are not configured.
    EmailKey,
    /// No credential headers at all.
    None,
    /// A well-formed bearer token that is not valid.
    WrongToken,
    /// The configured email (or a made-up one) with a well-formed key that is not valid.
    WrongKey,
    /// `X-Auth-Email` without `X-Auth-Key`.
    EmailOnly,
    /// `X-Auth-Key` without `X-Auth-Email`.
    KeyOnly,
    /// An `Authorization` header that is not `Bearer <token>`.
    MalformedBearer,
    /// An `X-Auth-Email` that is not an email address, with a key.
    MalformedEmail,
}

impl AuthMode {
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::Configured => "configured",
            AuthMode::Token => "token",
            AuthMode::EmailKey => "email_key",
            AuthMode::None => "none",
            AuthMode::WrongToken => "wrong_token",
            AuthMode::WrongKey => "wrong_key",
            AuthMode::EmailOnly => "email_only",
            AuthMode::KeyOnly => "key_only",
            AuthMode::MalformedBearer => "malformed_bearer",
            AuthMode::MalformedEmail => "malformed_email",
        }
    }
}

/// The expected status: exact, a class such as `4xx`, or a list of either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusSpec {
    Exact(u16),
    Class(u16),
    AnyOf(Vec<StatusSpec>),
}

impl StatusSpec {
    pub fn matches(&self, status: u16) -> bool {
        match self {
            StatusSpec::Exact(s) => *s == status,
            StatusSpec::Class(c) => status / 100 == *c,
            StatusSpec::AnyOf(all) => all.iter().any(|s| s.matches(status)),
        }
    }

    /// Whether a success is among the expected statuses.
    pub fn may_succeed(&self) -> bool {
        match self {
            StatusSpec::Exact(s) => (200..300).contains(s),
            StatusSpec::Class(c) => *c == 2,
            StatusSpec::AnyOf(all) => all.iter().any(StatusSpec::may_succeed),
        }
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSpec::Exact(s) => write!(f, "{s}"),
            StatusSpec::Class(c) => write!(f, "{c}xx"),
            StatusSpec::AnyOf(all) => {
                let parts: Vec<String> = all.iter().map(ToString::to_string).collect();
                write!(f, "one of {}", parts.join(", "))
            }
        }
    }
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StatusSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an HTTP status (100..=599), a class such as \"4xx\", or a list of them",
                )
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StatusSpec, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<StatusSpec>()? {
                    all.push(s);
                }
                if all.is_empty() {
                    return Err(serde::de::Error::custom(
                        "an empty list of statuses matches nothing",
                    ));
                }
                Ok(StatusSpec::AnyOf(all))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<StatusSpec, E> {
                match u16::try_from(v) {
                    Ok(s) if (100..=599).contains(&s) => Ok(StatusSpec::Exact(s)),
                    _ => Err(E::custom(format!("{v} is not an HTTP status (100..=599)"))),
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StatusSpec, E> {
                let b = v.as_bytes();
                if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && &v[1..] == "xx" {
                    Ok(StatusSpec::Class(u16::from(b[0] - b'0')))
                } else {
                    Err(E::custom(format!(
                        "{v:?} is not a status class; write \"2xx\", \"4xx\", ... or a number"
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// What a step's answer must satisfy, beyond the universal envelope/schema/PEM families.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: Option<StatusSpec>,
    /// Cloudflare error codes, of which at least one must appear; checked only with `--strict`,
    /// since mocks and the real API may differ on codes without breaking the contract.
    #[serde(default)]
    pub codes: Vec<i64>,
    /// Validate the body against this schema (file stem in `schemas/`) in addition to the
    /// schema the operation implies.
    pub schema: Option<String>,
    /// JSON pointer → value the body must hold there (templates allowed in strings).
    #[serde(default)]
    pub json: BTreeMap<String, toml::Value>,
    /// JSON pointers that must not exist in the body.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Strings the body must not contain (templates allowed).
    #[serde(default)]
    pub excludes: Vec<String>,
    /// The returned `result` carries exactly the fields of the request body, with equal values.
    #[serde(default)]
    pub result_matches_body: bool,
    /// JSON pointer → the format the value there must have, where the value itself is the
    /// server's to choose (recorded cases use it for `created_at` and `csr`).
    #[serde(default)]
    pub formats: BTreeMap<String, Format>,
    /// Ids (templates allowed) a list answer must hold in `result`; judged only when the answer
    /// shows the whole list (`result_info.total_count` items, all on this page), since on a
    /// longer list an id missing here may be on another page.
    #[serde(default)]
    pub holds: Vec<String>,
}

/// A format a value must have (see [`Expect::formats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// An RFC 3339 date-time.
    DateTime,
    /// A PEM block (what it holds is the PEM family's to judge).
    Pem,
    /// Any non-empty string.
    String,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Pem => "pem",
            Format::String => "string",
        }
    }
}

/// One request of a case, with templates still unresolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub auth: AuthMode,
    pub body: Option<BodyTemplate>,
    pub capture: Vec<(String, String)>,
    pub expect: Expect,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BodyTemplate {
    Json(Value),
    Text {
        content_type: Option<String>,
        text: String,
    },
    Bytes {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
}

/// Behaviour that needs a loop or bookkeeping rather than a fixed list of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
    /// Create CSRs, walk every list page, and check that pages end with an empty page and hold
    /// every created id exactly once, with consistent `result_info`.
    ListPagination,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CaseBody {
    Steps(Vec<Step>),
    Builtin(Builtin),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Account,
    Zone,
}

/// A named case from a case file (or a fixture, which is a case whose result others refer to).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub suite: String,
    pub name: String,
    pub doc: Option<String>,
    pub scopes: Vec<ScopeKind>,
    pub body: CaseBody,
    pub fixture: bool,
    pub origin: Origin,
}

impl Case {
    /// The first method the case sends that may change state on the target, if any (so
    /// `--read-only` must skip it).
    pub fn write_method(&self) -> Option<&str> {
        match &self.body {
            CaseBody::Steps(steps) => steps
                .iter()
                .map(|s| s.method.as_str())
                .find(|m| *m != "GET" && *m != "HEAD"),
            CaseBody::Builtin(Builtin::ListPagination) => Some("POST"),
        }
    }

    pub fn applies_to(&self, kind: ScopeKind) -> bool {
        self.scopes.contains(&kind)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    suite: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
    #[serde(default)]
    fixture: Vec<Spanned<RawFixture>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    doc: Option<String>,
    scopes: Option<Vec<ScopeKind>>,
    builtin: Option<Builtin>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFixture {
    name: String,
    doc: Option<String>,
    scopes: Option<Vec<ScopeKind>>,
    body: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, toml::Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    auth: Option<AuthMode>,
    body: Option<toml::Value>,
    raw_body: Option<String>,
    raw_body_hex: Option<String>,
    content_type: Option<String>,
    #[serde(default)]
    capture: BTreeMap<String, String>,
    #[serde(default)]
    expect: Expect,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
pub(crate) const ALL_SCOPES: [ScopeKind; 2] = [ScopeKind::Account, ScopeKind::Zone];

/// Parses one case file. `text` is its content; `path` only names it in errors.
pub fn parse_case_file(path: &Path, text: &str) -> Result<Vec<Case>, LoadError> {
    let err_at = |offset: usize, message: String| LoadError {
        file: path.to_path_buf(),
        line: line_of(text, offset),
        message,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        LoadError {
            file: path.to_path_buf(),
            line,
            message: e.message().trim().to_string(),
        }
    })?;
    let suite = match raw.suite {
        Some(s) => s,
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if !is_identifier(&suite) {
        return Err(err_at(
            0,
            format!("suite {suite:?} must be lowercase letters, digits, '_' or '-'"),
        ));
    }
    let mut names = HashSet::new();
    let mut cases = Vec::new();
    for fixture in raw.fixture {
        let offset = fixture.span().start;
        let f = fixture.into_inner();
        check_name(&f.name, &mut names).map_err(|m| err_at(offset, m))?;
        let origin = Origin {
            file: path.to_path_buf(),
            line: line_of(text, offset),
        };
        let body = to_json(toml::Value::Table(f.body));
        cases.push(Case {
            suite: suite.clone(),
            name: f.name,
            doc: f.doc,
            scopes: f.scopes.unwrap_or_else(|| ALL_SCOPES.to_vec()),
            body: CaseBody::Steps(vec![Step {
                method: "POST".into(),
                path: "${scope}/custom_csrs".into(),
                query: Vec::new(),
                headers: Vec::new(),
                auth: AuthMode::Configured,
                body: Some(BodyTemplate::Json(body)),
                capture: Vec::new(),
                expect: Expect {
                    status: Some(StatusSpec::Exact(201)),
                    result_matches_body: true,
                    ..Expect::default()
                },
                origin: origin.clone(),
            }]),
            fixture: true,
            origin,
        });
    }
    for case in raw.case {
        let offset = case.span().start;
        let c = case.into_inner();
        check_name(&c.name, &mut names).map_err(|m| err_at(offset, m))?;
        let origin = Origin {
            file: path.to_path_buf(),
            line: line_of(text, offset),
        };
        let body = match (c.builtin, c.steps.is_empty()) {
            (Some(b), true) => CaseBody::Builtin(b),
            (Some(_), false) => {
                return Err(err_at(
                    offset,
                    format!("case {:?} has both `builtin` and `steps`", c.name),
                ));
            }
            (None, true) => {
                return Err(err_at(
                    offset,
                    format!(
                        "case {:?} has no steps: add [[case.steps]] or `builtin`",
                        c.name
                    ),
                ));
            }
            (None, false) => {
                let mut steps = Vec::new();
                for step in c.steps {
                    let offset = step.span().start;
                    steps.push(
                        convert_step(step.into_inner(), path, line_of(text, offset))
                            .map_err(|m| err_at(offset, m))?,
                    );
                }
                CaseBody::Steps(steps)
            }
        };
        let scopes = c.scopes.unwrap_or_else(|| ALL_SCOPES.to_vec());
        if scopes.is_empty() {
            return Err(err_at(offset, format!("case {:?} has no scopes", c.name)));
        }
        cases.push(Case {
            suite: suite.clone(),
            name: c.name,
            doc: c.doc,
            scopes,
            body,
            fixture: false,
            origin,
        });
    }
    Ok(cases)
}

fn convert_step(raw: RawStep, file: &Path, line: usize) -> Result<Step, String> {
    let method = raw.method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "unknown method {:?} (one of {})",
            raw.method,
            METHODS.join(", ")
        ));
    }
    if !(raw.path.starts_with('/') || raw.path.starts_with("${")) {
        return Err(format!(
            "path {:?} must start with '/' or a scope placeholder such as ${{scope}}",
            raw.path
        ));
    }
    let bodies =
        raw.body.is_some() as u8 + raw.raw_body.is_some() as u8 + raw.raw_body_hex.is_some() as u8;
    if bodies > 1 {
        return Err("give at most one of `body`, `raw_body`, `raw_body_hex`".into());
    }
    if raw.content_type.is_some() && raw.body.is_some() {
        return Err("`content_type` goes with `raw_body` or `raw_body_hex`; `body` is always sent as application/json".into());
    }
    let body = if let Some(b) = raw.body {
        Some(BodyTemplate::Json(to_json(b)))
    } else if let Some(text) = raw.raw_body {
        Some(BodyTemplate::Text {
            content_type: raw.content_type,
            text,
        })
    } else if let Some(hex) = raw.raw_body_hex {
        Some(BodyTemplate::Bytes {
            content_type: raw.content_type,
            bytes: decode_hex(&hex)?,
        })
    } else {
        None
    };
    for (var, pointer) in &raw.capture {
        if !is_identifier(var) {
            return Err(format!(
                "capture name {var:?} must be lowercase letters, digits, '_' or '-'"
            ));
        }
        check_pointer(pointer)?;
    }
    for pointer in raw
        .expect
        .json
        .keys()
        .chain(&raw.expect.absent)
        .chain(raw.expect.formats.keys())
    {
        check_pointer(pointer)?;
    }
    let query = raw
        .query
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    Ok(Step {
        method,
        path: raw.path,
        query,
        headers: raw.headers.into_iter().collect(),
        auth: raw.auth.unwrap_or(AuthMode::Configured),
        body,
        capture: raw.capture.into_iter().collect(),
        expect: raw.expect,
        origin: Origin {
            file: file.to_path_buf(),
            line,
        },
    })
}

fn check_name(name: &str, seen: &mut HashSet<String>) -> Result<(), String> {
    if !is_identifier(name) {
        return Err(format!(
            "name {name:?} must be lowercase letters, digits, '_' or '-'"
        ));
    }
    if !seen.insert(name.to_string()) {
        return Err(format!("name {name:?} is used twice in this file"));
    }
    Ok(())
}

fn check_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "{pointer:?} is not a JSON pointer (write \"\" for the whole body or start with '/')"
        ))
    }
}

/// A name a case file may give: lowercase letters, digits, '_' or '-'.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("raw_body_hex has an odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).map_err(|_| "raw_body_hex is not ASCII")?;
            u8::from_str_radix(s, 16).map_err(|_| format!("raw_body_hex: {s:?} is not a hex byte"))
        })
        .collect()
}

/// TOML has no null; everything else maps one to one.
pub fn to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Loads every `*.toml` file of a directory and its subdirectories (such as `recorded/`),
/// sorted by path. Files that fail to load are returned as errors beside the cases of the
/// others, so one bad file loses nothing.
pub fn load_dir(dir: &Path) -> (Vec<Case>, Vec<LoadError>) {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    let mut files = Vec::new();
    if let Err(e) = toml_files(dir, &mut files) {
        errors.push(LoadError {
            file: dir.to_path_buf(),
            line: 0,
            message: format!("cannot read the cases directory: {e}"),
        });
        return (cases, errors);
    }
    // Generated properties are declared apart, in their own format.
    files.retain(|p| p.file_name().is_none_or(|n| n != PROPERTIES_FILE));
    files.sort();
    let mut fixture_names = HashSet::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(LoadError {
                    file,
                    line: 0,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match parse_case_file(&file, &text) {
            Ok(file_cases) => {
                let clash = file_cases.iter().find(|c| {
                    c.fixture && !fixture_names.insert(c.name.clone())
                        || cases
                            .iter()
                            .any(|o: &Case| o.suite == c.suite && o.name == c.name)
                });
                match clash {
                    Some(c) => errors.push(LoadError {
                        file: file.clone(),
                        line: c.origin.line,
                        message: format!(
                            "{:?} is already defined in suite {:?} or as a fixture elsewhere",
                            c.name, c.suite
                        ),
                    }),
                    None => cases.extend(file_cases),
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (cases, errors)
}

/// Every `*.toml` file under `dir`, at any depth (hidden directories left out).
fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                toml_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|x| x == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Case>, LoadError> {
        parse_case_file(Path::new("cases/t.toml"), text)
    }

    #[test]
    fn parses_a_case_with_steps_and_a_fixture() {
        let cases = parse(
            r#"
suite = "behaviour"

[[fixture]]
name = "rsa_full"
body = { common_name = "a.csr-conformance.net", sans = ["a.csr-conformance.net"] }

[[case]]
name = "get_unknown"
scopes = ["zone"]
[[case.steps]]
method = "get"
path = "${scope}/custom_csrs/${random_uuid}"
query = { page = 2 }
expect = { status = "4xx", codes = [1419], json = { "/success" = false } }
"#,
        )
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert!(cases[0].fixture);
        assert_eq!(cases[0].origin.line, 4);
        let c = &cases[1];
        assert_eq!(
            (c.suite.as_str(), c.name.as_str()),
            ("behaviour", "get_unknown")
        );
        assert_eq!(c.scopes, vec![ScopeKind::Zone]);
        let CaseBody::Steps(steps) = &c.body else {
            panic!("steps expected")
        };
        assert_eq!(steps[0].method, "GET");
        assert_eq!(steps[0].query, vec![("page".into(), "2".into())]);
        assert_eq!(steps[0].expect.status, Some(StatusSpec::Class(4)));
        assert_eq!(steps[0].origin.line, 11);
        assert!(c.write_method().is_none());
        assert!(cases[0].write_method().is_some());
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let e = parse("suite = \"x\"\n\n[[case]]\nname = \n").unwrap_err();
        assert_eq!(e.file, Path::new("cases/t.toml"));
        assert_eq!(e.line, 4, "{e}");
    }

    #[test]
    fn an_unknown_field_names_its_line() {
        let e = parse("[[case]]\nname = \"a\"\n[[case.steps]]\nmethod = \"GET\"\npath = \"/x\"\nexpekt = {}\n")
            .unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("expekt"), "{e}");
    }

    #[test]
    fn a_bad_status_is_refused_with_its_line() {
        let e = parse("[[case]]\nname = \"a\"\n[[case.steps]]\nmethod = \"GET\"\npath = \"/x\"\nexpect = { status = \"4x\" }\n")
            .unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("status class"), "{e}");
    }

    #[test]
    fn semantic_errors_point_at_the_step() {
        let e =
            parse("[[case]]\nname = \"a\"\n\n[[case.steps]]\nmethod = \"FETCH\"\npath = \"/x\"\n")
                .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("unknown method"), "{e}");
        let e = parse("[[case]]\nname = \"a\"\n").unwrap_err();
        assert!(e.message.contains("no steps"), "{e}");
        let e = parse("[[case]]\nname = \"a\"\nbuiltin = \"list-pagination\"\n[[case]]\nname = \"a\"\nbuiltin = \"list-pagination\"\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("used twice"), "{e}");
        let e = parse("[[case]]\nname = \"a\"\n[[case.steps]]\nmethod = \"GET\"\npath = \"/x\"\ncapture = { id = \"result/id\" }\n").unwrap_err();
        assert!(e.message.contains("JSON pointer"), "{e}");
    }

    #[test]
    fn raw_hex_bodies_decode() {
        let cases = parse("[[case]]\nname = \"a\"\n[[case.steps]]\nmethod = \"POST\"\npath = \"/x\"\nraw_body_hex = \"ff fe 7b\"\ncontent_type = \"text/plain\"\n").unwrap();
        let CaseBody::Steps(steps) = &cases[0].body else {
            panic!()
        };
        assert_eq!(
            steps[0].body,
            Some(BodyTemplate::Bytes {
                content_type: Some("text/plain".into()),
                bytes: vec![0xff, 0xfe, 0x7b]
            })
        );
        let e = parse("[[case]]\nname = \"a\"\n[[case.steps]]\nmethod = \"POST\"\npath = \"/x\"\nraw_body_hex = \"zz\"\n").unwrap_err();
        assert!(e.message.contains("hex"), "{e}");
    }

    #[test]
    fn load_dir_keeps_good_files_when_one_is_bad() {
        let dir = std::env::temp_dir().join(format!("csr-cases-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.toml"),
            "[[case]]\nname = \"ok\"\nbuiltin = \"list-pagination\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("b.toml"), "[[case]\n").unwrap();
        std::fs::write(dir.join("README.md"), "not a case").unwrap();
        std::fs::create_dir_all(dir.join("recorded/deeper")).unwrap();
        std::fs::write(
            dir.join("recorded/deeper/c.toml"),
            "suite = \"recorded-c\"\n[[case]]\nname = \"ok\"\nbuiltin = \"list-pagination\"\n",
        )
        .unwrap();
        let (cases, errors) = load_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(cases.len(), 2, "{errors:?}");
        assert_eq!(cases[1].suite, "recorded-c");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].file.ends_with("b.toml"));
        assert_eq!(errors[0].line, 1);
    }
}
