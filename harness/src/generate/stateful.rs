//! Model-based sequences: create, get, list and delete interleaved in one scope and under a
//! foreign scope id, concurrency bursts, and (with `volume`) a scope grown past several dozen
//! CSRs. The model is a plain value, the expected state of the scope, updated by each step
//! and compared with what the server says; it shares no code with any server.
//!
//! Shrinking works on whole sequences: proptest drops and simplifies transitions, and the
//! volume shrinks by binary search, so a failure ends as the shortest sequence still failing.

use std::collections::BTreeSet;
use std::fmt;

use proptest::num::usize::BinarySearch;
use proptest::prelude::*;
use proptest::strategy::NewTree;
use proptest::test_runner::TestRunner;
use serde_json::Value;

use crate::model::{Body, Exchange, Finding, Request, Scope};
use crate::rules;
use crate::session::body_json;
use crate::template::encode_segment;

use super::bodies::small_valid;
use super::case::{CaseResult, Ctx, Ran, run_cases};
use super::declare::Check;
use super::properties;

/// Pages a walk reads at most, so a list that never ends cannot hold the run.
const MAX_WALK_PAGES: u64 = 200;
const WALK_PER_PAGE: u64 = 50;

/// One step of a sequence. Steps that name a CSR pick one of those the model holds by
/// index (modulo their number), so every shrunk sequence still makes sense; with none to
/// pick, the step does nothing.
#[derive(Clone, PartialEq)]
pub enum Transition {
    Create(u16),
    Get(usize),
    GetDeleted(usize),
    List {
        page: u32,
        per_page: u32,
    },
    Delete(usize),
    ForeignCreate(u16),
    ForeignDelete(usize),
    ForeignGet(usize),
    /// Creates and deletes all in flight at once (topped up with creates to the burst size).
    Burst {
        creates: Vec<u16>,
        deletes: Vec<usize>,
    },
    /// Pages through the whole list and compares it with the model.
    Walk,
}

impl fmt::Debug for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transition::Create(n) => write!(f, "create seq-{n}"),
            Transition::Get(p) => write!(f, "get CSR #{p}"),
            Transition::GetDeleted(p) => write!(f, "get deleted CSR #{p}"),
            Transition::List { page, per_page } => {
                write!(f, "list page={page} per_page={per_page}")
            }
            Transition::Delete(p) => write!(f, "delete CSR #{p}"),
            Transition::ForeignCreate(n) => write!(f, "create seq-{n} under a foreign scope id"),
            Transition::ForeignDelete(p) => write!(f, "delete CSR #{p} under a foreign scope id"),
            Transition::ForeignGet(p) => write!(f, "get CSR #{p} under a foreign scope id"),
            Transition::Burst { creates, deletes } => write!(
                f,
                "burst of {} creates and {} deletes (#{deletes:?}) at once, topped up with creates to the burst size",
                creates.len(),
                deletes.len()
            ),
            Transition::Walk => write!(f, "walk the whole list"),
        }
    }
}

/// A sequence: first `grow` creates one after another, then the steps, then a final walk.
#[derive(Clone, PartialEq)]
pub struct Sequence {
    pub grow: usize,
    pub steps: Vec<Transition>,
}

impl fmt::Debug for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.grow > 0 {
            write!(f, "grow the scope by {} CSRs, then ", self.grow)?;
        }
        write!(f, "{} steps:", self.steps.len())?;
        for (i, s) in self.steps.iter().enumerate() {
            write!(f, "\n{}. {s:?}", i + 1)?;
        }
        write!(f, "\nthen a final walk")
    }
}

/// The volume: starts at the declared size and shrinks by binary search towards 0.
#[derive(Debug)]
struct Volume(usize);

impl Strategy for Volume {
    type Tree = BinarySearch;
    type Value = usize;

    fn new_tree(&self, _runner: &mut TestRunner) -> NewTree<Self> {
        Ok(BinarySearch::new(self.0))
    }
}

fn transition(burst: usize) -> impl Strategy<Value = Transition> {
    let half = (burst / 2).max(1);
    prop_oneof![
        5 => any::<u16>().prop_map(Transition::Create),
        3 => any::<usize>().prop_map(Transition::Get),
        1 => any::<usize>().prop_map(Transition::GetDeleted),
        2 => (1u32..=4, 5u32..=50).prop_map(|(page, per_page)| Transition::List { page, per_page }),
        3 => any::<usize>().prop_map(Transition::Delete),
        1 => any::<u16>().prop_map(Transition::ForeignCreate),
        1 => any::<usize>().prop_map(Transition::ForeignDelete),
        1 => any::<usize>().prop_map(Transition::ForeignGet),
        1 => (
            proptest::collection::vec(any::<u16>(), half..=burst),
            proptest::collection::vec(any::<usize>(), 0..=half),
        )
            .prop_map(|(creates, deletes)| Transition::Burst { creates, deletes }),
        1 => Just(Transition::Walk),
    ]
}

pub fn sequences(steps: usize, volume: usize, burst: usize) -> BoxedStrategy<Sequence> {
    (
        Volume(volume),
        proptest::collection::vec(transition(burst), 1..=steps.max(1)),
    )
        .prop_map(|(grow, steps)| Sequence { grow, steps })
        .boxed()
}

/// Runs the `fixed` sequences (the deterministic coverage), then the declared number of
/// random ones, each costing at most `per_case` requests under `--budget`.
pub fn run(ctx: &Ctx, trial: &str, cases: u32, fixed: (Vec<Sequence>, u64), per_case: u64) -> Ran {
    let (fixed, per_fixed) = fixed;
    let p = ctx.property;
    let strategy = sequences(p.steps as usize, p.volume as usize, p.burst as usize);
    let n = fixed.len();
    let case = |ctx: &Ctx, seq: &Sequence| {
        let mut m = Machine::new(ctx);
        m.play(seq);
        m.r
    };
    run_cases(
        ctx,
        trial,
        cases,
        fixed,
        strategy,
        crate::budget::guard(trial, (n, per_fixed), per_case, case),
    )
}

/// A CSR the model holds: its id and the object create answered with.
#[derive(Debug, Clone)]
struct Held {
    id: String,
    object: Value,
}

/// The expected state of the scope.
#[derive(Debug, Default, Clone)]
pub struct Model {
    /// What the scope held before the sequence (other clients', fixtures).
    baseline: BTreeSet<String>,
    live: Vec<Held>,
    deleted: Vec<String>,
    /// What was created under the foreign scope id (to be deleted there at the end).
    foreign: Vec<String>,
}

impl Model {
    fn total(&self) -> usize {
        self.baseline.len() + self.live.len()
    }

    fn pick(&self, p: usize) -> Option<usize> {
        (!self.live.is_empty()).then(|| p % self.live.len())
    }

    fn knows(&self, id: &str) -> bool {
        self.baseline.contains(id) || self.live.iter().any(|h| h.id == id)
    }
}

struct Machine<'a, 'b> {
    ctx: &'a Ctx<'b>,
    r: CaseResult,
    model: Model,
    step: String,
}

enum Kind {
    Create,
    Delete(usize),
}

impl<'a, 'b> Machine<'a, 'b> {
    fn new(ctx: &'a Ctx<'b>) -> Self {
        Machine {
            ctx,
            r: CaseResult::default(),
            model: Model::default(),
            step: String::new(),
        }
    }

    fn label(&self, mut f: Finding) -> Finding {
        f.message = format!("{}: {}", self.step, f.message);
        f
    }

    fn send(&mut self, req: &Request) -> Option<Exchange> {
        let before = self.r.findings.len();
        let ex = self.r.send(self.ctx, req);
        let step = self.step.clone();
        for f in &mut self.r.findings[before..] {
            f.message = format!("{step}: {}", f.message);
        }
        ex
    }

    /// Sends requests all at once; findings name the step.
    fn send_together(&mut self, requests: &[Request]) -> Option<Vec<Exchange>> {
        let before = self.r.findings.len();
        let answers = self.r.send_together(self.ctx, requests);
        let step = self.step.clone();
        for f in &mut self.r.findings[before..] {
            f.message = format!("{step}: {}", f.message);
        }
        answers
    }

    /// How many requests go out at once where the order among them does not matter.
    fn together(&self) -> usize {
        (self.ctx.property.burst as usize).max(1)
    }

    fn add(&mut self, ex: &Exchange, findings: impl IntoIterator<Item = Finding>) {
        let labelled: Vec<Finding> = findings.into_iter().map(|f| self.label(f)).collect();
        self.r.add(ex, labelled);
    }

    fn note(&mut self, rule: &str, expected: String, actual: String, message: &str) {
        let f = self.label(Finding::new(rule, "/result", expected, actual, message));
        self.r.note(f);
    }

    fn ok(&self) -> bool {
        self.r.error.is_none()
    }

    fn item(&self, scope: &Scope, id: &str) -> String {
        format!("{}/{}", self.ctx.collection(scope), encode_segment(id))
    }

    fn create_request(&self, scope: &Scope, n: u32) -> Request {
        let mut req = self.ctx.request("POST", self.ctx.collection(scope));
        req.body = Some(Body::Json(small_valid(n, self.ctx.account)));
        req
    }

    /// Judges a create answer in our scope and adds what it made to the model.
    fn created(&mut self, ex: &Exchange) {
        let ctx = self.ctx;
        let sent = match &ex.request.body {
            Some(Body::Json(v)) => v.clone(),
            _ => Value::Null,
        };
        if ctx.checks(Check::Created) {
            self.add(ex, properties::created(ex));
        }
        if ctx.checks(Check::Echo) {
            self.add(ex, properties::echo(ex, &sent));
        }
        let result = body_json(ex).and_then(|b| b.get("result").cloned());
        if let Some(result) = &result
            && ctx.checks(Check::CreatedAt)
        {
            let (earliest, latest) = ctx.created_window();
            self.add(ex, properties::created_at(result, earliest, latest));
        }
        if (200..300).contains(&ex.response.status)
            && let Some(result) = result
            && let Some(id) = result.get("id").and_then(Value::as_str)
        {
            self.model.live.push(Held {
                id: id.to_string(),
                object: result.clone(),
            });
        }
    }

    fn deleted(&mut self, ex: &Exchange, index: usize) {
        if (200..300).contains(&ex.response.status) {
            let held = self.model.live.remove(index);
            self.model.deleted.push(held.id);
        } else if self.ctx.checks(Check::Model) {
            let f = Finding::new(
                "model.delete",
                "status",
                "200",
                ex.response.status.to_string(),
                "deleting a CSR this run created (and had not deleted) failed",
            );
            self.add(ex, [f]);
        }
    }

    /// Every id the list holds, page by page, and the first page's `total_count`.
    fn walk(&mut self) -> Option<(Vec<String>, Option<u64>)> {
        let mut ids = Vec::new();
        let mut total = None;
        for page in 1..=MAX_WALK_PAGES {
            let mut req = self
                .ctx
                .request("GET", self.ctx.collection(&self.ctx.scope));
            req.query = vec![
                ("page".into(), page.to_string()),
                ("per_page".into(), WALK_PER_PAGE.to_string()),
            ];
            let ex = self.send(&req)?;
            let body = body_json(&ex)?;
            if page == 1 {
                total = body
                    .pointer("/result_info/total_count")
                    .and_then(Value::as_u64);
            }
            let items = body.get("result").and_then(Value::as_array)?;
            if items.is_empty() {
                break;
            }
            ids.extend(
                items
                    .iter()
                    .filter_map(|i| i.get("id").and_then(Value::as_str).map(String::from)),
            );
        }
        Some((ids, total))
    }

    /// Walks the list and compares it with the model.
    fn walk_and_compare(&mut self) {
        let Some((ids, total)) = self.walk() else {
            return;
        };
        if self.ctx.checks(Check::Model) {
            let live: Vec<String> = self.model.live.iter().map(|h| h.id.clone()).collect();
            if !live.is_empty() {
                let once = live
                    .iter()
                    .all(|id| ids.iter().filter(|i| *i == id).count() == 1);
                rules::exercised("state.listed-once", once);
            }
            if !self.model.deleted.is_empty() {
                let gone = !self.model.deleted.iter().any(|d| ids.contains(d));
                rules::exercised("state.deleted-gone", gone);
            }
            if !self.model.foreign.is_empty() {
                let apart = !self.model.foreign.iter().any(|f| ids.contains(f));
                rules::exercised("state.scope-isolation", apart);
            }
            for id in live {
                let n = ids.iter().filter(|i| **i == id).count();
                if n != 1 {
                    self.note(
                        "model.listed-once",
                        format!("{id} listed once"),
                        format!("listed {n} times"),
                        "a CSR this run created (and did not delete) must be listed exactly once",
                    );
                }
            }
            let deleted = self.model.deleted.clone();
            for id in deleted.iter().filter(|d| ids.contains(d)) {
                self.note(
                    "model.deleted-listed",
                    format!("{id} not listed"),
                    "listed".into(),
                    "a CSR this run deleted is still listed",
                );
            }
            let unknown: Vec<String> = ids
                .iter()
                .filter(|i| !self.model.knows(i) && !deleted.contains(i))
                .cloned()
                .collect();
            for id in unknown {
                let message = if self.model.foreign.contains(&id) {
                    "a CSR created under another scope id shows up in this scope"
                } else {
                    "the list holds a CSR that neither existed before the sequence nor was created by it"
                };
                self.note(
                    "model.unknown-listed",
                    "only CSRs the model holds".into(),
                    id,
                    message,
                );
            }
        }
        if self.ctx.checks(Check::TotalCount)
            && let Some(total) = total
        {
            rules::exercised("state.total-count", total == self.model.total() as u64);
        }
        if self.ctx.checks(Check::TotalCount)
            && let Some(total) = total
            && total != self.model.total() as u64
        {
            self.note(
                "model.total-count",
                self.model.total().to_string(),
                total.to_string(),
                "result_info.total_count differs from the number of CSRs the model says the scope holds",
            );
        }
    }

    fn play(&mut self, seq: &Sequence) {
        self.step = "baseline".into();
        let Some((ids, _)) = self.walk() else {
            return;
        };
        self.model.baseline = ids.into_iter().collect();
        if seq.grow > 0 {
            self.step = format!("grow by {}", seq.grow);
            // In groups of the burst size: as many writes, in a fraction of the time.
            let scope = self.ctx.scope.clone();
            let numbers: Vec<u32> = (0..seq.grow).map(|i| 60_000 + i as u32).collect();
            for group in numbers.chunks(self.together()) {
                let requests: Vec<Request> = group
                    .iter()
                    .map(|n| self.create_request(&scope, *n))
                    .collect();
                let Some(answers) = self.send_together(&requests) else {
                    break;
                };
                for ex in &answers {
                    self.created(ex);
                }
            }
            if self.ok() {
                self.walk_and_compare();
            }
        }
        for (i, t) in seq.steps.iter().enumerate() {
            if !self.ok() {
                break;
            }
            self.step = format!("step {} ({t:?})", i + 1);
            self.apply(t);
        }
        if self.ok() {
            self.step = "final walk".into();
            self.walk_and_compare();
        }
        self.teardown();
    }

    fn apply(&mut self, t: &Transition) {
        let ctx = self.ctx;
        let scope = ctx.scope.clone();
        let foreign = ctx.foreign.clone();
        match t {
            Transition::Create(n) => {
                let req = self.create_request(&scope, u32::from(*n));
                if let Some(ex) = self.send(&req) {
                    self.created(&ex);
                }
            }
            Transition::Get(p) => {
                let Some(i) = self.model.pick(*p) else { return };
                let held = self.model.live[i].clone();
                let req = ctx.request("GET", self.item(&scope, &held.id));
                if let Some(ex) = self.send(&req)
                    && ctx.checks(Check::GetSame)
                {
                    let found = properties::get_same(&ex, &held.object);
                    rules::exercised("state.get-after-create", found.is_empty());
                    self.add(&ex, found);
                }
            }
            Transition::GetDeleted(p) => {
                if self.model.deleted.is_empty() {
                    return;
                }
                let id = self.model.deleted[p % self.model.deleted.len()].clone();
                let req = ctx.request("GET", self.item(&scope, &id));
                let answer = self.send(&req);
                if let Some(ex) = &answer
                    && ctx.checks(Check::Model)
                {
                    rules::exercised("state.deleted-gone", ex.response.status == 404);
                }
                if let Some(ex) = answer
                    && ctx.checks(Check::Model)
                    && ex.response.status != 404
                {
                    let f = Finding::new(
                        "model.deleted-found",
                        "status",
                        "404",
                        ex.response.status.to_string(),
                        "a CSR this run deleted can still be fetched",
                    );
                    self.add(&ex, [f]);
                }
            }
            Transition::List { page, per_page } => {
                let mut req = ctx.request("GET", ctx.collection(&scope));
                req.query = vec![
                    ("page".into(), page.to_string()),
                    ("per_page".into(), per_page.to_string()),
                ];
                if let Some(ex) = self.send(&req) {
                    self.judge_page(&ex);
                }
            }
            Transition::Delete(p) => {
                let Some(i) = self.model.pick(*p) else { return };
                let id = self.model.live[i].id.clone();
                let req = ctx.request("DELETE", self.item(&scope, &id));
                if let Some(ex) = self.send(&req) {
                    self.deleted(&ex, i);
                }
            }
            Transition::ForeignCreate(n) => {
                let req = self.create_request(&foreign, u32::from(*n));
                if let Some(ex) = self.send(&req)
                    && (200..300).contains(&ex.response.status)
                    && let Some(id) = body_json(&ex).and_then(|b| {
                        b.pointer("/result/id")
                            .and_then(Value::as_str)
                            .map(String::from)
                    })
                {
                    self.model.foreign.push(id);
                }
            }
            Transition::ForeignDelete(p) => {
                let Some(i) = self.model.pick(*p) else { return };
                let id = self.model.live[i].id.clone();
                let req = ctx.request("DELETE", self.item(&foreign, &id));
                let Some(ex) = self.send(&req) else { return };
                if ctx.checks(Check::ForeignScope) {
                    let refused = !(200..300).contains(&ex.response.status);
                    rules::exercised("state.scope-isolation", refused);
                }
                if ctx.checks(Check::ForeignScope) && (200..300).contains(&ex.response.status) {
                    let f = Finding::new(
                        "model.foreign-scope",
                        "status",
                        "4xx: the CSR does not exist under that scope id",
                        ex.response.status.to_string(),
                        "a delete under another account or zone id succeeded for a CSR of this scope",
                    );
                    self.add(&ex, [f]);
                }
                let req = ctx.request("GET", self.item(&scope, &id));
                if let Some(ex) = self.send(&req)
                    && ctx.checks(Check::ForeignScope)
                    && ex.response.status != 200
                {
                    let f = Finding::new(
                        "model.foreign-scope",
                        "status",
                        "200",
                        ex.response.status.to_string(),
                        "after a delete under another account or zone id, the CSR is gone from this scope",
                    );
                    self.add(&ex, [f]);
                }
            }
            Transition::ForeignGet(p) => {
                let Some(i) = self.model.pick(*p) else { return };
                let id = self.model.live[i].id.clone();
                let req = ctx.request("GET", self.item(&foreign, &id));
                let answer = self.send(&req);
                if let Some(ex) = &answer
                    && ctx.checks(Check::ForeignScope)
                {
                    let refused = !(200..300).contains(&ex.response.status);
                    rules::exercised("state.scope-isolation", refused);
                }
                if let Some(ex) = answer
                    && ctx.checks(Check::ForeignScope)
                    && (200..300).contains(&ex.response.status)
                {
                    let f = Finding::new(
                        "model.foreign-scope",
                        "status",
                        "4xx",
                        ex.response.status.to_string(),
                        "a CSR of this scope can be fetched under another account or zone id",
                    );
                    self.add(&ex, [f]);
                }
            }
            Transition::Burst { creates, deletes } => self.burst(creates, deletes),
            Transition::Walk => self.walk_and_compare(),
        }
    }

    /// A page of a list: the total and every item agree with the model.
    fn judge_page(&mut self, ex: &Exchange) {
        let Some(body) = body_json(ex) else { return };
        if ex.response.status != 200 {
            if self.ctx.checks(Check::Model) {
                let f = Finding::new(
                    "model.list",
                    "status",
                    "200",
                    ex.response.status.to_string(),
                    "a list with documented parameters failed",
                );
                self.add(ex, [f]);
            }
            return;
        }
        let total = body
            .pointer("/result_info/total_count")
            .and_then(Value::as_u64);
        if self.ctx.checks(Check::TotalCount)
            && let Some(total) = total
        {
            rules::exercised("state.total-count", total == self.model.total() as u64);
        }
        if self.ctx.checks(Check::TotalCount)
            && let Some(total) = total
            && total != self.model.total() as u64
        {
            let f = Finding::new(
                "model.total-count",
                "/result_info/total_count",
                self.model.total().to_string(),
                total.to_string(),
                "total_count differs from the number of CSRs the model says the scope holds",
            );
            self.add(ex, [f]);
        }
        if !self.ctx.checks(Check::Model) {
            return;
        }
        let items = body
            .get("result")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            let (rule, message) = if self.model.deleted.iter().any(|d| d == id) {
                (
                    "model.deleted-listed",
                    "a CSR this run deleted is still listed",
                )
            } else if !self.model.knows(id) {
                (
                    "model.unknown-listed",
                    "the list holds a CSR the model does not know",
                )
            } else {
                continue;
            };
            let f = Finding::new(
                rule,
                format!("/result/{i}/id"),
                "an id the model holds",
                id,
                message,
            );
            self.add(ex, [f]);
        }
    }

    fn burst(&mut self, creates: &[u16], deletes: &[usize]) {
        let ctx = self.ctx;
        let scope = ctx.scope.clone();
        let mut picked: Vec<usize> = Vec::new();
        for p in deletes {
            if let Some(i) = self.model.pick(*p)
                && !picked.contains(&i)
            {
                picked.push(i);
            }
        }
        let mut bodies: Vec<u32> = creates.iter().map(|n| u32::from(*n)).collect();
        let burst = ctx.property.burst as usize;
        let missing = burst.saturating_sub(bodies.len() + picked.len());
        bodies.extend((0..missing).map(|i| 70_000 + i as u32));
        let mut requests = Vec::new();
        let mut kinds = Vec::new();
        for n in bodies {
            requests.push(self.create_request(&scope, n));
            kinds.push(Kind::Create);
        }
        for i in &picked {
            let id = self.model.live[*i].id.clone();
            requests.push(ctx.request("DELETE", self.item(&scope, &id)));
            kinds.push(Kind::Delete(*i));
        }
        let Some(answers) = self.send_together(&requests) else {
            return;
        };
        // Deletes first, highest index first, so indices stay valid; then creates.
        let mut deletes: Vec<(usize, Exchange)> = kinds
            .iter()
            .zip(&answers)
            .filter_map(|(k, ex)| match k {
                Kind::Delete(i) => Some((*i, ex.clone())),
                Kind::Create => None,
            })
            .collect();
        deletes.sort_by_key(|d| std::cmp::Reverse(d.0));
        for (i, ex) in deletes {
            self.deleted(&ex, i);
        }
        for (k, ex) in kinds.iter().zip(&answers) {
            if matches!(k, Kind::Create) {
                self.created(ex);
            }
        }
        self.walk_and_compare();
    }

    /// Deletes what the sequence left, here and under the foreign scope id, so the next
    /// sequence starts from the same state. Not judged.
    fn teardown(&mut self) {
        let ctx = self.ctx;
        let mut requests: Vec<Request> = self
            .model
            .live
            .iter()
            .map(|h| ctx.request("DELETE", self.item(&ctx.scope, &h.id)))
            .collect();
        requests.extend(
            self.model
                .foreign
                .iter()
                .map(|id| ctx.request("DELETE", self.item(&ctx.foreign, id))),
        );
        for group in requests.chunks(self.together()) {
            if let Ok(answers) = ctx.session.send_generated_together(group) {
                self.r.exchanges.extend(answers);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngSeed};

    #[test]
    fn volume_shrinks_towards_nothing_and_sequences_keep_their_bounds() {
        let mut runner = TestRunner::new(Config {
            rng_seed: RngSeed::Fixed(3),
            ..Config::default()
        });
        let mut tree = sequences(12, 40, 8).new_tree(&mut runner).unwrap();
        let first = tree.current();
        assert_eq!(first.grow, 40);
        assert!((1..=12).contains(&first.steps.len()));
        let mut smallest = first.grow;
        while tree.simplify() {
            smallest = smallest.min(tree.current().grow);
        }
        assert!(smallest < 40);
        for _ in 0..50 {
            let s = sequences(12, 0, 8).new_tree(&mut runner).unwrap().current();
            for t in &s.steps {
                if let Transition::Burst { creates, deletes } = t {
                    assert!(creates.len() >= 4 && deletes.len() <= 4);
                }
            }
        }
    }
}
