//! Checks: pure functions from exchanges to findings, one module per family.

pub mod envelope;
pub mod expect;
pub mod list;
pub mod pem;

use serde_json::Value;

use crate::cases::ScopeKind;
use crate::model::{Exchange, Finding};
use crate::rules;
use crate::schemas::Schemas;

/// The operations of the Custom CSR API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    List,
    Create,
    Get,
    Delete,
}

/// Recognises an operation from a request's method and path (relative to the base URL):
/// `/{accounts|zones}/{id}/custom_csrs[/{custom_csr_id}]`. A path with an empty segment
/// (`…/custom_csrs/`, `…//…`) is no operation: the documentation says nothing of it, and a
/// correct server may answer it as the collection or as an unknown route.
pub fn classify(method: &str, path: &str) -> Option<(Operation, ScopeKind)> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let kind = match *segments.first()? {
        "accounts" => ScopeKind::Account,
        "zones" => ScopeKind::Zone,
        _ => return None,
    };
    let op = match (method, segments.as_slice()) {
        ("GET", [_, _, "custom_csrs"]) => Operation::List,
        ("POST", [_, _, "custom_csrs"]) => Operation::Create,
        ("GET", [_, _, "custom_csrs", id]) if !id.is_empty() => Operation::Get,
        ("DELETE", [_, _, "custom_csrs", id]) if !id.is_empty() => Operation::Delete,
        _ => return None,
    };
    Some((op, kind))
}

/// The schema an answer must satisfy: the operation's success schema on 2xx, the failure
/// envelope otherwise. `None` when the request is no known operation and failed anyway.
pub fn schema_for(ex: &Exchange) -> Option<String> {
    let status = ex.response.status;
    if !(200..300).contains(&status) {
        return Some("failure".into());
    }
    let (op, kind) = classify(&ex.request.method, &ex.request.path)?;
    let scope = match kind {
        ScopeKind::Account => "account",
        ScopeKind::Zone => "zone",
    };
    Some(match op {
        Operation::List => format!("list.{scope}"),
        Operation::Create | Operation::Get => format!("single.{scope}"),
        Operation::Delete => "delete".into(),
    })
}

/// The schema family on one exchange: the implied schema, plus list consistency.
pub fn schema_family(ex: &Exchange, schemas: &Schemas) -> Vec<Finding> {
    let Some(name) = schema_for(ex) else {
        return Vec::new();
    };
    let Some(body) = ex.response.body_json() else {
        return vec![Finding::new(
            "schema.json",
            "",
            format!("a JSON body for {name}.json"),
            ex.response.excerpt(80),
            "the body is not JSON, so it cannot satisfy its schema",
        )];
    };
    let mut out = schemas.check(&name, body);
    out.retain(|f| !echoes_the_country_sent(ex, f));
    if name.starts_with("list.") {
        let q = |k: &str| {
            ex.request
                .query
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse().ok())
        };
        out.extend(list::check_result_info(body, q("page"), q("per_page")));
    }
    out
}

/// A create answer's `country` that is not an ISO code, but is the country the request sent:
/// the documentation does not say a server must refuse such a country, and one that accepts
/// it echoes it (as the emulator's lenient and default readings do), so the format is the
/// request's and not the server's to answer for.
fn echoes_the_country_sent(ex: &Exchange, f: &Finding) -> bool {
    if f.rule != "schema.format" || f.pointer != "/result/country" {
        return false;
    }
    let Some(crate::model::Body::Json(sent)) = &ex.request.body else {
        return false;
    };
    matches!(
        classify(&ex.request.method, &ex.request.path),
        Some((Operation::Create, _))
    ) && sent
        .get("country")
        .is_some_and(|c| c.is_string() && serde_json::to_string(c).is_ok_and(|t| t == f.actual))
}

/// Where the CustomCsr objects of an answer are: `/result` for create/get, each list item.
pub fn csr_objects(ex: &Exchange) -> Vec<(String, Value)> {
    if !(200..300).contains(&ex.response.status) {
        return Vec::new();
    }
    let Some((op, _)) = classify(&ex.request.method, &ex.request.path) else {
        return Vec::new();
    };
    let Some(body) = ex.response.body_json() else {
        return Vec::new();
    };
    match (op, body.get("result")) {
        (Operation::Create | Operation::Get, Some(r @ Value::Object(_))) => {
            vec![("/result".into(), r.clone())]
        }
        (Operation::List, Some(Value::Array(items))) => items
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_object())
            .map(|(i, v)| (format!("/result/{i}"), v.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The PEM family on one exchange; what it compared goes into the rules ledger.
pub fn pem_family(ex: &Exchange) -> Vec<Finding> {
    let mut out = Vec::new();
    for (pointer, obj) in csr_objects(ex) {
        let found = pem::check_custom_csr(&obj, &pointer);
        record_pem(&obj, &found);
        out.extend(found);
    }
    out
}

/// The envelope family on one exchange (`secrets`: the credential values it carried); what it
/// compared goes into the rules ledger.
pub fn envelope_family(ex: &Exchange, secrets: &[&str]) -> Vec<Finding> {
    let found = envelope::check(ex, secrets);
    let held = |prefix: &str| !found.iter().any(|f| f.rule.starts_with(prefix));
    rules::exercised("envelope.content-type", held("envelope.content-type"));
    if !secrets.is_empty() {
        rules::exercised(
            "envelope.no-credential-echo",
            held("envelope.no-credential-echo"),
        );
    }
    let shape_held = found
        .iter()
        .all(|f| f.rule == "envelope.content-type" || f.rule == "envelope.no-credential-echo");
    let shape = if (200..300).contains(&ex.response.status) {
        "envelope.success"
    } else {
        "envelope.failure"
    };
    rules::exercised(shape, shape_held);
    found
}

/// Records the PEM rules one CustomCsr was compared with: that its `csr` parses, and when it
/// did, each agreement the object gave a field for.
fn record_pem(obj: &Value, found: &[Finding]) {
    if obj.get("csr").is_none() {
        return;
    }
    let held = |rule: &str| !found.iter().any(|f| f.rule == rule);
    let parsed = held(pem::RULE_PRESENT) && held(pem::RULE_BLOCK) && held(pem::RULE_DER);
    rules::exercised("pem.parses", parsed);
    if !parsed {
        return;
    }
    rules::exercised("pem.signature", held(pem::signature::RULE_SIGNATURE));
    let has = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    if has("common_name") {
        rules::exercised("pem.common-name", held(pem::agreement::RULE_COMMON_NAME));
    }
    if [
        "country",
        "state",
        "locality",
        "organization",
        "organizational_unit",
    ]
    .iter()
    .any(|k| has(k))
    {
        rules::exercised("pem.subject", held(pem::agreement::RULE_SUBJECT));
    }
    if has("sans") {
        rules::exercised("pem.sans", held(pem::agreement::RULE_SANS));
    }
    if has("key_type") {
        rules::exercised("pem.key-type", held(pem::agreement::RULE_KEY_TYPE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_answer_echoing_the_country_sent_is_not_the_servers_format_error() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
        let schemas = Schemas::load_dir(&dir).unwrap_or_else(|e| panic!("{e:?}"));
        let answer = |country: &str| {
            serde_json::json!({"success": true, "errors": [], "messages": [], "result": {
                "id": "7b163417-1d2b-4c84-a38a-2fb7a0cd7752", "key_type": "p256v1",
                "created_at": "2026-01-15T10:30:00Z", "common_name": "a.example.net",
                "country": country, "sans": ["a.example.net"]}})
            .to_string()
        };
        let create = |sent: &str, echoed: &str| {
            let mut req = crate::model::Request::new("POST", "/zones/z/custom_csrs");
            req.body = Some(crate::model::Body::Json(
                serde_json::json!({"country": sent}),
            ));
            crate::model::canned_exchange(req, 201, None, answer(echoed), 1)
        };
        let pointers = |ex: &Exchange| {
            schema_family(ex, &schemas)
                .into_iter()
                .map(|f| f.pointer)
                .collect::<Vec<_>>()
        };
        assert_eq!(pointers(&create("us", "us")), Vec::<String>::new());
        assert_eq!(pointers(&create("US", "XX")), vec!["/result/country"]);
        let get = crate::model::canned_exchange(
            crate::model::Request::new("GET", "/zones/z/custom_csrs/x"),
            200,
            None,
            answer("us"),
            1,
        );
        assert_eq!(pointers(&get), vec!["/result/country"]);
    }

    #[test]
    fn classifies_operations() {
        use Operation::*;
        assert_eq!(
            classify("GET", "/zones/z/custom_csrs"),
            Some((List, ScopeKind::Zone))
        );
        assert_eq!(
            classify("POST", "/accounts/a/custom_csrs"),
            Some((Create, ScopeKind::Account))
        );
        assert_eq!(
            classify("GET", "/accounts/a/custom_csrs/x"),
            Some((Get, ScopeKind::Account))
        );
        assert_eq!(
            classify("DELETE", "/zones/z/custom_csrs/x"),
            Some((Delete, ScopeKind::Zone))
        );
        assert_eq!(classify("PUT", "/zones/z/custom_csrs/x"), None);
        assert_eq!(classify("GET", "/users/z/custom_csrs"), None);
        assert_eq!(classify("GET", "/zones/z/custom_csrs/x/y"), None);
        // A trailing slash or an empty segment is no documented operation: a correct server
        // may answer `…/custom_csrs/` with the list, so no single-object schema applies.
        assert_eq!(classify("GET", "/zones/z/custom_csrs/"), None);
        assert_eq!(classify("DELETE", "/zones/z/custom_csrs/"), None);
        assert_eq!(classify("GET", "/zones//custom_csrs"), None);
    }
}
