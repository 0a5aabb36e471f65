//! Renders a [`RecordedFile`] as a case file in the ordinary format (`cases/README.md`), laid
//! out for a person to read and edit: one `[[case.steps]]` per request, its expectations in a
//! `[case.steps.expect]` table and the recorded values in `[case.steps.expect.json]`.

use std::fmt::Write as _;

use serde_json::Value;

use super::generalize::{RecBody, RecCase, RecStep, RecordedFile};
use crate::cases::{AuthMode, ScopeKind, StatusSpec};

pub fn render(file: &RecordedFile) -> String {
    let mut out = String::new();
    for line in &file.header {
        let _ = writeln!(out, "# {line}");
    }
    let _ = writeln!(out, "suite = {}", string(&file.suite));
    for f in &file.fixtures {
        out.push_str("\n[[fixture]]\n");
        let _ = writeln!(out, "name = {}", string(&f.name));
        let _ = writeln!(out, "doc = {}", string(&f.doc));
        let _ = writeln!(out, "scopes = {}", scopes(&f.scopes));
        let _ = writeln!(out, "body = {}", value(&f.body));
    }
    for c in &file.cases {
        case(&mut out, c);
    }
    out
}

fn case(out: &mut String, c: &RecCase) {
    out.push_str("\n[[case]]\n");
    let _ = writeln!(out, "name = {}", string(&c.name));
    if let Some(doc) = &c.doc {
        let _ = writeln!(out, "doc = {}", string(doc));
    }
    let _ = writeln!(out, "scopes = {}", scopes(&c.scopes));
    for s in &c.steps {
        step(out, s);
    }
}

fn step(out: &mut String, s: &RecStep) {
    out.push_str("\n[[case.steps]]\n");
    let _ = writeln!(out, "method = {}", string(&s.method));
    let _ = writeln!(out, "path = {}", string(&s.path));
    if !s.query.is_empty() {
        let pairs: Vec<String> = s
            .query
            .iter()
            .map(|(k, v)| format!("{} = {}", key(k), string(v)))
            .collect();
        let _ = writeln!(out, "query = {{ {} }}", pairs.join(", "));
    }
    if s.auth != AuthMode::Configured {
        let _ = writeln!(out, "auth = {}", string(s.auth.name()));
    }
    match &s.body {
        None => {}
        Some(RecBody::Json(v)) => {
            let _ = writeln!(out, "body = {}", value(v));
        }
        Some(RecBody::Text { content_type, text }) => {
            let _ = writeln!(out, "raw_body = {}", string(text));
            if let Some(ct) = content_type {
                let _ = writeln!(out, "content_type = {}", string(ct));
            }
        }
        Some(RecBody::Hex {
            content_type,
            bytes,
        }) => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(out, "raw_body_hex = {}", string(&hex.join(" ")));
            if let Some(ct) = content_type {
                let _ = writeln!(out, "content_type = {}", string(ct));
            }
        }
    }
    if !s.capture.is_empty() {
        let pairs: Vec<String> = s
            .capture
            .iter()
            .map(|(k, v)| format!("{} = {}", key(k), string(v)))
            .collect();
        let _ = writeln!(out, "capture = {{ {} }}", pairs.join(", "));
    }
    let e = &s.expect;
    out.push_str("[case.steps.expect]\n");
    let _ = writeln!(out, "status = {}", status(&e.status));
    if !e.codes.is_empty() {
        let codes: Vec<String> = e.codes.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "codes = [{}]", codes.join(", "));
    }
    if !e.formats.is_empty() {
        let pairs: Vec<String> = e
            .formats
            .iter()
            .map(|(p, f)| format!("{} = {}", key(p), string(f.name())))
            .collect();
        let _ = writeln!(out, "formats = {{ {} }}", pairs.join(", "));
    }
    if !e.holds.is_empty() {
        let ids: Vec<String> = e.holds.iter().map(|s| string(s)).collect();
        let _ = writeln!(out, "holds = [{}]", ids.join(", "));
    }
    if !e.json.is_empty() {
        out.push_str("[case.steps.expect.json]\n");
        for (pointer, v) in &e.json {
            let _ = writeln!(out, "{} = {}", key(pointer), value(v));
        }
    }
}

fn status(spec: &StatusSpec) -> String {
    match spec {
        StatusSpec::Exact(s) => s.to_string(),
        StatusSpec::Class(c) => string(&format!("{c}xx")),
        StatusSpec::AnyOf(all) => {
            let items: Vec<String> = all.iter().map(status).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn scopes(kinds: &[ScopeKind]) -> String {
    let names: Vec<&str> = kinds
        .iter()
        .map(|k| match k {
            ScopeKind::Account => "\"account\"",
            ScopeKind::Zone => "\"zone\"",
        })
        .collect();
    format!("[{}]", names.join(", "))
}

/// A TOML value on one line. TOML has no null: nulls are left out (the recorder drops them
/// before this point).
fn value(v: &Value) -> String {
    match v {
        Value::Null => "\"\"".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(o) if o.is_empty() => "{}".into(),
        Value::Object(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), value(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        string(k)
    }
}

/// A TOML basic string.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
