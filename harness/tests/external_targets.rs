//! The harness against servers it did not grow up with: an independent implementation of the
//! API (must pass: no false alarms), and Prism serving Cloudflare's spec (must fail, for reasons
//! it can justify). Both need `bash .ci/install`.

#[path = "targets/spawn.rs"]
mod spawn;
mod support;

use support::{Creds, Run, run_harness};

/// The report a real run wrote validates against the Jenkins junit-10 XSD.
fn assert_junit_valid(run: &Run) {
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit-10.xsd");
    let file = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "external-{}-{}.xml",
        std::process::id(),
        run.junit.len()
    ));
    std::fs::write(&file, &run.junit).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(&file)
        .output()
        .expect("xmllint missing: install libxml2-utils (bash .ci/install)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_independent_correct_implementation_passes() {
    let creds = Creds::emulator_defaults();
    let server = spawn::independent_server(
        creds.token.as_deref().unwrap(),
        creds.email.as_deref().unwrap(),
        creds.api_key.as_deref().unwrap(),
    );
    let run = run_harness(&server.base_url, &creds, &[]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(
        run.failed_trials.is_empty() && run.errored_trials.is_empty(),
        "{}",
        run.summary()
    );
    // It really ran: every family and both scopes are in the report.
    for family in [
        "envelope::account::",
        "schema::zone::",
        "pem::zone::fixtures.",
        "auth::account::",
        "behaviour::zone::list_pagination",
    ] {
        assert!(
            run.junit.contains(family),
            "no {family} trial in the report"
        );
    }
    assert_junit_valid(&run);
}

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
