//! A step's own expectations from its case file, after templates were filled in.

use serde_json::Value;

use crate::cases::{Format, StatusSpec};
use crate::checks::envelope::kind;
use crate::model::{Exchange, Finding};

/// A step's expectations with every template resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    pub status: Option<StatusSpec>,
    pub codes: Vec<i64>,
    pub json: Vec<(String, Value)>,
    pub absent: Vec<String>,
    pub excludes: Vec<String>,
    /// The JSON body that was sent, when `result` must carry exactly its fields.
    pub result_matches: Option<Value>,
    /// Whether `codes` are enforced (`--strict`).
    pub strict_codes: bool,
    pub formats: Vec<(String, Format)>,
    /// Ids a list answer must hold when it shows the whole list.
    pub holds: Vec<String>,
}

/// Fields a client sets on create; any of them in `result` must have been sent. `name` and
/// `description` exist only on accounts; an empty or null echo of an unsent optional field is
/// tolerated, since it carries no value the client did not choose.
const CLIENT_FIELDS: &[&str] = &[
    "common_name",
    "country",
    "state",
    "locality",
    "organization",
    "organizational_unit",
    "sans",
    "key_type",
    "name",
    "description",
];

pub fn check(ex: &Exchange, expect: &Resolved) -> Vec<Finding> {
    let mut out = Vec::new();
    let status = ex.response.status;
    if let Some(spec) = &expect.status
        && !spec.matches(status)
    {
        out.push(Finding::new(
            "expect.status",
            "status",
            spec.to_string(),
            status.to_string(),
            format!("expected status {spec}, got {status}"),
        ));
    }
    let body: Option<&Value> = ex.response.body_json();
    let null = Value::Null;
    let body_ref = body.unwrap_or(&null);

    if expect.strict_codes && !expect.codes.is_empty() {
        let got: Vec<i64> = body_ref
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|e| e.get("code")?.as_i64()).collect())
            .unwrap_or_default();
        if !got.iter().any(|c| expect.codes.contains(c)) {
            out.push(Finding::new(
                "expect.codes",
                "/errors",
                format!("one of {:?}", expect.codes),
                format!("{got:?}"),
                "the failure does not carry the documented error code",
            ));
        }
    }

    for (pointer, want) in &expect.json {
        match body_ref.pointer(pointer) {
            Some(got) if got == want => {}
            got => out.push(Finding::new(
                "expect.json",
                pointer.clone(),
                short(want),
                got.map_or("(missing)".to_string(), short),
                format!("the body does not hold the expected value at {pointer:?}"),
            )),
        }
    }
    for pointer in &expect.absent {
        if let Some(got) = body_ref.pointer(pointer) {
            out.push(Finding::new(
                "expect.absent",
                pointer.clone(),
                "(absent)",
                short(got),
                format!("{pointer:?} must not be in the answer"),
            ));
        }
    }
    for needle in &expect.excludes {
        if !needle.is_empty()
            && String::from_utf8_lossy(&ex.response.body).contains(needle.as_str())
        {
            out.push(Finding::new(
                "expect.excludes",
                "",
                format!("no {needle:?}"),
                format!("{needle:?} found"),
                format!("the answer must not contain {needle:?}"),
            ));
        }
    }
    for (pointer, format) in &expect.formats {
        let got = body_ref.pointer(pointer);
        if !got.is_some_and(|v| has_format(v, *format)) {
            out.push(Finding::new(
                "expect.format",
                pointer.clone(),
                format!("a {} value", format.name()),
                got.map_or("(missing)".to_string(), short),
                format!("the value at {pointer:?} is not a {}", format.name()),
            ));
        }
    }
    if !expect.holds.is_empty() {
        check_holds(body_ref, &expect.holds, &mut out);
    }
    if let Some(sent) = &expect.result_matches {
        check_result_matches(body_ref.get("result"), sent, &mut out);
    }
    out
}

fn has_format(v: &Value, format: Format) -> bool {
    let Some(s) = v.as_str() else {
        return false;
    };
    match format {
        Format::DateTime => {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        }
        Format::Pem => {
            let s = s.trim();
            s.starts_with("-----BEGIN ") && s.ends_with("-----") && s.contains("-----END ")
        }
        Format::String => !s.is_empty(),
    }
}

/// The ids a list must hold, judged only on an answer that shows the whole list: on a page
/// of a longer list, a missing id may be on another page.
fn check_holds(body: &Value, ids: &[String], out: &mut Vec<Finding>) {
    let Some(items) = body.get("result").and_then(Value::as_array) else {
        return;
    };
    let total = body
        .pointer("/result_info/total_count")
        .and_then(Value::as_u64);
    if total != Some(items.len() as u64) {
        return;
    }
    let listed: Vec<&str> = items
        .iter()
        .filter_map(|i| i.get("id").and_then(Value::as_str))
        .collect();
    for id in ids {
        if !listed.contains(&id.as_str()) {
            out.push(Finding::new(
                "expect.holds",
                "/result",
                format!("{id:?} listed"),
                format!("{} ids, not this one", listed.len()),
                format!(
                    "the whole list ({total:?} items) does not hold {id}, which the case created",
                    total = items.len()
                ),
            ));
        }
    }
}

fn check_result_matches(result: Option<&Value>, sent: &Value, out: &mut Vec<Finding>) {
    let (Some(Value::Object(result)), Some(sent)) = (result, sent.as_object()) else {
        out.push(Finding::new(
            "expect.result-matches-body",
            "/result",
            "an object echoing the request",
            result.map_or("(missing)".to_string(), kind),
            "no CustomCsr object to compare with the request",
        ));
        return;
    };
    for (field, want) in sent {
        match result.get(field) {
            Some(got) if got == want || (field == "sans" && same_items(got, want)) => {}
            got => out.push(Finding::new(
                "expect.result-matches-body",
                format!("/result/{field}"),
                short(want),
                got.map_or("(missing)".to_string(), short),
                format!("`{field}` must come back as it was sent"),
            )),
        }
    }
    if !sent.contains_key("key_type") && result.get("key_type") != Some(&Value::from("rsa2048")) {
        out.push(Finding::new(
            "expect.result-matches-body",
            "/result/key_type",
            "\"rsa2048\" (the default)",
            result
                .get("key_type")
                .map_or("(missing)".to_string(), short),
            "a create without key_type must default to rsa2048",
        ));
    }
    for field in CLIENT_FIELDS {
        if sent.contains_key(*field) || *field == "key_type" {
            continue;
        }
        match result.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(got) => out.push(Finding::new(
                "expect.result-matches-body",
                format!("/result/{field}"),
                "(absent: not sent)",
                short(got),
                format!("`{field}` was not sent, yet the answer has a value for it"),
            )),
        }
    }
}

/// The same items in any order: the documentation does not say a server keeps the order of
/// `sans` (the CSR's extension is compared as a list of names in any order too).
fn same_items(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_array(), b.as_array()) else {
        return false;
    };
    let sorted = |v: &[Value]| {
        let mut s: Vec<String> = v.iter().map(Value::to_string).collect();
        s.sort();
        s
    };
    sorted(a) == sorted(b)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Request, canned_exchange};
    use serde_json::json;

    fn ex(status: u16, body: Value) -> Exchange {
        let request = Request::new("POST", "/zones/z/custom_csrs");
        canned_exchange(request, status, None, body.to_string(), 0)
    }

    fn rules(f: &[Finding]) -> Vec<(&str, &str)> {
        f.iter()
            .map(|f| (f.rule.as_str(), f.pointer.as_str()))
            .collect()
    }

    #[test]
    fn status_json_absent_excludes() {
        let e = Resolved {
            status: Some(StatusSpec::Class(4)),
            json: vec![("/result/id".into(), json!("abc"))],
            absent: vec!["/result/name".into()],
            excludes: vec!["secret-ish".into()],
            ..Resolved::default()
        };
        let good = ex(404, json!({"result": {"id": "abc"}}));
        assert_eq!(rules(&check(&good, &e)), vec![]);
        let bad = ex(
            500,
            json!({"result": {"id": "abd", "name": "x secret-ish"}}),
        );
        assert_eq!(
            rules(&check(&bad, &e)),
            vec![
                ("expect.status", "status"),
                ("expect.json", "/result/id"),
                ("expect.absent", "/result/name"),
                ("expect.excludes", "")
            ]
        );
    }

    #[test]
    fn codes_only_when_strict() {
        let mut e = Resolved {
            codes: vec![1419],
            ..Resolved::default()
        };
        let body = ex(404, json!({"errors": [{"code": 1000}]}));
        assert_eq!(rules(&check(&body, &e)), vec![]);
        e.strict_codes = true;
        assert_eq!(rules(&check(&body, &e)), vec![("expect.codes", "/errors")]);
    }

    #[test]
    fn result_must_echo_exactly_the_sent_fields() {
        let sent = json!({"common_name": "a.b.net", "sans": ["a.b.net"], "key_type": "p256v1"});
        let e = Resolved {
            result_matches: Some(sent),
            ..Resolved::default()
        };
        let good = ex(
            201,
            json!({"result": {"id": "1", "common_name": "a.b.net", "sans": ["a.b.net"], "key_type": "p256v1", "organizational_unit": ""}}),
        );
        assert_eq!(rules(&check(&good, &e)), vec![]);
        let bad = ex(
            201,
            json!({"result": {"id": "1", "common_name": "A.b.net", "key_type": "p256v1", "locality": "X"}}),
        );
        assert_eq!(
            rules(&check(&bad, &e)),
            vec![
                ("expect.result-matches-body", "/result/common_name"),
                ("expect.result-matches-body", "/result/sans"),
                ("expect.result-matches-body", "/result/locality"),
            ]
        );
        // `sans` in another order is the same list of names; another name is not.
        let sent = json!({"sans": ["a.b.net", "c.b.net", "a.b.net"], "key_type": "p256v1"});
        let e = Resolved {
            result_matches: Some(sent),
            ..Resolved::default()
        };
        let reordered = ex(
            201,
            json!({"result": {"sans": ["c.b.net", "a.b.net", "a.b.net"], "key_type": "p256v1"}}),
        );
        assert_eq!(rules(&check(&reordered, &e)), vec![]);
        let one_lost = ex(
            201,
            json!({"result": {"sans": ["c.b.net", "a.b.net", "c.b.net"], "key_type": "p256v1"}}),
        );
        assert_eq!(
            rules(&check(&one_lost, &e)),
            vec![("expect.result-matches-body", "/result/sans")]
        );
    }

    #[test]
    fn formats_judge_the_shape_not_the_value() {
        let e = Resolved {
            formats: vec![
                ("/result/created_at".into(), Format::DateTime),
                ("/result/csr".into(), Format::Pem),
                ("/result/id".into(), Format::String),
            ],
            ..Resolved::default()
        };
        let good = ex(
            201,
            json!({"result": {"id": "x", "created_at": "2024-02-29T23:59:59.5Z",
                "csr": "-----BEGIN CERTIFICATE REQUEST-----\nMII=\n-----END CERTIFICATE REQUEST-----\n"}}),
        );
        assert_eq!(rules(&check(&good, &e)), vec![]);
        let bad = ex(
            201,
            json!({"result": {"id": "", "created_at": "2024-02-29 23:59", "csr": "MII="}}),
        );
        assert_eq!(
            rules(&check(&bad, &e)),
            vec![
                ("expect.format", "/result/created_at"),
                ("expect.format", "/result/csr"),
                ("expect.format", "/result/id"),
            ]
        );
    }

    #[test]
    fn holds_is_judged_only_on_the_whole_list() {
        let e = Resolved {
            holds: vec!["a".into()],
            ..Resolved::default()
        };
        let whole = |ids: &[&str]| {
            let items: Vec<Value> = ids.iter().map(|i| json!({"id": i})).collect();
            ex(
                200,
                json!({"result": items, "result_info": {"total_count": ids.len()}}),
            )
        };
        assert_eq!(rules(&check(&whole(&["b", "a"]), &e)), vec![]);
        assert_eq!(
            rules(&check(&whole(&["b", "c"]), &e)),
            vec![("expect.holds", "/result")]
        );
        // One page of a longer list: "a" may be on another page.
        let page = ex(
            200,
            json!({"result": [{"id": "b"}], "result_info": {"total_count": 7}}),
        );
        assert_eq!(rules(&check(&page, &e)), vec![]);
    }

    #[test]
    fn key_type_defaults_to_rsa2048() {
        let e = Resolved {
            result_matches: Some(json!({"common_name": "a"})),
            ..Resolved::default()
        };
        let bad = ex(
            201,
            json!({"result": {"common_name": "a", "key_type": "p256v1"}}),
        );
        assert_eq!(
            rules(&check(&bad, &e)),
            vec![("expect.result-matches-body", "/result/key_type")]
        );
    }
}
