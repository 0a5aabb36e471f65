//! Builtin cases: what a case file cannot say in steps, in Rust. `list_pagination` creates
//! CSRs, pages through the whole list and judges the pages. It sends requests, so it lives here
//! beside the case runner and not in `checks`, which never send; it never prints.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::cases::AuthMode;
use crate::model::{Body, CaseRun, Exchange, Finding, Request};

use super::context::Session;
use super::live::{Live, set_aside};
use super::requests::{auth_headers, body_json, delete_request};

/// Creates a few CSRs (none under `--read-only`), pages through the whole list, and
/// judges the pages: they end, and no CSR shows twice; each created one shows exactly once.
pub fn list_pagination(session: &Session, live: &Live, scope_idx: usize, run: &mut CaseRun) {
    let created = if session.settings.read_only { 0 } else { 6 };
    const PER_PAGE: usize = 5;
    // Pages walked without an empty one before the list counts as endless: 200, or as many
    // as the server says it has (plus the empty one), up to a hard cap.
    const MAX_PAGES: usize = 200;
    const HARD_MAX_PAGES: usize = 2_500;
    let scope = session.settings.scopes[scope_idx].clone();
    let headers = match auth_headers(AuthMode::Configured, live.executor.credentials()) {
        Ok(h) => h,
        Err(e) => {
            run.skipped = Some(e);
            return;
        }
    };
    let send = |request: Request, run: &mut CaseRun| -> Option<Exchange> {
        match live
            .rt
            .block_on(live.executor.send_noting(&request, &mut run.waits))
        {
            Ok(mut ex) => {
                session.track_created(&ex);
                if let Some(why) = set_aside(&mut ex) {
                    run.exchanges.push(ex);
                    run.error = Some(why);
                    run.unjudgeable = true;
                    return None;
                }
                run.exchanges.push(ex.clone());
                Some(ex)
            }
            Err(e) => {
                run.error = Some(e.to_string());
                None
            }
        }
    };
    let mut ids = Vec::new();
    for i in 0..created {
        let name = format!("page-{i}-{}.csr-conformance.net", session.run_id());
        let mut request = Request::new("POST", format!("{}/custom_csrs", scope.prefix()));
        request.headers = headers.clone();
        request.body = Some(Body::Json(json!({
                "country": "PT", "state": "Lisboa", "locality": "Lisboa",
                "organization": "csr-conformance", "common_name": name,
                "sans": [name], "key_type": "p256v1",
        })));
        let Some(ex) = send(request, run) else { return };
        match body_json(&ex).and_then(|b| {
            b.pointer("/result/id")
                .and_then(Value::as_str)
                .map(String::from)
        }) {
            Some(id) if ex.response.status == 201 => ids.push(id),
            _ => {
                run.findings.push(Finding::new(
                    "list.setup",
                    "/result/id",
                    "201 with an id",
                    format!("{} {}", ex.response.status, ex.response.excerpt(80)),
                    "could not create the CSRs to page through",
                ));
                return;
            }
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut max_total_pages = 0u64;
    let mut ended = false;
    let mut limit = MAX_PAGES;
    let mut page = 0;
    while page < limit {
        page += 1;
        let request = Request {
            method: "GET".into(),
            path: format!("{}/custom_csrs", scope.prefix()),
            query: vec![
                ("page".into(), page.to_string()),
                ("per_page".into(), PER_PAGE.to_string()),
            ],
            headers: headers.clone(),
            body: None,
        };
        let Some(ex) = send(request, run) else { return };
        let body = body_json(&ex);
        let items = body
            .as_ref()
            .and_then(|b| b.get("result"))
            .and_then(Value::as_array);
        let (200, Some(items)) = (ex.response.status, items) else {
            run.findings.push(Finding::new(
                "list.page",
                "/result",
                "200 with a result array",
                format!("{} {}", ex.response.status, ex.response.excerpt(80)),
                format!("page {page} of the list could not be read"),
            ));
            return;
        };
        if items.is_empty() {
            ended = true;
            break;
        }
        for item in items {
            if let Some(id) = item.get("id").and_then(Value::as_str) {
                *seen.entry(id.to_string()).or_default() += 1;
            }
        }
        if let Some(tp) = body
            .as_ref()
            .and_then(|b| b.pointer("/result_info/total_pages"))
            .and_then(Value::as_u64)
        {
            max_total_pages = max_total_pages.max(tp);
            let announced = usize::try_from(max_total_pages).unwrap_or(usize::MAX);
            limit = MAX_PAGES
                .max(announced.saturating_add(2))
                .min(HARD_MAX_PAGES);
        }
        if page as u64 > max_total_pages + 1 && page > 2 {
            run.findings.push(Finding::new(
                "list.ends",
                "/result",
                "an empty page after the last one",
                format!(
                    "page {page} still has {} items; total_pages said {max_total_pages}",
                    items.len()
                ),
                "the list never ends: clients that page until an empty page would loop forever",
            ));
            break;
        }
    }
    if !ended && run.findings.iter().all(|f| f.rule != "list.ends") {
        run.findings.push(Finding::new(
            "list.ends",
            "/result",
            format!("an empty page within {limit} pages"),
            "no empty page",
            "the list never ends",
        ));
    }
    for id in &ids {
        let n = seen.get(id).copied().unwrap_or(0);
        if n != 1 {
            run.findings.push(Finding::new(
                "list.each-id-once",
                "/result",
                format!("{id} listed once"),
                format!("listed {n} times"),
                "every created CSR must appear exactly once across the pages",
            ));
        }
    }
    let mut repeated: Vec<(&String, &usize)> = seen
        .iter()
        .filter(|(id, n)| **n > 1 && !ids.contains(id))
        .collect();
    repeated.sort();
    for (id, n) in repeated {
        run.findings.push(Finding::new(
            "list.each-id-once",
            "/result",
            format!("{id} listed at most once"),
            format!("listed {n} times"),
            "a CSR that shows on two pages is seen twice by clients that page through the list",
        ));
    }
    for id in ids {
        if send(delete_request(&scope, &id, &headers), run).is_none() {
            return;
        }
    }
}
