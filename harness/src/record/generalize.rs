//! From clean exchanges to a recorded case file. What is particular to one server becomes
//! something replayable: ids the server made become captures (`${id}`), reads of objects the
//! case did not create go through a fixture of the same kind (`${fixture.NAME.id}`), scope ids
//! become `${scope}` (or `${sibling_scope}`, `${foreign_scope}`), the run's own token becomes
//! `${run_id}`, `created_at` a date-time format match, the PEM a format match the PEM family
//! judges in full, and a list answer what it must hold of the case's own objects. Stable fields
//! stay literal.

use std::collections::{HashMap, HashSet};

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use super::redact::{AuthShape, Clean};
use crate::cases::{AuthMode, Format, ScopeKind, StatusSpec};
use crate::checks::{Operation, classify};
use crate::model::{Body, Scope};

/// A CSR the source shows somewhere: a recorded read of it replays against a fixture made
/// from this body.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// What to call its fixture (a fixture's name, or `object`).
    pub hint: String,
    pub kind: ScopeKind,
    /// A create body that makes an object like it.
    pub body: Value,
    from_create: bool,
}

/// What the whole source says beyond one case's exchanges.
#[derive(Debug, Default)]
pub struct Source {
    /// The token a run put in the names it made.
    pub run_id: Option<String>,
    pub known: HashMap<String, Known>,
}

impl Source {
    /// Learns the CSRs that `exchanges` created (the body sent says best what an object was
    /// made from) or showed in a get or list answer.
    pub fn learn(&mut self, exchanges: &[Clean], hint: &str) {
        for ex in exchanges {
            if !(200..300).contains(&ex.status) {
                continue;
            }
            let (Some((op, kind)), Some(answer)) =
                (classify(&ex.method, &ex.path), ex.response.as_ref())
            else {
                continue;
            };
            match (op, answer.get("result")) {
                (Operation::Create, Some(r)) => {
                    if let Some(id) = id_of(r) {
                        let body = match &ex.body {
                            Some(Body::Json(b)) if b.is_object() => b.clone(),
                            _ => create_body(r, kind),
                        };
                        let known = Known {
                            hint: hint.into(),
                            kind,
                            body,
                            from_create: true,
                        };
                        match self.known.get(&id) {
                            Some(k) if k.from_create => {}
                            _ => {
                                self.known.insert(id, known);
                            }
                        }
                    }
                }
                (Operation::Get, Some(r)) => self.learn_object(r, kind, hint),
                (Operation::List, Some(Value::Array(items))) => {
                    for item in items {
                        self.learn_object(item, kind, hint);
                    }
                }
                _ => {}
            }
        }
    }

    fn learn_object(&mut self, r: &Value, kind: ScopeKind, hint: &str) {
        if let Some(id) = id_of(r) {
            self.known.entry(id).or_insert_with(|| Known {
                hint: hint.into(),
                kind,
                body: create_body(r, kind),
                from_create: false,
            });
        }
    }
}

/// The exchanges that become one recorded case, all made in `scope`.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub doc: Option<String>,
    pub scope: Scope,
    pub exchanges: Vec<Clean>,
    /// What the case that made each exchange allowed, when a case did (a run's recording).
    pub hints: Vec<StepHint>,
}

/// What a case file allowed of one step: a recording keeps a status range the case allowed
/// (a contract-silent status such as a too-large body's 400 or 413) and the documented codes
/// the case named, rather than one server's particular choice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepHint {
    pub status: Option<StatusSpec>,
    pub codes: Vec<i64>,
}

/// A recorded case file, ready to be rendered ([`super::toml_out`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedFile {
    pub suite: String,
    /// Comment lines at the top.
    pub header: Vec<String>,
    pub fixtures: Vec<RecFixture>,
    pub cases: Vec<RecCase>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecFixture {
    pub name: String,
    pub doc: String,
    pub scopes: Vec<ScopeKind>,
    pub body: Value,
    hint: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecCase {
    pub name: String,
    pub doc: Option<String>,
    pub scopes: Vec<ScopeKind>,
    pub steps: Vec<RecStep>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecStep {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub auth: AuthMode,
    pub body: Option<RecBody>,
    pub capture: Vec<(String, String)>,
    pub expect: RecExpect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecBody {
    Json(Value),
    Text {
        content_type: Option<String>,
        text: String,
    },
    Hex {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecExpect {
    pub status: StatusSpec,
    pub codes: Vec<i64>,
    pub json: Vec<(String, Value)>,
    pub formats: Vec<(String, Format)>,
    pub holds: Vec<String>,
}

/// Builds one recorded file from groups of exchanges.
pub struct FileBuilder {
    file: RecordedFile,
    /// Fixture names start with it, so that two recorded files never define the same one.
    prefix: String,
}

/// Fields a client sets on create, which a fixture standing for an object is made from.
const CREATE_FIELDS: &[&str] = &[
    "country",
    "state",
    "locality",
    "organization",
    "organizational_unit",
    "common_name",
    "sans",
    "key_type",
];
const ACCOUNT_FIELDS: &[&str] = &["name", "description"];

impl FileBuilder {
    pub fn new(suite: &str, header: Vec<String>) -> FileBuilder {
        FileBuilder {
            file: RecordedFile {
                suite: suite.to_string(),
                header,
                fixtures: Vec::new(),
                cases: Vec::new(),
            },
            prefix: identifier(suite).replace('-', "_"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.file.cases.is_empty()
    }

    /// Adds a group as a case of its scope kind. A case already recorded under the same name
    /// in the other scope kind, with the same steps, becomes one case of both.
    pub fn add(&mut self, source: &Source, group: &Group) {
        let kind = kind_of(&group.scope);
        let steps = self.steps(source, group, kind);
        if let Some(same) = self
            .file
            .cases
            .iter_mut()
            .find(|c| c.name == group.name && c.steps == steps)
        {
            if !same.scopes.contains(&kind) {
                same.scopes.push(kind);
                same.scopes.sort_by_key(|k| *k != ScopeKind::Account);
            }
            return;
        }
        self.file.cases.push(RecCase {
            name: group.name.clone(),
            doc: group.doc.clone(),
            scopes: vec![kind],
            steps,
        });
    }

    /// The file, with cases recorded differently per scope kind told apart by a suffix.
    pub fn finish(mut self) -> RecordedFile {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for c in &self.file.cases {
            *counts.entry(c.name.clone()).or_default() += 1;
        }
        for c in &mut self.file.cases {
            if counts[&c.name] > 1 {
                let labels: Vec<&str> = c
                    .scopes
                    .iter()
                    .map(|k| match k {
                        ScopeKind::Account => "account",
                        ScopeKind::Zone => "zone",
                    })
                    .collect();
                c.name = format!("{}_{}", c.name, labels.join("_"));
            }
        }
        self.file
    }

    fn steps(&mut self, source: &Source, group: &Group, kind: ScopeKind) -> Vec<RecStep> {
        let mut t = Templater {
            run_id: source.run_id.clone().filter(|r| r.len() >= 8),
            scope_id: group.scope.id().to_string(),
            ids: Vec::new(),
        };
        let created: HashSet<String> = group
            .exchanges
            .iter()
            .filter(|ex| (200..300).contains(&ex.status))
            .filter(|ex| matches!(classify(&ex.method, &ex.path), Some((Operation::Create, _))))
            .filter_map(|ex| id_of(ex.response.as_ref()?.get("result")?))
            .collect();
        // An object the case deletes but did not create gets a fixture of its own, so that
        // no other case loses the fixture it reads.
        let deleted: HashSet<String> = group
            .exchanges
            .iter()
            .filter(|ex| (200..300).contains(&ex.status))
            .filter(|ex| matches!(classify(&ex.method, &ex.path), Some((Operation::Delete, _))))
            .filter_map(|ex| id_segment(&ex.path))
            .filter(|id| !created.contains(id))
            .collect();
        let mut captured: Vec<String> = Vec::new();
        let mut steps = Vec::new();
        for (i, ex) in group.exchanges.iter().enumerate() {
            let hint = group.hints.get(i);
            let op = classify(&ex.method, &ex.path).map(|(op, _)| op);
            if let Some(id) = id_segment(&ex.path)
                && t.template_of(&id).is_none()
                && !created.contains(&id)
            {
                let known = source.known.get(&id).filter(|k| k.kind == kind);
                let existed = (200..300).contains(&ex.status)
                    && matches!(op, Some(Operation::Get | Operation::Delete));
                if known.is_some() || existed {
                    let dedicated = deleted.contains(&id).then_some(group.name.as_str());
                    let name = self.fixture_for(&t, known, kind, dedicated);
                    t.ids.push((id, format!("${{fixture.{name}.id}}")));
                }
            }
            let mut expect = RecExpect {
                status: match hint.and_then(|h| h.status.clone()) {
                    Some(spec) if !matches!(spec, StatusSpec::Exact(_)) => spec,
                    _ => StatusSpec::Exact(ex.status),
                },
                codes: Vec::new(),
                json: Vec::new(),
                formats: Vec::new(),
                holds: Vec::new(),
            };
            let mut capture = Vec::new();
            let mut new_id = None;
            match (&ex.response, (200..300).contains(&ex.status)) {
                (Some(answer), true) => match (op, answer.get("result")) {
                    (Some(Operation::Create | Operation::Get), Some(Value::Object(r))) => {
                        for (field, v) in r {
                            let pointer = format!("/result/{}", escape_pointer(field));
                            match v {
                                Value::Null => {}
                                Value::String(s) if s.is_empty() => {}
                                Value::String(s)
                                    if field == "id" && op == Some(Operation::Create) =>
                                {
                                    let name = if captured.is_empty() {
                                        "id".to_string()
                                    } else {
                                        format!("id_{}", captured.len() + 1)
                                    };
                                    capture.push((name.clone(), pointer));
                                    captured.push(s.clone());
                                    new_id = Some((s.clone(), format!("${{{name}}}")));
                                }
                                Value::String(s) if field == "csr" => {
                                    if s.trim_start().starts_with("-----BEGIN ") {
                                        expect.formats.push((pointer, Format::Pem));
                                    }
                                }
                                Value::String(s) if is_time_field(field) && is_date_time(s) => {
                                    expect.formats.push((pointer, Format::DateTime));
                                }
                                other => expect.json.push((pointer, t.value(other))),
                            }
                        }
                    }
                    (Some(Operation::Delete), Some(r)) => {
                        if let Some(id) = r.get("id") {
                            expect.json.push(("/result/id".into(), t.value(id)));
                        }
                    }
                    (Some(Operation::List), Some(Value::Array(items))) => {
                        for item in items {
                            if let Some(id) = id_of(item)
                                && captured.contains(&id)
                                && let Some(tpl) = t.template_of(&id)
                            {
                                expect.holds.push(tpl.to_string());
                            }
                        }
                    }
                    _ => {}
                },
                (Some(answer), false) => {
                    expect.codes = match hint {
                        Some(h) => h.codes.clone(),
                        None => error_codes(answer),
                    }
                }
                (None, _) => {}
            }
            // A capture that kept no request body still shows what was made: the create
            // replays with the fields its answer returned.
            let made_from = match (&ex.body, op, ex.response.as_ref()) {
                (None, Some(Operation::Create), Some(answer))
                    if (200..300).contains(&ex.status) =>
                {
                    answer
                        .get("result")
                        .filter(|r| r.is_object())
                        .map(|r| Body::Json(create_body(r, kind)))
                }
                _ => None,
            };
            steps.push(RecStep {
                method: ex.method.clone(),
                path: t.path(&ex.path, &group.scope),
                query: ex
                    .query
                    .iter()
                    .map(|(k, v)| (k.clone(), t.text(v)))
                    .collect(),
                auth: auth_mode(&ex.auth, ex.status, ex.response.as_ref()),
                body: ex.body.as_ref().or(made_from.as_ref()).map(|b| t.body(b)),
                capture,
                expect,
            });
            if let Some(pair) = new_id {
                t.ids.push(pair);
            }
        }
        steps
    }

    /// The fixture standing for an object the case did not create: one per distinct body in
    /// the file, or one of its own for a case that deletes it.
    fn fixture_for(
        &mut self,
        t: &Templater,
        known: Option<&Known>,
        kind: ScopeKind,
        dedicated: Option<&str>,
    ) -> String {
        let base = known.map_or("object", |k| k.hint.as_str());
        let hint = match dedicated {
            Some(case) => format!("{base}_deleted_by_{case}"),
            None => base.to_string(),
        };
        let body = match known {
            Some(k) => t.plain().value(&k.body),
            None => generic_body(t.run_id.is_some()),
        };
        if let Some(f) = self
            .file
            .fixtures
            .iter_mut()
            .find(|f| f.hint == hint && f.body == body)
        {
            if !f.scopes.contains(&kind) {
                f.scopes.push(kind);
                f.scopes.sort_by_key(|k| *k != ScopeKind::Account);
            }
            return f.name.clone();
        }
        let stem = format!("{}_{}", self.prefix, identifier(&hint));
        let mut name = stem.clone();
        let mut n = 1;
        while self.file.fixtures.iter().any(|f| f.name == name) {
            n += 1;
            name = format!("{stem}_{n}");
        }
        let doc = match known {
            Some(_) => "Stands for an object the recording read but did not create, made \
                        from the fields it showed."
                .to_string(),
            None => "Stands for an object the recording used but never showed: any CSR of \
                     this scope will do."
                .to_string(),
        };
        self.file.fixtures.push(RecFixture {
            name: name.clone(),
            doc,
            scopes: vec![kind],
            body,
            hint,
        });
        name
    }
}

/// The substitutions of one case: ids to templates, the run's token, long runs.
struct Templater {
    run_id: Option<String>,
    scope_id: String,
    ids: Vec<(String, String)>,
}

impl Templater {
    /// The same run token, none of the ids: for fixture bodies.
    fn plain(&self) -> Templater {
        Templater {
            run_id: self.run_id.clone(),
            scope_id: self.scope_id.clone(),
            ids: Vec::new(),
        }
    }

    fn template_of(&self, id: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, t)| t.as_str())
    }

    fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        let mut ids: Vec<&(String, String)> =
            self.ids.iter().filter(|(i, _)| i.len() >= 8).collect();
        ids.sort_by_key(|(i, _)| std::cmp::Reverse(i.len()));
        for (id, tpl) in ids {
            out = out.replace(id.as_str(), tpl);
        }
        if let Some(r) = &self.run_id {
            out = out.replace(r.as_str(), "${run_id}");
        }
        compress_runs(&out)
    }

    /// Strings equal to an id or the scope id become their template; TOML has no null, so
    /// null members are left out.
    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if *s == self.scope_id => json!("${scope_id}"),
            Value::String(s) => match self.template_of(s) {
                Some(t) => json!(t),
                None => Value::String(self.text(s)),
            },
            Value::Array(a) => Value::Array(
                a.iter()
                    .filter(|x| !x.is_null())
                    .map(|x| self.value(x))
                    .collect(),
            ),
            Value::Object(o) => Value::Object(
                o.iter()
                    .filter(|(_, x)| !x.is_null())
                    .map(|(k, x)| (k.clone(), self.value(x)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }

    fn body(&self, b: &Body) -> RecBody {
        match b {
            Body::Json(v) => RecBody::Json(self.value(v)),
            Body::Raw {
                content_type,
                bytes,
            } => match std::str::from_utf8(bytes) {
                Ok(text) if !text.contains("${") => RecBody::Text {
                    content_type: content_type.clone(),
                    text: self.text(text),
                },
                _ => RecBody::Hex {
                    content_type: content_type.clone(),
                    bytes: bytes.clone(),
                },
            },
        }
    }

    /// The scope prefix becomes `${scope}`, the other configured kind `${sibling_scope}`, any
    /// other id of the same kind `${foreign_scope}`; ids become their templates.
    fn path(&self, path: &str, scope: &Scope) -> String {
        let segments: Vec<&str> = path.split('/').collect();
        let (prefix, rest) = match segments.as_slice() {
            ["", kind @ ("accounts" | "zones"), id, rest @ ..] if !id.is_empty() => {
                let prefix = if *kind != scope.segment() {
                    "${sibling_scope}"
                } else if *id == scope.id() {
                    "${scope}"
                } else {
                    "${foreign_scope}"
                };
                (prefix, rest)
            }
            _ => return self.text(path),
        };
        let mut out = prefix.to_string();
        for seg in rest {
            out.push('/');
            let decoded = percent_decode_str(seg).decode_utf8_lossy();
            match self.template_of(&decoded) {
                Some(t) => out.push_str(t),
                None => out.push_str(&self.text(seg)),
            }
        }
        out
    }
}

/// Runs of 32 or more of one letter or digit become `${repeat:N:c}`, so that a recorded
/// 4000-character id stays readable.
fn compress_runs(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        if c.is_ascii_alphanumeric() && j - i >= 32 {
            out.push_str(&format!("${{repeat:{}:{c}}}", j - i));
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

/// Which auth mode replays a request: one that the server refused for its credentials keeps
/// the shape of what it sent; any other uses the run's configured credentials.
fn auth_mode(shape: &AuthShape, status: u16, answer: Option<&Value>) -> AuthMode {
    let codes = answer.map(error_codes).unwrap_or_default();
    let refused = matches!(status, 401 | 403)
        || (status == 400
            && codes
                .iter()
                .any(|c| matches!(c, 6003 | 6100..=6199 | 9103 | 9106 | 10000)));
    if !refused {
        return AuthMode::Configured;
    }
    match (shape.bearer, shape.email, shape.key) {
        (Some(true), _, _) => AuthMode::WrongToken,
        (Some(false), _, _) => AuthMode::MalformedBearer,
        (None, Some(false), _) => AuthMode::MalformedEmail,
        (None, Some(true), true) => AuthMode::WrongKey,
        (None, Some(true), false) => AuthMode::EmailOnly,
        (None, None, true) => AuthMode::KeyOnly,
        (None, None, false) => AuthMode::None,
    }
}

fn error_codes(answer: &Value) -> Vec<i64> {
    let mut codes: Vec<i64> = answer
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|e| e.get("code")?.as_i64()).collect())
        .unwrap_or_default();
    codes.dedup();
    codes
}

pub(crate) fn id_of(v: &Value) -> Option<String> {
    v.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The `{custom_csr_id}` of `/…/{id}/custom_csrs/{custom_csr_id}`, decoded.
pub(crate) fn id_segment(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [_, _, "custom_csrs", id] if !id.is_empty() => {
            Some(percent_decode_str(id).decode_utf8_lossy().into_owned())
        }
        _ => None,
    }
}

/// A create body that makes an object like `object`.
fn create_body(object: &Value, kind: ScopeKind) -> Value {
    let mut body = Map::new();
    let fields = CREATE_FIELDS.iter().chain(if kind == ScopeKind::Account {
        ACCOUNT_FIELDS
    } else {
        &[]
    });
    for field in fields {
        match object.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(v) => {
                body.insert(field.to_string(), v.clone());
            }
        }
    }
    Value::Object(body)
}

/// What stands for an object the source never showed.
fn generic_body(has_run_id: bool) -> Value {
    let name = if has_run_id {
        "recorded-${run_id}.csr-conformance.net"
    } else {
        "recorded.csr-conformance.net"
    };
    json!({
        "country": "PT", "state": "Lisboa", "locality": "Lisboa",
        "organization": "csr-conformance", "common_name": name, "sans": [name],
        "key_type": "p256v1",
    })
}

fn is_time_field(field: &str) -> bool {
    field.ends_with("_at") || field.ends_with("_on")
}

fn is_date_time(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn escape_pointer(field: &str) -> String {
    field.replace('~', "~0").replace('/', "~1")
}

fn kind_of(scope: &Scope) -> ScopeKind {
    match scope {
        Scope::Account(_) => ScopeKind::Account,
        Scope::Zone(_) => ScopeKind::Zone,
    }
}

/// Lowercase letters, digits, `_` and `-`, as suite, case and fixture names must be.
pub fn identifier(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "x".into() } else { out }
}

/// The scope a path is under, if it is under one.
pub fn scope_of(path: &str) -> Option<Scope> {
    let mut segments = path.trim_start_matches('/').split('/');
    let kind = segments.next()?;
    let id = segments.next().filter(|s| !s.is_empty())?.to_string();
    match kind {
        "accounts" => Some(Scope::Account(id)),
        "zones" => Some(Scope::Zone(id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::redact::{RawExchange, RawHeader, Secrets, scrub};
    use super::super::toml_out::render;
    use super::*;

    const ZONE: &str = "20e0000000000000000000000000020e";
    const ACCOUNT: &str = "a11ce0000000000000000000000000a1";
    const RUN: &str = "0123456789abcdef";

    fn ex(method: &str, path: &str, status: u16, body: Option<Value>, answer: Value) -> Clean {
        let raw = RawExchange {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            headers: vec![(
                "Authorization".into(),
                RawHeader::Text("Bearer abcdefgh".into()),
            )],
            body: body.map(Body::Json),
            status,
            response: Some(answer.to_string().into_bytes()),
        };
        scrub(&raw, &Secrets::default())
    }

    fn object(id: &str, cn: &str) -> Value {
        json!({"id": id, "key_type": "p256v1", "created_at": "2024-11-29T06:00:00Z",
               "common_name": cn, "sans": [cn], "country": "PT", "organizational_unit": "",
               "csr": "-----BEGIN CERTIFICATE REQUEST-----\nMII=\n-----END CERTIFICATE REQUEST-----\n"})
    }

    fn build(exchanges: Vec<Clean>) -> RecordedFile {
        let mut source = Source {
            run_id: Some(RUN.into()),
            ..Source::default()
        };
        source.learn(&exchanges, "object");
        let mut b = FileBuilder::new("recorded-t", vec![]);
        b.add(
            &source,
            &Group {
                name: "c".into(),
                doc: None,
                scope: Scope::Zone(ZONE.into()),
                exchanges,
                hints: Vec::new(),
            },
        );
        b.finish()
    }

    #[test]
    fn ids_become_captures_and_fixtures_scopes_and_names_templates() {
        let cn = format!("a-{RUN}.csr-conformance.net");
        let made = object("11111111-2222-4333-8444-555555555555", &cn);
        let other = object(
            "99999999-2222-4333-8444-555555555555",
            "b.csr-conformance.net",
        );
        let zone = format!("/zones/{ZONE}/custom_csrs");
        let file = build(vec![
            ex("POST", &zone, 201, None, json!({"result": made})),
            ex(
                "GET",
                &zone,
                200,
                None,
                json!({"result": [other, made], "result_info": {"total_count": 2}}),
            ),
            ex(
                "GET",
                &format!("{zone}/{}", other["id"].as_str().unwrap()),
                200,
                None,
                json!({"result": other}),
            ),
            ex(
                "DELETE",
                &format!("{zone}/{}", made["id"].as_str().unwrap()),
                200,
                None,
                json!({"result": {"id": made["id"]}}),
            ),
            ex(
                "GET",
                &format!(
                    "/accounts/{ACCOUNT}/custom_csrs/{}",
                    made["id"].as_str().unwrap()
                ),
                403,
                None,
                json!({"errors": [{"code": 10000}]}),
            ),
            ex(
                "GET",
                &format!("/zones/f0f0/custom_csrs/{}", "7".repeat(40)),
                404,
                None,
                json!({"errors": [{"code": 1419}]}),
            ),
        ]);
        let text = render(&file);
        let steps = &file.cases[0].steps;
        // The create without a kept body replays with the fields its answer showed.
        assert_eq!(
            steps[0].body,
            Some(RecBody::Json(
                json!({"country": "PT", "common_name": "a-${run_id}.csr-conformance.net",
                "sans": ["a-${run_id}.csr-conformance.net"], "key_type": "p256v1"})
            ))
        );
        assert_eq!(steps[0].capture, vec![("id".into(), "/result/id".into())]);
        assert!(
            steps[0]
                .expect
                .formats
                .contains(&("/result/created_at".into(), Format::DateTime))
        );
        assert!(
            steps[0]
                .expect
                .formats
                .contains(&("/result/csr".into(), Format::Pem))
        );
        assert!(
            !steps[0]
                .expect
                .json
                .iter()
                .any(|(p, _)| p == "/result/organizational_unit"),
            "an empty optional field is not compared"
        );
        assert_eq!(
            steps[1].expect.holds,
            vec!["${id}"],
            "only what the case created"
        );
        assert_eq!(file.fixtures.len(), 1);
        let fixture = &file.fixtures[0].name;
        assert_eq!(
            steps[2].path,
            format!("${{scope}}/custom_csrs/${{fixture.{fixture}.id}}")
        );
        assert_eq!(steps[3].path, "${scope}/custom_csrs/${id}");
        assert_eq!(
            steps[3].expect.json,
            vec![("/result/id".to_string(), json!("${id}"))]
        );
        assert_eq!(steps[4].path, "${sibling_scope}/custom_csrs/${id}");
        assert_eq!(steps[4].auth, AuthMode::WrongToken);
        assert_eq!(steps[4].expect.codes, vec![10000]);
        assert_eq!(steps[5].path, "${foreign_scope}/custom_csrs/${repeat:40:7}");
        assert_eq!(steps[5].auth, AuthMode::Configured);
        assert!(!text.contains(RUN) && !text.contains(ZONE), "{text}");
        let cases = crate::cases::parse_case_file(std::path::Path::new("r.toml"), &text).unwrap();
        let (_, errors) = crate::runner::validate_cases(cases, None);
        assert!(errors.is_empty(), "{errors:?}\n{text}");
    }

    #[test]
    fn the_same_case_in_both_scopes_is_one_case_unless_it_differs() {
        let mut b = FileBuilder::new("recorded-t", vec![]);
        let source = Source::default();
        for (scope, status) in [
            (Scope::Account(ACCOUNT.into()), 404),
            (Scope::Zone(ZONE.into()), 404),
            (Scope::Account(ACCOUNT.into()), 200),
        ] {
            let path = format!("{}/custom_csrs?x", scope.prefix());
            let name = if status == 200 { "d" } else { "c" };
            b.add(
                &source,
                &Group {
                    name: name.into(),
                    doc: None,
                    exchanges: vec![ex("GET", &path, status, None, json!({}))],
                    scope,
                    hints: Vec::new(),
                },
            );
        }
        let file = b.finish();
        assert_eq!(file.cases.len(), 2);
        assert_eq!(
            file.cases[0].scopes,
            vec![ScopeKind::Account, ScopeKind::Zone]
        );
        assert_eq!(file.cases[1].scopes, vec![ScopeKind::Account]);
    }

    #[test]
    fn auth_keeps_the_shape_only_when_the_credentials_were_refused() {
        let shape = |bearer, email, key| AuthShape { bearer, email, key };
        let refused = json!({"errors": [{"code": 9106}]});
        assert_eq!(
            auth_mode(&shape(Some(true), None, false), 200, None),
            AuthMode::Configured
        );
        assert_eq!(
            auth_mode(&shape(None, None, false), 404, None),
            AuthMode::Configured
        );
        assert_eq!(
            auth_mode(&shape(None, None, false), 400, Some(&refused)),
            AuthMode::None
        );
        assert_eq!(
            auth_mode(&shape(Some(false), None, false), 400, Some(&refused)),
            AuthMode::MalformedBearer
        );
        assert_eq!(
            auth_mode(&shape(None, Some(true), true), 403, None),
            AuthMode::WrongKey
        );
        assert_eq!(
            auth_mode(&shape(None, Some(false), true), 403, None),
            AuthMode::MalformedEmail
        );
        assert_eq!(
            auth_mode(&shape(None, Some(true), false), 400, Some(&refused)),
            AuthMode::EmailOnly
        );
        assert_eq!(
            auth_mode(&shape(None, None, true), 400, Some(&refused)),
            AuthMode::KeyOnly
        );
    }
}
