use std::time::Duration;

use serde_json::json;

use super::*;
use crate::model::{Body, Finding, Request, canned_exchange};
use crate::report::junit::{RunInfo, render_case};

fn outcome(name: &str, verdict: Verdict, body: &str, seed: Option<u64>) -> Outcome {
    let mut request = Request::new("POST", "/zones/z/custom_csrs").with_bearer_token();
    request.body = Some(Body::Json(json!({"common_name": "<b>x</b>"})));
    Outcome {
        name: name.into(),
        suite: name.split("::").next().unwrap().into(),
        verdict,
        exchanges: vec![canned_exchange(
            request,
            400,
            Some("application/json"),
            body,
            3,
        )],
        duration: Duration::from_millis(12),
        seed,
        notes: vec![],
        retries: vec![],
        waits: vec![
            "POST /zones/z/custom_csrs answered 429: waited 2 s (Retry-After: 2) and sent it again"
                .into(),
        ],
    }
}

fn run_info() -> RunInfo {
    RunInfo {
        name: "csr-conformance".into(),
        base_url: "http://127.0.0.1:9/client/v4".into(),
        target: "http://127.0.0.1:9/client/v4".into(),
        secrets: vec!["s3cr3t-token-value".into()],
        properties: vec![
            ("scopes".into(), "zone:z".into()),
            ("read_only".into(), "false".into()),
            ("strict".into(), "false".into()),
            ("seed".into(), "7".into()),
            (
                "rule: pem.sans".into(),
                "exercised=3 violated=1 trials=pem::zone::a".into(),
            ),
            (
                "drift: header x-new".into(),
                "seen 2 time(s), first in pem::zone::a: GET /zones/z/custom_csrs".into(),
            ),
        ],
        timestamp: time::OffsetDateTime::UNIX_EPOCH,
    }
}

fn outcomes() -> Vec<Outcome> {
    vec![
        outcome(
            "pem::zone::a",
            Verdict::Failure(vec![Finding::new(
                "pem.sans",
                "/result/sans",
                "<script>",
                "s3cr3t-token-value",
                "m",
            )]),
            "{\"success\":false,\"echo\":\"s3cr3t-token-value\"}",
            None,
        ),
        outcome("envelope::zone::b", Verdict::Pass, "{}", None),
        outcome(
            "property::zone::c",
            Verdict::Error("timed out".into()),
            "{}",
            Some(7),
        ),
        outcome(
            "auth::zone::d",
            Verdict::Skipped("needs a key".into()),
            "{}",
            None,
        ),
    ]
}

#[test]
fn the_page_keeps_the_dom_contract_and_escapes_the_target() {
    let info = run_info();
    let trials: Vec<Trial> = outcomes()
        .iter()
        .map(|o| Trial::of(o, &info.secrets, &info.base_url))
        .collect();
    let html = page::render(&info.header(), &trials);
    for needle in [
        "<!DOCTYPE html>",
        "<html lang=\"en\">",
        "<section id=\"verdict\" class=\"fail\">",
        "FAILED: 1 failed, 1 passed, 1 errored, 1 skipped",
        "<section id=\"warnings\"",
        "<section id=\"drift\">",
        "<code>x-new</code>",
        "<table id=\"matrix\">",
        "<td class=\"cell fail\" data-family=\"pem\" data-scope=\"zone\"><a href=\"#trials-pem-zone\">",
        "<td class=\"cell none\" data-family=\"schema\" data-scope=\"zone\">",
        "<section id=\"failures\">",
        "<article class=\"failure fail\" id=\"f-pem-zone-a\">",
        "<article class=\"failure error\" id=\"f-property-zone-c\">",
        "<pre class=\"curl\">curl -sS -X POST",
        "Bearer $CLOUDFLARE_API_TOKEN",
        "<pre class=\"rerun\">csr-conformance --target http://127.0.0.1:9/client/v4 --zone-id z --seed 7 --exact &#39;pem::zone::a&#39;</pre>",
        "<table id=\"coverage\">",
        "<tr data-rule=\"pem.sans\" class=\"violated\">",
        "<tr data-rule=\"code.1400\" class=\"unverified\">",
        "&lt;script&gt;",
    ] {
        assert!(html.contains(needle), "{needle}\n{html}");
    }
    assert!(!html.contains("s3cr3t-token-value"), "{html}");
    assert!(!html.contains("<script"));
    assert_eq!(
        html.matches("<tr data-rule=").count(),
        crate::rules::RULES.len()
    );
}

#[test]
fn merge_rebuilds_the_same_trials_from_junit() {
    let info = run_info();
    for o in outcomes() {
        let direct = Trial::of(&o, &info.secrets, &info.base_url);
        let case = render_case(&o, &info);
        let back = from_junit::trial(&case.xml).unwrap();
        assert_eq!(back.name, direct.name);
        assert_eq!(back.status, direct.status);
        assert_eq!(back.summary, direct.summary);
        assert_eq!(back.waited_secs, 2);
        assert_eq!(
            back.failure.as_ref().map(|f| (&f.text, &f.curls, f.seed)),
            direct.failure.as_ref().map(|f| (&f.text, &f.curls, f.seed)),
            "{}",
            case.xml
        );
    }
}

#[test]
fn long_values_are_shortened_behind_an_expander_not_dropped() {
    let pem_lines: Vec<String> = (0..20).map(|i| format!("            line{i}")).collect();
    let text = format!(
        "t: 1 finding\n  expected: -----BEGIN\n{}\n  actual:   {}\nend",
        pem_lines.join("\n"),
        "s".repeat(1000)
    );
    let blocks = failures::blocks(&text);
    let longs: Vec<&failures::Block> = blocks
        .iter()
        .filter(|b| matches!(b, failures::Block::Long { .. }))
        .collect();
    assert_eq!(longs.len(), 2, "{blocks:?}");
    let joined: String = blocks
        .iter()
        .map(|b| match b {
            failures::Block::Text(t) => t.clone(),
            failures::Block::Long { whole, .. } => whole.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(joined, text);
}

#[test]
fn a_long_list_of_steps_is_collapsed_and_the_fields_after_it_are_not() {
    let mut text = String::from("t: 1 finding\nsteps before the last:\n");
    for i in 1..=20 {
        text.push_str(&format!(
            "  {i}. GET /x -> 200 (1 ms)\n     curl -sS -X GET 'http://x/x'\n"
        ));
    }
    text.push_str("  request:  GET /y\n  curl:     curl -sS -X GET 'http://x/y'");
    let blocks = failures::blocks(&text);
    assert!(
        matches!(&blocks[1], failures::Block::Long { what, .. } if what == "all 41 lines"),
        "{blocks:?}"
    );
    assert!(matches!(&blocks[2], failures::Block::Text(t) if t.starts_with("  request:")));
    assert_eq!(
        from_junit::curl_lines(&text),
        vec!["curl -sS -X GET 'http://x/y'".to_string()]
    );
}

#[test]
fn pem_findings_show_the_csr_beside_the_json() {
    let der_pem = {
        use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
        let mut params = CertificateParams::new(vec!["a.shop".to_string()]).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "a.shop");
        dn.push(DnType::OrganizationName, "Org");
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        params.serialize_request(&key).unwrap().pem().unwrap()
    };
    let body = json!({"success": true, "errors": [], "messages": [], "result": {
        "id": "1", "common_name": "a.shop", "organization": "Other", "sans": ["a.shop", "b.shop"],
        "csr": der_pem}});
    let o = outcome(
        "pem::zone::a",
        Verdict::Failure(vec![Finding::new("pem.sans", "/result/sans", "", "", "")]),
        &body.to_string(),
        None,
    );
    let t = Trial::of(&o, &[], "http://x");
    let rows = &t.failure.unwrap().pem;
    let org = rows.iter().find(|r| r.attribute.starts_with("O ")).unwrap();
    assert_eq!((org.csr.as_str(), org.json.as_str()), ("Org", "Other"));
    let sans = rows.last().unwrap();
    assert_eq!(
        (sans.csr.as_str(), sans.json.as_str()),
        ("a.shop", "a.shop, b.shop")
    );
}

#[test]
fn the_curl_line_is_of_the_answer_the_finding_names_not_of_the_cleanup_after_it() {
    let mut o = outcome(
        "property::zone::valid_creates",
        Verdict::Failure(vec![Finding::new(
            "pem.subject",
            "/result/organization",
            "O=\"&\"",
            "O=\"\"",
            "the CSR lost a character (answer to POST /zones/z/custom_csrs)",
        )]),
        "{}",
        Some(7),
    );
    let delete = Request::new("DELETE", "/zones/z/custom_csrs/abc").with_bearer_token();
    o.exchanges.push(canned_exchange(
        delete,
        200,
        Some("application/json"),
        "{}",
        1,
    ));
    let t = Trial::of(&o, &[], "http://127.0.0.1:9/client/v4");
    let curls = &t.failure.as_ref().expect("a failure").curls;
    assert_eq!(curls.len(), 1);
    assert!(curls[0].contains("-X POST"), "{curls:?}");
    // No finding names an answer: the last exchange.
    if let Verdict::Failure(fs) = &mut o.verdict {
        fs[0].message = "the CSR lost a character".into();
    }
    let t = Trial::of(&o, &[], "http://127.0.0.1:9/client/v4");
    assert!(t.failure.unwrap().curls[0].contains("-X DELETE"));
}
