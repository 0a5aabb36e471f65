//! The deterministic coverage of the list parameters, which needs state: every documented
//! `order` × `direction` over this run's own CSRs (accounts only), walking the pages until all
//! of them are seen, whatever else the scope holds; `per_page` at 5, 50 and the default;
//! page 1, the last page and the one past it. Runs with the scope held alone, so that no
//! other trial's create or delete moves the pages under it.

use serde_json::Value;

use crate::cases::AuthMode;
use crate::holds::Use;
use crate::model::{Exchange, Request};
use crate::rules;
use crate::session::{auth_headers, body_json};

use super::case::{CaseResult, Ctx};
use super::coverage::record_credentials;
use super::declare::Check;
use super::lists::{DIRECTIONS, ORDERS};
use super::properties;

/// What the phase sends when every walk takes one page.
pub const COST: u64 = 6 + 3;
/// Pages one walk reads at most, so a list that never ends cannot hold the run.
const MAX_WALK_PAGES: u64 = 200;
/// The page size of the order walks (the documented maximum: fewest requests).
const WALK_PER_PAGE: u64 = 50;
/// The page size of the paging checks (the documented minimum: most pages).
const SMALL_PAGE: u64 = 5;
/// The most a page holds without `per_page`.
const MAX_PER_PAGE: u64 = 50;

fn list(ctx: &Ctx, query: &[(&str, String)]) -> Request {
    let mut req = ctx.request("GET", ctx.collection(&ctx.scope));
    req.query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    req
}

fn items(ex: &Exchange) -> Vec<Value> {
    body_json(ex)
        .and_then(|b| b.get("result"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn info(ex: &Exchange, field: &str) -> Option<u64> {
    body_json(ex)
        .and_then(|b| b.get("result_info"))
        .and_then(|i| i.get(field))
        .and_then(Value::as_u64)
}

/// Sends a list with documented parameters and judges it by `list_consistent`; whether the
/// answer was a consistent 200.
fn judged(
    ctx: &Ctx,
    r: &mut CaseResult,
    req: &Request,
    page: Option<u64>,
    per_page: Option<u64>,
) -> Option<(Exchange, bool)> {
    let before = r.findings.len();
    let ex = r.send(ctx, req)?;
    record_credentials(&ex);
    if ctx.checks(Check::ListConsistent) {
        r.add(&ex, properties::list_consistent(&ex, page, per_page));
    }
    let ok = ex.response.status == 200 && r.findings.len() == before;
    Some((ex, ok))
}

/// Runs the list phase; `own` holds this run's CSRs (id, name), created one after another.
/// Also says which list failed first, as a report's minimal input.
pub fn run(ctx: &Ctx, own: &[(String, String)]) -> (CaseResult, Option<String>) {
    let mut r = CaseResult::default();
    let mut failed: Option<String> = None;
    let mut mark = |r: &CaseResult, before: usize, what: String| {
        if failed.is_none() && (r.findings.len() > before || r.error.is_some()) {
            failed = Some(what);
        }
    };
    let _alone = ctx.session.hold_scope(ctx.scope_idx, Use::Alone);
    if ctx.account && own.len() > 1 && ctx.checks(Check::ListOrder) {
        for order in ORDERS {
            for direction in DIRECTIONS {
                let before = r.findings.len();
                let went_on = walk_in_order(ctx, &mut r, own, order, direction);
                let what = if *order == "created_at" && *direction == "asc" {
                    "list with no parameters (created_at, asc)".to_string()
                } else {
                    format!("list per_page=\"50\" order={order:?} direction={direction:?}")
                };
                mark(
                    &r,
                    before,
                    format!(
                        "{what}, page after page until this run's {} CSRs were all seen",
                        own.len()
                    ),
                );
                if !went_on {
                    return (r, failed);
                }
            }
        }
    } else {
        // Without the order walks, which cover them: the default page size (with an email
        // and key, when the run has them beside a token) and 50.
        let before = r.findings.len();
        let mut req = list(ctx, &[]);
        with_email_key(ctx, &mut req);
        let first = judged(ctx, &mut r, &req, None, None);
        if let Some((ex, ok)) = &first {
            rules::exercised("list.per_page.default", *ok && within_default(ex));
        }
        mark(&r, before, "list with no parameters".into());
        if first.is_none() {
            return (r, failed);
        }
        let before = r.findings.len();
        let q = [("per_page", WALK_PER_PAGE.to_string())];
        let fifty = judged(ctx, &mut r, &list(ctx, &q), None, Some(WALK_PER_PAGE));
        if let Some((ex, ok)) = &fifty {
            let fits = items(ex).len() as u64 <= WALK_PER_PAGE;
            rules::exercised("list.per_page.50", *ok && fits);
        }
        mark(&r, before, "list per_page=\"50\"".into());
        if fifty.is_none() {
            return (r, failed);
        }
    }
    let before = r.findings.len();
    paging(ctx, &mut r);
    mark(
        &r,
        before,
        "list page=\"1\" per_page=\"5\", then the last page and the one past it".into(),
    );
    (r, failed)
}

/// Sends `req` with the configured email and key instead of the token, when the run has both.
fn with_email_key(ctx: &Ctx, req: &mut Request) {
    if ctx.creds.token.is_some()
        && let Ok(h) = auth_headers(AuthMode::EmailKey, &ctx.creds)
    {
        req.headers = h;
    }
}

/// Whether a list without `per_page` kept to the documented maximum page size.
fn within_default(ex: &Exchange) -> bool {
    items(ex).len() as u64 <= MAX_PER_PAGE && info(ex, "per_page").is_none_or(|p| p <= MAX_PER_PAGE)
}

/// Walks the list in one order until every CSR of `own` was seen, and judges their order.
/// `created_at` ascending is asked for with no parameter but the page (the documented
/// defaults, also of `per_page`); the first walk with an email and key, when the run has
/// them beside a token, verifies that scheme too. False when the walk could not go on.
fn walk_in_order(
    ctx: &Ctx,
    r: &mut CaseResult,
    own: &[(String, String)],
    order: &str,
    direction: &str,
) -> bool {
    let defaults = order == "created_at" && direction == "asc";
    let mut seen: Vec<Value> = Vec::new();
    let mut held = true;
    for page in 1..=MAX_WALK_PAGES {
        let mut query = Vec::new();
        if page > 1 {
            query.push(("page", page.to_string()));
        }
        if !defaults {
            query.push(("per_page", WALK_PER_PAGE.to_string()));
            query.push(("order", order.to_string()));
            query.push(("direction", direction.to_string()));
        }
        let mut req = list(ctx, &query);
        let email_key = order == "name" && direction == "asc" && page == 1;
        if email_key {
            with_email_key(ctx, &mut req);
        }
        let per_page = (!defaults).then_some(WALK_PER_PAGE);
        let Some((ex, ok)) = judged(ctx, r, &req, Some(page), per_page) else {
            return false;
        };
        held &= ok;
        if page == 1 {
            if defaults {
                rules::exercised("list.per_page.default", ok && within_default(&ex));
            } else {
                let size_ok = items(&ex).len() as u64 <= WALK_PER_PAGE;
                rules::exercised("list.per_page.50", ok && size_ok);
            }
        }
        let page_items = items(&ex);
        if ex.response.status != 200 || page_items.is_empty() {
            break;
        }
        seen.extend(page_items);
        let all_seen = own.iter().all(|(id, _)| {
            seen.iter()
                .any(|i| i.get("id").and_then(Value::as_str) == Some(id))
        });
        if all_seen {
            break;
        }
    }
    let descending = direction == "desc";
    let keyed: Vec<(String, String)> = own
        .iter()
        .map(|(id, name)| {
            let key = match order {
                "name" => name.clone(),
                // Each CSR's own value as listed: every CSR of an account carries its tag,
                // so any order of equal tags holds.
                _ => seen
                    .iter()
                    .find(|i| i.get("id").and_then(Value::as_str) == Some(id))
                    .and_then(|i| i.get("account_tag"))
                    .map(|t| t.as_str().unwrap_or_default().to_string())
                    .unwrap_or_default(),
            };
            (id.clone(), key)
        })
        .collect();
    let found = properties::list_order_of(&seen, &keyed, order, descending);
    let all_listed = own.iter().all(|(id, _)| {
        seen.iter()
            .filter(|i| i.get("id").and_then(Value::as_str) == Some(id))
            .count()
            == 1
    });
    rules::exercised(
        &format!("list.order.{order}.{direction}"),
        held && found.is_none() && all_listed,
    );
    if let Some(mut f) = found {
        f.message = format!("{} (walking the pages of the list)", f.message);
        r.note(f);
    }
    if !all_listed {
        r.note(crate::model::Finding::new(
            "property.list-order",
            "/result",
            "each of this run's CSRs listed once",
            format!("{} of {} found", own.len(), seen.len()),
            format!(
                "walking the list by {order} {direction}, this run's CSRs were not each listed once"
            ),
        ));
    }
    true
}

/// Page 1, the last page and the page past it, 5 to a page.
fn paging(ctx: &Ctx, r: &mut CaseResult) {
    let small = SMALL_PAGE.to_string();
    let q = [("page", "1".to_string()), ("per_page", small.clone())];
    let Some((first, ok)) = judged(ctx, r, &list(ctx, &q), Some(1), Some(SMALL_PAGE)) else {
        return;
    };
    let fits = items(&first).len() as u64 <= SMALL_PAGE;
    rules::exercised("list.per_page.5", ok && fits);
    rules::exercised("list.page.first", ok && info(&first, "page") == Some(1));
    let (Some(total), Some(pages)) = (info(&first, "total_count"), info(&first, "total_pages"))
    else {
        return;
    };
    let last = pages.max(1);
    let q = [("page", last.to_string()), ("per_page", small.clone())];
    let Some((ex, ok)) = judged(ctx, r, &list(ctx, &q), Some(last), Some(SMALL_PAGE)) else {
        return;
    };
    let rest = total.saturating_sub((last - 1) * SMALL_PAGE);
    let held = ok && items(&ex).len() as u64 == rest;
    rules::exercised("list.page.last", held);
    if ok && !held {
        r.add(
            &ex,
            [crate::model::Finding::new(
                "list.page.last",
                "/result",
                format!("{rest} items (total_count {total}, {SMALL_PAGE} to a page)"),
                items(&ex).len().to_string(),
                "the last page does not hold the rest of total_count",
            )],
        );
    }
    let past = last + 1;
    let q = [("page", past.to_string()), ("per_page", small)];
    let Some((ex, ok)) = judged(ctx, r, &list(ctx, &q), Some(past), Some(SMALL_PAGE)) else {
        return;
    };
    let empty = items(&ex).is_empty();
    rules::exercised("list.page.past-last", ok && empty);
    if ex.response.status == 200 && !empty {
        r.add(
            &ex,
            [crate::model::Finding::new(
                "list.page.past-last",
                "/result",
                "[]",
                format!("{} items", items(&ex).len()),
                "a page past the last must be empty",
            )],
        );
    }
}
