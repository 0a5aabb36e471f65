//! Properties: pure functions from exchanges to findings, like every other check. They reuse
//! the envelope, schema, PEM, list and expectation checks and add only what is particular to
//! generated inputs (a valid create answers 201, an invalid one a 4xx, ...).

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cases::StatusSpec;
use crate::checks::{self, Operation, expect, list};
use crate::model::{Credentials, Exchange, Finding};
use crate::schemas::Schemas;

use super::declare::Check;
use super::lists::MAX_DOCUMENTED_PAGE;

/// What every generated exchange is judged by, as far as the property file asks: no 5xx, the
/// envelope (with `success` true exactly on 2xx), and the schema its operation implies.
pub fn universal(
    ex: &Exchange,
    checks: &[Check],
    schemas: Option<&Schemas>,
    creds: &Credentials,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if checks.contains(&Check::No5xx) {
        out.extend(no_5xx(ex));
    }
    if checks.contains(&Check::Envelope) {
        let secrets = ex.secrets_sent(creds);
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        out.extend(checks::envelope_family(ex, &refs));
    }
    if checks.contains(&Check::Schema)
        && let Some(s) = schemas
    {
        out.extend(schema(ex, s));
    }
    out
}

/// The schema family, except that list pages are compared with the page asked for only when
/// it is an ordinary page number (a server may clamp a page of 10^18).
fn schema(ex: &Exchange, schemas: &Schemas) -> Vec<Finding> {
    let is_list = matches!(
        checks::classify(&ex.request.method, &ex.request.path),
        Some((Operation::List, _))
    ) && (200..300).contains(&ex.response.status);
    if !is_list {
        return checks::schema_family(ex, schemas);
    }
    let Some(name) = checks::schema_for(ex) else {
        return Vec::new();
    };
    let Some(body) = ex.response.body_json() else {
        return checks::schema_family(ex, schemas);
    };
    let mut out = schemas.check(&name, body);
    let (page, per_page) = documented_paging(ex);
    out.extend(list::check_result_info(body, page, per_page));
    out
}

/// `page` and `per_page` of a list request, when they are documented values.
pub fn documented_paging(ex: &Exchange) -> (Option<u64>, Option<u64>) {
    let q = |k: &str| {
        ex.request
            .query
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<i64>().ok())
    };
    (
        q("page")
            .filter(|p| (1..=MAX_DOCUMENTED_PAGE).contains(p))
            .map(|p| p as u64),
        q("per_page")
            .filter(|p| (5..=50).contains(p))
            .map(|p| p as u64),
    )
}

pub fn no_5xx(ex: &Exchange) -> Option<Finding> {
    (ex.response.status >= 500).then(|| {
        Finding::new(
            "property.no-5xx",
            "status",
            "not 5xx",
            ex.response.status.to_string(),
            "the server failed on a generated request instead of answering it",
        )
    })
}

/// A valid create must answer 201.
pub fn created(ex: &Exchange) -> Option<Finding> {
    (ex.response.status != 201).then(|| {
        Finding::new(
            "property.created",
            "status",
            "201",
            format!("{} {}", ex.response.status, ex.response.excerpt(160)),
            "a create body that is valid under the documented contract was not accepted",
        )
    })
}

/// A create's result carries exactly the fields sent (the expectation check's
/// `result_matches_body`).
pub fn echo(ex: &Exchange, sent: &Value) -> Vec<Finding> {
    if !(200..300).contains(&ex.response.status) {
        return Vec::new();
    }
    let resolved = expect::Resolved {
        result_matches: Some(sent.clone()),
        ..expect::Resolved::default()
    };
    expect::check(ex, &resolved)
}

/// A get returns the object the create returned, field for field.
pub fn get_same(ex: &Exchange, created: &Value) -> Vec<Finding> {
    let resolved = expect::Resolved {
        status: Some(StatusSpec::Exact(200)),
        json: vec![("/result".into(), created.clone())],
        ..expect::Resolved::default()
    };
    expect::check(ex, &resolved)
        .into_iter()
        .map(|mut f| {
            f.rule = "property.get-same".into();
            f.message = format!("get after create: {}", f.message);
            f
        })
        .collect()
}

/// `created_at` lies within `[earliest, latest]` (the run's start and now, widened by the
/// allowed clock skew).
pub fn created_at(
    object: &Value,
    earliest: OffsetDateTime,
    latest: OffsetDateTime,
) -> Option<Finding> {
    let text = object.get("created_at")?.as_str()?;
    let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) else {
        return None; // the schema family reports a malformed date-time
    };
    let show = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    if at > latest {
        return Some(Finding::new(
            "property.created-at",
            "/result/created_at",
            format!("no later than {}", show(latest)),
            text,
            "created_at of a CSR this run just created is in the future",
        ));
    }
    (at < earliest).then(|| {
        Finding::new(
            "property.created-at",
            "/result/created_at",
            format!("no earlier than {}", show(earliest)),
            text,
            "created_at of a CSR this run just created is before the run started",
        )
    })
}

/// An invalid create is refused with a 4xx (the envelope check wants an error in it).
pub fn refused(ex: &Exchange) -> Option<Finding> {
    let s = ex.response.status;
    (!(400..500).contains(&s)).then(|| {
        Finding::new(
            "property.refused",
            "status",
            "4xx",
            format!("{s} {}", ex.response.excerpt(160)),
            "a create body that breaks a documented constraint was not refused with a 4xx",
        )
    })
}

/// Get or delete of an id nobody created: a 4xx, and a 404 for a well-formed UUID.
pub fn not_found(ex: &Exchange, well_formed_uuid: bool) -> Option<Finding> {
    let s = ex.response.status;
    if well_formed_uuid && s != 404 {
        return Some(Finding::new(
            "property.not-found",
            "status",
            "404",
            s.to_string(),
            "an id in the documented shape that nobody created must be 404 Not Found",
        ));
    }
    (!(400..500).contains(&s)).then(|| {
        Finding::new(
            "property.not-found",
            "status",
            "4xx",
            s.to_string(),
            "an id nobody created must not be found",
        )
    })
}

/// A request without valid credentials is refused with a 4xx.
pub fn auth_refused(ex: &Exchange) -> Option<Finding> {
    let s = ex.response.status;
    (!(400..500).contains(&s)).then(|| {
        Finding::new(
            "property.auth-refused",
            "status",
            "4xx",
            s.to_string(),
            "a request without valid credentials was not refused",
        )
    })
}

/// A list with documented parameters answers 200, on the page and with the page size asked
/// for (the list check's `result_info` rules with the requested values).
pub fn list_consistent(ex: &Exchange, page: Option<u64>, per_page: Option<u64>) -> Vec<Finding> {
    if ex.response.status != 200 {
        return vec![Finding::new(
            "property.list-consistent",
            "status",
            "200",
            format!("{} {}", ex.response.status, ex.response.excerpt(160)),
            "a list with documented parameters must answer 200",
        )];
    }
    let Some(body) = ex.response.body_json() else {
        return Vec::new(); // the envelope check reports it
    };
    // Only what the requested values add to the consistency the schema property checks.
    let plain = list::check_result_info(body, None, None);
    list::check_result_info(body, page, per_page)
        .into_iter()
        .filter(|f| !plain.contains(f))
        .collect()
}

/// The CSRs of `own` (id → sort key) appear on the page in the order asked for.
pub fn list_order(
    ex: &Exchange,
    own: &[(String, String)],
    order: &str,
    descending: bool,
) -> Option<Finding> {
    if ex.response.status != 200 {
        return None;
    }
    let body = ex.response.body_json()?;
    let items = body.get("result")?.as_array()?;
    list_order_of(items, own, order, descending)
}

/// [`list_order`] over `items` gathered from one page or several in a row.
pub fn list_order_of(
    items: &[Value],
    own: &[(String, String)],
    order: &str,
    descending: bool,
) -> Option<Finding> {
    let keys: Vec<(String, String)> = items
        .iter()
        .filter_map(|item| {
            let id = item.get("id")?.as_str()?;
            own.iter().any(|(o, _)| o == id).then(|| {
                let key = match order {
                    "created_at" => item
                        .get("created_at")
                        .and_then(Value::as_str)
                        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                        .map(|t| format!("{:024}", t.unix_timestamp_nanos()))
                        .unwrap_or_default(),
                    _ => own
                        .iter()
                        .find(|(o, _)| o == id)
                        .map(|(_, k)| k.clone())
                        .unwrap_or_default(),
                };
                (id.to_string(), key)
            })
        })
        .collect();
    let wrong = keys.windows(2).position(|w| {
        if descending {
            w[0].1 < w[1].1
        } else {
            w[0].1 > w[1].1
        }
    })?;
    let direction = if descending { "desc" } else { "asc" };
    Some(Finding::new(
        "property.list-order",
        "/result",
        format!("this run's CSRs by {order} {direction}"),
        format!("{} before {}", keys[wrong].0, keys[wrong + 1].0),
        format!(
            "the list is not sorted by {order} {direction}: two CSRs this run created are out of order"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Request, canned_exchange};
    use serde_json::json;

    fn ex(status: u16, body: Value) -> Exchange {
        canned_exchange(
            Request::new("GET", "/accounts/a/custom_csrs"),
            status,
            Some("application/json"),
            body.to_string(),
            1,
        )
    }

    #[test]
    fn statuses() {
        assert!(no_5xx(&ex(503, json!({}))).is_some());
        assert!(no_5xx(&ex(404, json!({}))).is_none());
        assert!(created(&ex(200, json!({}))).is_some());
        assert!(created(&ex(201, json!({}))).is_none());
        assert!(refused(&ex(201, json!({}))).is_some());
        assert!(refused(&ex(500, json!({}))).is_some());
        assert!(refused(&ex(400, json!({}))).is_none());
        assert!(not_found(&ex(400, json!({})), true).is_some());
        assert!(not_found(&ex(400, json!({})), false).is_none());
        assert!(not_found(&ex(200, json!({})), false).is_some());
        assert!(auth_refused(&ex(200, json!({}))).is_some());
        assert!(auth_refused(&ex(403, json!({}))).is_none());
    }

    #[test]
    fn created_at_must_fall_in_the_window() {
        let start = OffsetDateTime::parse("2024-01-01T00:00:00Z", &Rfc3339).unwrap();
        let end = OffsetDateTime::parse("2024-01-01T01:00:00Z", &Rfc3339).unwrap();
        let at = |t: &str| json!({ "created_at": t });
        assert!(created_at(&at("2024-01-01T00:30:00.123456Z"), start, end).is_none());
        assert!(created_at(&at("2024-01-01T02:00:00Z"), start, end).is_some());
        assert!(created_at(&at("2023-12-31T23:00:00Z"), start, end).is_some());
    }

    #[test]
    fn order_of_own_csrs() {
        let page = |ids: &[&str]| {
            ex(
                200,
                json!({"result": ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>()}),
            )
        };
        let own = vec![
            ("a".to_string(), "n1".to_string()),
            ("b".to_string(), "n2".to_string()),
        ];
        assert!(list_order(&page(&["x", "a", "y", "b"]), &own, "name", false).is_none());
        assert!(list_order(&page(&["b", "a"]), &own, "name", false).is_some());
        assert!(list_order(&page(&["b", "x", "a"]), &own, "name", true).is_none());
    }

    #[test]
    fn list_consistency_adds_only_the_requested_values() {
        let body = json!({"success": true, "errors": [], "messages": [], "result": [{}, {}],
            "result_info": {"page": 1, "per_page": 20, "count": 2, "total_count": 2, "total_pages": 1}});
        let e = ex(200, body);
        assert!(list_consistent(&e, Some(1), Some(20)).is_empty());
        let f = list_consistent(&e, Some(2), Some(10));
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(list_consistent(&ex(400, json!({})), None, None).len(), 1);
    }
}
