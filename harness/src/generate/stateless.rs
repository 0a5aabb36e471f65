//! One generated case per request (or per create-get-delete): what each generator sends and
//! which properties judge the answers.

use serde_json::{Value, json};

use crate::checks;
use crate::model::{Body, Request};
use crate::session::body_json;
use crate::template::encode_segment;

use super::auth::{AuthInput, AuthOp};
use super::bodies::{CreateBody, CreateInput};
use super::case::{CaseResult, Ctx, Ran, run_cases};
use super::declare::Check;
use super::ids::{IdInput, IdShape};
use super::lists::ListInput;
use super::properties;

fn create_request(ctx: &Ctx, input: &CreateInput) -> Request {
    let mut r = ctx.request("POST", ctx.collection(&ctx.scope));
    r.body = Some(match &input.body {
        CreateBody::Json(v) => Body::Json(v.clone()),
        CreateBody::Raw(bytes) => Body::Raw {
            content_type: Some("application/json".into()),
            bytes: bytes.clone(),
        },
    });
    r
}

fn item_path(ctx: &Ctx, id: &str) -> String {
    format!("{}/{}", ctx.collection(&ctx.scope), encode_segment(id))
}

fn created_id(ex: &crate::model::Exchange) -> Option<String> {
    if !(200..300).contains(&ex.response.status) {
        return None;
    }
    body_json(ex)?
        .pointer("/result/id")?
        .as_str()
        .map(String::from)
}

/// Deletes what a case created, so that the next case (and the model of a later sequence)
/// starts from the same state. Not judged: the session's cleanup retries what fails.
fn delete_quietly(ctx: &Ctx, r: &mut CaseResult, id: &str) {
    let req = ctx.request("DELETE", item_path(ctx, id));
    if let Ok(ex) = ctx.session.send_generated(&req) {
        r.exchanges.push(ex);
    }
}

/// A valid create answers 201 and echoes what was sent, its PEM agrees with it, a get
/// returns the same object, and `created_at` is now.
pub fn valid_create(ctx: &Ctx, input: &CreateInput) -> CaseResult {
    let mut r = CaseResult::default();
    let CreateBody::Json(sent) = &input.body else {
        return r;
    };
    let Some(ex) = r.send(ctx, &create_request(ctx, input)) else {
        return r;
    };
    if ctx.checks(Check::Created) {
        r.add(&ex, properties::created(&ex));
    }
    if ctx.checks(Check::Echo) {
        r.add(&ex, properties::echo(&ex, sent));
    }
    if ctx.checks(Check::Pem) {
        r.add(&ex, checks::pem_family(&ex));
    }
    let Some(id) = created_id(&ex) else {
        return r;
    };
    let result = body_json(&ex)
        .and_then(|b| b.get("result").cloned())
        .unwrap_or(Value::Null);
    if ctx.checks(Check::CreatedAt) {
        let (earliest, latest) = ctx.created_window();
        r.add(&ex, properties::created_at(&result, earliest, latest));
    }
    if ctx.checks(Check::GetSame)
        && let Some(got) = r.send(ctx, &ctx.request("GET", item_path(ctx, &id)))
    {
        r.add(&got, properties::get_same(&got, &result));
        // The same object as the create's answer has had its PEM judged already.
        let same = body_json(&got).and_then(|b| b.get("result")) == Some(&result);
        if ctx.checks(Check::Pem) && !same {
            r.add(&got, checks::pem_family(&got));
        }
    }
    delete_quietly(ctx, &mut r, &id);
    r
}

/// A body breaking one documented constraint is refused with a 4xx.
pub fn invalid_create(ctx: &Ctx, input: &CreateInput) -> CaseResult {
    let mut r = CaseResult::default();
    let Some(ex) = r.send(ctx, &create_request(ctx, input)) else {
        return r;
    };
    if ctx.checks(Check::Refused) {
        r.add(&ex, properties::refused(&ex));
    }
    if let Some(id) = created_id(&ex) {
        delete_quietly(ctx, &mut r, &id);
    }
    r
}

/// Where the contract is silent only the universal properties apply.
pub fn unspecified_create(ctx: &Ctx, input: &CreateInput) -> CaseResult {
    let mut r = CaseResult::default();
    let Some(ex) = r.send(ctx, &create_request(ctx, input)) else {
        return r;
    };
    if let Some(id) = created_id(&ex) {
        delete_quietly(ctx, &mut r, &id);
    }
    r
}

/// Get or delete of an id nobody created is never found.
pub fn id_case(ctx: &Ctx, input: &IdInput) -> CaseResult {
    let mut r = CaseResult::default();
    let path = format!("{}/{}", ctx.collection(&ctx.scope), input.segment());
    let request = ctx.request(input.method, path);
    if !input.path_is_literal() {
        // It may reach the collection (a list) or the scope: no operation's rules apply.
        r.send_to_any_route(ctx, &request);
        return r;
    }
    let Some(ex) = r.send(ctx, &request) else {
        return r;
    };
    if ctx.checks(Check::NotFound) {
        let uuid = matches!(input.id, IdShape::Uuid(_));
        r.add(&ex, properties::not_found(&ex, uuid));
    }
    r
}

/// Broken credentials and near misses are refused on every operation; the configured ones
/// are accepted.
pub fn auth_case(ctx: &Ctx, input: &AuthInput) -> CaseResult {
    let mut r = CaseResult::default();
    let id = uuid::Uuid::from_u128(input.id).to_string();
    let mut req = match input.op {
        AuthOp::List => Request::new("GET", ctx.collection(&ctx.scope)),
        AuthOp::Get => Request::new("GET", item_path(ctx, &id)),
        AuthOp::Delete => Request::new("DELETE", item_path(ctx, &id)),
        AuthOp::Create => {
            let mut c = Request::new("POST", ctx.collection(&ctx.scope));
            c.body = Some(Body::Json(json!({
                "country": "PT", "state": "Lisboa", "locality": "Lisboa",
                "organization": "csr-conformance", "common_name": "auth.csr-conformance.net",
                "sans": ["auth.csr-conformance.net"], "key_type": "p256v1",
            })));
            c
        }
    };
    // A credential made from one that is not configured is skipped, not faked.
    let Some(headers) = input.credential.headers(&ctx.creds) else {
        return r;
    };
    req.headers = headers;
    let Some(ex) = r.send(ctx, &req) else {
        return r;
    };
    if ctx.checks(Check::AuthRefused) {
        r.add(&ex, super::auth::judge(&input.credential, &ex));
    }
    if let Some(created) = created_id(&ex) {
        delete_quietly(ctx, &mut r, &created);
    }
    r
}

/// This run's CSRs for the order property: created one after another, named so that name
/// order is the reverse of creation order.
const OWN: usize = 3;

/// Lists with generated parameters: documented ones are honoured (status, page, per_page,
/// order and direction over this run's CSRs); any answer is an envelope and never a 5xx.
pub fn list_property(ctx: &Ctx, trial: &str, cases: u32) -> Ran {
    let mut setup = CaseResult::default();
    let mut own: Vec<(String, String)> = Vec::new();
    if !ctx.read_only && ctx.checks(Check::ListOrder) {
        let _hold = ctx.hold();
        for i in 0..OWN {
            let name = format!("csr-conformance-order-{}", (b'c' - i as u8) as char);
            let host = format!("order-{i}.csr-conformance.net");
            let mut body = json!({
                "country": "PT", "state": "Lisboa", "locality": "Lisboa",
                "organization": "csr-conformance", "common_name": host,
                "sans": [host], "key_type": "p256v1",
            });
            if ctx.account {
                body["name"] = json!(name);
            }
            let mut req = ctx.request("POST", ctx.collection(&ctx.scope));
            req.body = Some(Body::Json(body));
            if let Some(ex) = setup.send(ctx, &req)
                && let Some(id) = created_id(&ex)
            {
                own.push((id, name));
            }
        }
    }
    if !setup.findings.is_empty() || setup.error.is_some() {
        let ran = Ran {
            verdict: match setup.error {
                Some(e) => crate::model::Verdict::Error(e),
                None => crate::model::Verdict::Failure(setup.findings),
            },
            exchanges: setup.exchanges,
            notes: vec![(
                "setup".into(),
                "creating this run's CSRs for the order property failed".into(),
            )],
        };
        let _hold = ctx.hold();
        for (id, _) in &own {
            let mut r = CaseResult::default();
            delete_quietly(ctx, &mut r, id);
        }
        return ran;
    }
    let ran = run_cases(
        ctx,
        trial,
        cases,
        Vec::new(),
        super::lists::inputs(),
        |ctx, input| list_case(ctx, input, &own),
    );
    let _hold = ctx.hold();
    for (id, _) in &own {
        let mut r = CaseResult::default();
        delete_quietly(ctx, &mut r, id);
    }
    ran
}

fn list_case(ctx: &Ctx, input: &ListInput, own: &[(String, String)]) -> CaseResult {
    let mut r = CaseResult::default();
    let mut req = ctx.request("GET", ctx.collection(&ctx.scope));
    req.query = input.query();
    let Some(ex) = r.send(ctx, &req) else {
        return r;
    };
    if !input.documented(ctx.account) {
        return r;
    }
    if ctx.checks(Check::ListConsistent) {
        let page = input.documented_page().flatten();
        let per_page = input.documented_per_page().flatten();
        r.add(&ex, properties::list_consistent(&ex, page, per_page));
    }
    // The spec's defaults are created_at, asc; sort parameters are documented for accounts.
    if ctx.checks(Check::ListOrder) && ctx.account && own.len() > 1 {
        let order = input.order.unwrap_or("created_at");
        let descending = input.direction == Some("desc");
        if order != "account_tag" {
            r.add(&ex, properties::list_order(&ex, own, order, descending));
        }
    }
    r
}
