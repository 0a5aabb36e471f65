//! The HTML page (`--html`, default `index.html` beside the JUnit report), read as text: a
//! default run writes one that needs nothing beyond itself, a failing run shows its verdict,
//! failing cell, curl and rerun lines without a credential, drift is noticed but never fails a
//! run, and `merge` writes one page for its shards. (The headless-browser test looks at it as
//! a person would.)

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use csr_conformance::model::Credentials;
use csr_conformance::record::redact::Secrets;
use csr_conformance::record::scan;
use csr_emulator::{Config, Emulator, Fault};
use support::proxy::{Fault as ProxyFault, FaultyProxy};
use support::{Creds, harness_command, run_harness};

/// About 2 MB: what a default run's page may weigh.
const MAX_PAGE: u64 = 2 * 1024 * 1024;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("html-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The built binary against the embedded emulator with `args`.
fn embedded(args: &[&str]) -> Output {
    harness_command(&Creds::default())
        .args(args)
        .output()
        .expect("run csr-conformance")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Nothing the page loads from elsewhere, and no script at all.
#[track_caller]
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains("<meta charset=\"utf-8\">") && html.contains("<title>"));
    for attr in ["src=", "href="] {
        for quote in ["\"", "'"] {
            for scheme in ["http://", "https://", "//"] {
                let bad = format!("{attr}{quote}{scheme}");
                assert!(!html.contains(&bad), "the page loads {bad}…");
            }
        }
    }
    for bad in [
        "<script",
        "<link",
        "@import",
        "url(",
        "<iframe",
        "<img",
        " onclick=",
        " onload=",
    ] {
        assert!(!html.contains(bad), "the page holds {bad}");
    }
    // Every in-page link has its target.
    for part in html.split("href=\"#").skip(1) {
        let id = &part[..part.find('"').unwrap()];
        assert!(html.contains(&format!("id=\"{id}\"")), "no element #{id}");
    }
    let mut ids: Vec<&str> = html
        .split(" id=\"")
        .skip(1)
        .map(|p| &p[..p.find('"').unwrap()])
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "an id is used twice");
}

/// The text of `<section id="verdict">`'s heading.
fn verdict(html: &str) -> &str {
    let at = html
        .find("<section id=\"verdict\"")
        .expect("a verdict section");
    let h2 = at + html[at..].find("<h2>").unwrap() + 4;
    &html[h2..h2 + html[h2..].find("</h2>").unwrap()]
}

#[test]
fn a_default_run_writes_a_self_contained_page_beside_the_junit_report() {
    let dir = fresh_dir("default");
    let junit = dir.join("reports/junit.xml");
    let out = embedded(&["--junit", junit.to_str().unwrap(), "--seed", "11", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = dir.join("reports/index.html");
    let size = std::fs::metadata(&page).expect("reports/index.html").len();
    assert!(size <= MAX_PAGE, "{size} bytes");
    let html = read(&page);
    assert_self_contained(&html);
    assert!(
        verdict(&html).starts_with("PASSED: 0 failed, "),
        "{}",
        verdict(&html)
    );
    for needle in [
        "<section id=\"warnings\"",
        "<section id=\"drift\">",
        "<table id=\"matrix\">",
        "<td class=\"cell pass\" data-family=\"pem\" data-scope=\"account\"><a href=\"#trials-pem-account\">",
        "<td class=\"cell pass\" data-family=\"property\" data-scope=\"zone\">",
        "<section id=\"failures\">",
        "<table id=\"coverage\">",
        "--seed 11",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert_eq!(
        html.matches("<tr data-rule=\"").count(),
        csr_conformance::rules::RULES.len()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTML report written to "), "{stderr}");
}

#[test]
fn no_html_and_list_write_no_page() {
    let dir = fresh_dir("none");
    let junit = dir.join("junit.xml");
    let out = embedded(&[
        "--junit",
        junit.to_str().unwrap(),
        "--no-html",
        "envelope::account::",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(junit.exists());
    assert!(!dir.join("index.html").exists());
    let page = dir.join("listed.html");
    let out = embedded(&["--html", page.to_str().unwrap(), "--list"]);
    assert!(out.status.success());
    assert!(!page.exists());
    // Without JUnit, the page still goes where it is asked to.
    let out = embedded(&[
        "--no-junit",
        "--html",
        page.to_str().unwrap(),
        "envelope::account::",
    ]);
    assert!(out.status.success());
    assert!(verdict(&read(&page)).starts_with("PASSED"));
}

#[test]
fn a_failing_run_shows_the_failing_cell_curl_and_rerun_lines_and_no_credential() {
    let emu = Emulator::start(Config {
        faults: vec![Fault::TruncateSans],
        ..Config::default()
    })
    .unwrap();
    let creds = Creds::of_emulator(emu.config());
    let dir = fresh_dir("failing");
    let page = dir.join("page.html");
    let run = run_harness(
        &emu.base_url(),
        &creds,
        &["--seed", "3", "--html", page.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.summary());
    let html = read(&page);
    assert_self_contained(&html);
    let v = verdict(&html);
    assert!(v.starts_with("FAILED: ") && v.contains(" passed, "), "{v}");
    assert!(!v.starts_with("FAILED: 0 failed"), "{v}");
    // The failing trials' cells, each linking to a list that links to the failure.
    let failed_family = run
        .failed_trials
        .iter()
        .next()
        .and_then(|t| t.split("::").next())
        .unwrap()
        .to_string();
    assert!(
        html.contains(&format!(
            "<td class=\"cell fail\" data-family=\"{failed_family}\""
        )),
        "no failing {failed_family} cell"
    );
    assert_eq!(
        html.matches("<article class=\"failure").count(),
        run.failed_trials.len() + run.errored_trials.len()
    );
    let curls: Vec<&str> = html
        .split("<pre class=\"curl\">")
        .skip(1)
        .map(|c| &c[..c.find("</pre>").unwrap()])
        .collect();
    assert!(!curls.is_empty());
    for curl in &curls {
        assert!(curl.starts_with("curl -sS -X "), "{curl}");
        assert!(
            curl.contains("$CLOUDFLARE_"),
            "credentials stay symbolic: {curl}"
        );
    }
    assert!(
        curls
            .iter()
            .any(|c| c.contains("-H &quot;Authorization: Bearer $CLOUDFLARE_API_TOKEN&quot;")),
        "{curls:?}"
    );
    let rerun = html.split("<pre class=\"rerun\">").nth(1).unwrap();
    assert!(
        rerun.starts_with(&format!(
            "csr-conformance --target {} --account-id ",
            emu.base_url()
        )) && rerun[..rerun.find("</pre>").unwrap()].contains(" --seed 3 --exact &#39;"),
        "{}",
        &rerun[..200]
    );
    // The held-back credential scan of recordings finds no credential (nor a bearer value).
    let secrets = Secrets::from_credentials(&Credentials {
        token: creds.token.clone(),
        email: creds.email.clone(),
        api_key: creds.api_key.clone(),
    });
    let leaks: Vec<String> = scan::scan(&html, &secrets)
        .into_iter()
        // Base64 in a PEM can hold a stretch shaped like a token by chance; a real value
        // would be found by the configured-credential spellings above.
        .filter(|l| !l.what.starts_with("something shaped like"))
        .map(|l| l.to_string())
        .collect();
    assert!(leaks.is_empty(), "{leaks:?}");
    assert!(!html.contains(creds.token.as_deref().unwrap()));
}

#[test]
fn drift_is_noticed_on_the_page_in_junit_and_on_the_terminal_but_never_fails() {
    let proxy = FaultyProxy::start(ProxyFault::Drift).unwrap();
    let dir = fresh_dir("drift");
    let page = dir.join("page.html");
    let run = run_harness(
        &proxy.base_url(),
        &proxy.creds(),
        &["--html", page.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "drift is not a failure\n{}", run.summary());
    let html = read(&page);
    assert!(verdict(&html).starts_with("PASSED"));
    let drift = &html[html.find("<section id=\"drift\">").unwrap()..];
    let drift = &drift[..drift.find("</section>").unwrap()];
    for (kind, name) in [
        ("field", "fingerprint"),
        ("result_info-field", "cursor"),
        ("error-code", "1499"),
        ("header", "x-ratelimit-policy-next"),
    ] {
        assert!(
            drift.contains(&format!("data-kind=\"{kind}\"")) && drift.contains(name),
            "{kind} {name}\n{drift}"
        );
        assert!(
            run.junit.contains(&format!(
                "<property name=\"drift: {kind} {name}\" value=\"seen "
            )),
            "JUnit keeps {kind} {name}"
        );
    }
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("csr-conformance: drift: "))
        .expect("one drift line on the terminal");
    assert!(line.contains("field fingerprint (x"), "{line}");
    assert!(line.contains("first in "), "{line}");

    // The same target without drift: no notice of these.
    let plain = FaultyProxy::start(ProxyFault::None).unwrap();
    let run = run_harness(&plain.base_url(), &plain.creds(), &["--no-html"]);
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(!run.junit.contains("drift: field fingerprint"));
}

#[test]
fn merge_writes_one_page_for_its_shards() {
    let dir = fresh_dir("merge");
    let mut shards = Vec::new();
    for k in 1..=2 {
        let junit = dir.join(format!("shard-{k}.xml"));
        let part = format!("count:{k}/2");
        let out = embedded(&[
            "--junit",
            junit.to_str().unwrap(),
            "--no-html",
            "--seed",
            "4",
            "--partition",
            &part,
            "-q",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        shards.push(junit);
    }
    assert!(!dir.join("index.html").exists());
    let merged = dir.join("merged/junit.xml");
    let out = harness_command(&Creds::default())
        .args(["merge", "-o", merged.to_str().unwrap()])
        .args(&shards)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = read(&dir.join("merged/index.html"));
    assert_self_contained(&html);
    let v = verdict(&html);
    assert!(v.starts_with("PASSED: 0 failed, "), "{v}");
    let tests: usize = read(&merged)
        .split("<testsuites ")
        .nth(1)
        .and_then(|s| s.split("tests=\"").nth(1))
        .and_then(|s| s[..s.find('"').unwrap()].parse().ok())
        .unwrap();
    let passed: usize = v["PASSED: 0 failed, ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let skipped: usize = v
        .rsplit(", ")
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(passed + skipped, tests, "{v}");
    assert!(html.contains("<dt>merged from</dt><dd>2 shard reports</dd>"));
    assert!(
        !html.contains("--partition"),
        "the merged run's command has no partition"
    );
    // The coverage of both shards, added up.
    assert!(html.contains("<tr data-rule=\"pem.sans\" class=\"held\">"));
}
