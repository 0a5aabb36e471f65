//! The harness against Prism serving Cloudflare's spec: it must fail, for reasons it can
//! justify. (The independent implementation, which must pass in every mode, is in `modes.rs`.)
//! Needs `bash .ci/install`.

#[path = "targets/spawn.rs"]
mod spawn;
mod support;

use support::{Creds, assert_junit_valid, run_harness};

/// What a stateless mock serving the spec's examples gets wrong, each a real contract rule.
const JUSTIFIED_FOR_PRISM: &[&str] = &[
    "pem.block",                       // the example CSR is a truncated PEM
    "envelope.success-matches-status", // 401/422 bodies say success: true
    "envelope.error-entries",          // ... with no errors
    "schema.const",                    // the failure schema requires success: false
    "schema.minItems",                 // and at least one error
    "expect.status",                   // wrong tokens accepted, unknown and deleted ids found, ...
    "expect.result-matches-body",      // create answers with the example, not what was sent
    "expect.json",                     // get answers with the example, not what was created
    "expect.excludes",                 // the example id shows under any account or zone
    "list.result-info",                // the example result_info does not describe the page
    "list.each-id-once",               // created CSRs never appear in a list
    "list.ends",                       // every page is the example page
    "envelope.content-type",           // unknown routes and methods: application/problem+json
    "envelope.success",                // ... a problem document, not the envelope
    "envelope.errors",                 // ... so no `success` and no `errors`
    "schema.required",                 // ... which the failure schema requires
    // Generated properties: a stateless mock serving examples fails the stateful ones.
    "property.not-found",   // any generated id is found (the example)
    "property.refused",     // bodies it does not validate are accepted
    "property.created-at",  // the example's created_at predates the run
    "model.total-count",    // total_count is the example's, whatever was created
    "model.listed-once",    // what was created never shows in a list
    "model.foreign-scope",  // the example is found under any account or zone id
    "model.deleted-found",  // deleted CSRs are found again
    "model.deleted-listed", // the example page lists the same ids after a delete
    "model.unknown-listed", // the example page lists ids nobody created
    "property.get-same",    // get answers with the example, not what was created
    "property.list-order",  // the example page is in no requested order
];

#[test]
fn prism_is_caught_on_what_it_gets_wrong_and_nothing_else() {
    let prism = spawn::prism();
    let creds = Creds {
        token: Some("any-token-prism-only-checks-presence".into()),
        ..Creds::default()
    };
    // Prism never answers undecodable JSON (5 s timeout keeps that an error, not a hang), and
    // a non-UTF-8 percent-encoded id brings it down, which would turn the rest into errors.
    let run = run_harness(
        &prism.base_url,
        &creds,
        &["--timeout", "5", "--skip", "odd_id_characters_are_refused"],
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    run.assert_fired("pem::", "fixtures.rsa_full", "pem.block");
    run.assert_fired(
        "envelope::",
        "auth.no_credentials",
        "envelope.success-matches-status",
    );
    let unjustified: Vec<_> = run
        .fired
        .iter()
        .filter(|(_, rule)| !JUSTIFIED_FOR_PRISM.contains(&rule.as_str()))
        .collect();
    assert!(
        unjustified.is_empty(),
        "findings not explained: {unjustified:?}\n{}",
        run.summary()
    );
    let unexpected_errors: Vec<_> = run
        .errored_trials
        .iter()
        .filter(|t| !t.contains("undecodable_json"))
        .collect();
    assert!(
        unexpected_errors.is_empty(),
        "{unexpected_errors:?}\n{}",
        run.summary()
    );
    // Failures, errors and skips together still make a valid report.
    assert_junit_valid(&run);
}
