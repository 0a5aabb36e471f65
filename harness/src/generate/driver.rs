//! Runs one declared property in one scope as a trial: picks the generator's strategy and case
//! function, runs them through [`super::case::run_cases`] (each case sent through the
//! session's one executor), and turns what ran into an [`Outcome`] the reporters know.

use std::time::Instant;

use time::OffsetDateTime;

use crate::cases::AuthMode;
use crate::model::{Outcome, Scope, Verdict};
use crate::session::{Session, auth_headers, foreign};

use super::case::{Ctx, run_cases};
use super::declare::{Generator, Property};

/// Runs `property` in scope `scope_idx` and says how it went.
pub fn run_property(
    session: &Session,
    scope_idx: usize,
    property: &Property,
    trial: &str,
    run_started: OffsetDateTime,
) -> Outcome {
    let started = Instant::now();
    let outcome = |verdict, exchanges, notes| Outcome {
        name: trial.to_string(),
        suite: "property".into(),
        verdict,
        exchanges,
        duration: started.elapsed(),
        seed: Some(session.settings.seed),
        notes,
        retries: Vec::new(),
        waits: Vec::new(),
    };
    let read_only = session.settings.read_only;
    if read_only && property.generator.always_writes() {
        return outcome(
            Verdict::Skipped(format!(
                "generator {} creates CSRs: skipped with --read-only",
                property.generator.name()
            )),
            Vec::new(),
            Vec::new(),
        );
    }
    let live = match session.live() {
        Ok(l) => l,
        Err(e) => return outcome(Verdict::Error(e), Vec::new(), Vec::new()),
    };
    let creds = live.executor.credentials().clone();
    let headers = match auth_headers(AuthMode::Configured, &creds) {
        Ok(h) => h,
        Err(e) => return outcome(Verdict::Skipped(e), Vec::new(), Vec::new()),
    };
    let scope = session.settings.scopes[scope_idx].clone();
    let ctx = Ctx {
        session,
        foreign: foreign(&scope),
        account: matches!(scope, Scope::Account(_)),
        scope,
        scope_idx,
        property,
        headers,
        read_only,
        run_started,
        schemas: session.schemas.as_ref().ok(),
        creds,
    };
    let cases = property.runner_cases(session.settings.cases);
    let ran = match property.generator {
        Generator::Sequences => super::stateful::run(&ctx, trial, cases),
        Generator::CreateValid => run_cases(
            &ctx,
            trial,
            cases,
            Vec::new(),
            super::bodies::valid(ctx.account),
            super::stateless::valid_create,
        ),
        Generator::CreateInvalid => run_cases(
            &ctx,
            trial,
            cases,
            Vec::new(),
            super::bodies::invalid(ctx.account),
            super::stateless::invalid_create,
        ),
        Generator::CreateUnspecified => run_cases(
            &ctx,
            trial,
            cases,
            Vec::new(),
            super::bodies::unspecified(ctx.account),
            super::stateless::unspecified_create,
        ),
        Generator::Ids => run_cases(
            &ctx,
            trial,
            cases,
            Vec::new(),
            super::ids::inputs(read_only),
            super::stateless::id_case,
        ),
        Generator::ListParams => super::stateless::list_property(&ctx, trial, cases),
        Generator::Auth => run_cases(
            &ctx,
            trial,
            cases,
            super::auth::fixed(read_only, &ctx.creds),
            super::auth::inputs(read_only),
            super::stateless::auth_case,
        ),
    };
    let mut notes = ran.notes;
    if let Some(doc) = &property.doc {
        notes.insert(0, ("property".into(), doc.clone()));
    }
    if read_only && !property.generator.always_writes() {
        notes.push((
            "read-only".into(),
            "only reads were generated; writes are skipped with --read-only".into(),
        ));
    }
    outcome(ran.verdict, ran.exchanges, notes)
}
