//! One generated case per request (or per create-get-delete): what each generator sends and
//! which properties judge the answers.

use serde_json::{Value, json};

use crate::checks;
use crate::model::{Body, Exchange, Finding, Request};
use crate::rules;
use crate::session::body_json;
use crate::template::encode_segment;

use super::auth::{AuthInput, AuthOp};
use super::bodies::{CreateBody, CreateInput};
use super::case::{CaseResult, Ctx, Ran, run_cases};
use super::coverage;
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
    let echoed = ctx.checks(Check::Echo).then(|| {
        let found = properties::echo(&ex, sent);
        let echoed = found.is_empty();
        r.add(&ex, found);
        echoed
    });
    r.add(
        &ex,
        coverage::judge_valid_create(&ex, sent, ctx.account, echoed),
    );
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
        let found = properties::created_at(&result, earliest, latest);
        let parsed = result
            .get("created_at")
            .and_then(Value::as_str)
            .is_some_and(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .is_ok()
            });
        rules::exercised("field.created_at", parsed && found.is_none());
        r.add(&ex, found);
    }
    if ctx.checks(Check::GetSame)
        && let Some(got) = r.send(ctx, &ctx.request("GET", item_path(ctx, &id)))
    {
        let found = properties::get_same(&got, &result);
        rules::exercised("state.get-after-create", found.is_empty());
        r.add(&got, found);
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
        let strict = ctx.session.settings.strict;
        r.add(&ex, coverage::judge_refusal(&ex, input, strict));
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
        let found = properties::not_found(&ex, uuid);
        let refused = found.is_none();
        r.add(&ex, found);
        match &input.id {
            IdShape::Uuid(_) => {
                let code = coverage::error_codes(&ex).contains(&1419);
                rules::exercised("code.1419", refused && code);
                if refused && !code && ctx.session.settings.strict {
                    r.add(
                        &ex,
                        [not_documented(&ex, "1419", "an unknown custom CSR id")],
                    );
                }
            }
            IdShape::Text(t) if t.chars().count() > 36 => {
                rules::exercised("code.1418", refused);
            }
            _ => {}
        }
    }
    r
}

fn not_documented(ex: &Exchange, code: &str, what: &str) -> Finding {
    Finding::new(
        "code.1419",
        "/errors/0/code",
        code,
        format!("{:?}", coverage::error_codes(ex)),
        format!("{what}: refused, but not with the documented error code"),
    )
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
/// When `fixed`, the deterministic list coverage runs first (`coverage_list`).
pub fn list_property(ctx: &Ctx, trial: &str, cases: u32, fixed: bool) -> Ran {
    let mut setup = CaseResult::default();
    let mut own: Vec<(String, String)> = Vec::new();
    // Sort parameters are documented for accounts only.
    let fits = crate::budget::fits(trial, super::coverage_list::COST + 2 * OWN as u64);
    if !ctx.read_only && ctx.account && ctx.checks(Check::ListOrder) && fits {
        let _hold = ctx.hold();
        for i in 0..OWN {
            let name = format!("csr-conformance-order-{}", (b'c' - i as u8) as char);
            let mut req = ctx.request("POST", ctx.collection(&ctx.scope));
            req.body = Some(Body::Json(super::bodies::small_named(
                &format!("order-{i}"),
                &name,
                ctx.account,
            )));
            if let Some(ex) = setup.send(ctx, &req)
                && let Some(id) = created_id(&ex)
            {
                own.push((id, name));
            }
        }
    }
    let teardown = |own: &[(String, String)]| {
        let _hold = ctx.hold();
        for (id, _) in own {
            let mut r = CaseResult::default();
            delete_quietly(ctx, &mut r, id);
        }
    };
    let fits = crate::budget::fits(trial, super::coverage_list::COST);
    let mut failed_at = None;
    if fixed && fits && setup.findings.is_empty() && setup.error.is_none() {
        let (phase, at) = super::coverage_list::run(ctx, &own);
        failed_at = at;
        setup.exchanges.extend(phase.exchanges);
        setup.findings.extend(phase.findings);
        setup.error = phase.error;
    }
    crate::budget::fixed_done(trial);
    if !setup.findings.is_empty() || setup.error.is_some() {
        let ran = Ran {
            verdict: match setup.error {
                Some(e) => crate::model::Verdict::Error(e),
                None => crate::model::Verdict::Failure(setup.findings),
            },
            exchanges: setup.exchanges,
            notes: {
                let input = failed_at
                    .unwrap_or_else(|| format!("create this run's {OWN} CSRs, one after another"));
                vec![
                    ("minimal input".into(), input.clone()),
                    ("original input".into(), input),
                    (
                        "cases".into(),
                        "failed in the fixed list cases (the deterministic coverage of the \
                         contract: this run's CSRs created one after another, each documented \
                         order and direction walked, page sizes 5, 50 and the default, page 1, \
                         the last page and the one past it)"
                            .into(),
                    ),
                ]
            },
        };
        teardown(&own);
        return ran;
    }
    let ran = run_cases(
        ctx,
        trial,
        cases,
        Vec::new(),
        super::lists::inputs(),
        crate::budget::guard(trial, (0, 0), 1, |ctx, input| list_case(ctx, input, &own)),
    );
    teardown(&own);
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
