//! The generated and model-based properties, shown catching what no hand-written case names.
//! Each test starts the emulator with one fault switched on (see `emulator/src/fault.rs`) and
//! runs only the property trials (`property::`): no hand-written case can be what catches it.
//! The failing trial must name the rule and show a minimal reproduction: the shrunk input,
//! the original input, curl lines and the seed. Correct servers (the emulator, the independent
//! Python server) must pass, and the same seed must send the same requests.

#[path = "targets/spawn.rs"]
mod spawn;
mod support;

use csr_emulator::{Config, Emulator, Fault};
use support::proxy::{Fault as ProxyFault, FaultyProxy};
use support::{Creds, Run, run_harness};

const SEED: &str = "20240607";

fn emulator(faults: &[Fault]) -> Emulator {
    Emulator::start(Config {
        preload: 4,
        faults: faults.to_vec(),
        ..Config::default()
    })
    .expect("start the emulator")
}

fn run_properties(fault: Fault, filter: &str) -> Run {
    let emu = emulator(&[fault]);
    run_harness(
        &emu.base_url(),
        &Creds::of_emulator(emu.config()),
        &["--seed", SEED, filter],
    )
}

/// The report of the first failed trial `property::<scope>::<suffix>` that fired one of `rules`.
#[track_caller]
fn assert_caught(fault: Fault, suffix: &str, rules: &[&str]) -> String {
    assert_caught_in("property::", fault, suffix, rules)
}

/// [`assert_caught`] running only the trials `filter` selects.
#[track_caller]
fn assert_caught_in(filter: &str, fault: Fault, suffix: &str, rules: &[&str]) -> String {
    let run = run_properties(fault, filter);
    assert_eq!(run.code, 1, "{fault} must fail the run\n{}", run.summary());
    assert!(
        run.trials.iter().all(|t| t.starts_with("property::")),
        "only generated trials ran"
    );
    let (trial, _) = run
        .fired
        .iter()
        .find(|(t, r)| {
            t.starts_with("property::") && t.ends_with(suffix) && rules.contains(&r.as_str())
        })
        .unwrap_or_else(|| panic!("{fault}: no {rules:?} in *{suffix}\n{}", run.summary()));
    let detail = run.details[trial].clone();
    for part in [
        "minimal input: ",
        "original input: ",
        "curl -sS -X ",
        &format!("seed: {SEED}"),
        &format!("reproduce with: csr-conformance --seed {SEED} --exact '{trial}'"),
    ] {
        assert!(detail.contains(part), "{fault}: no {part:?} in\n{detail}");
    }
    assert!(
        !detail.contains(Config::default().token.as_str()),
        "the token must not appear"
    );
    detail
}

/// The text after `label: ` in a report, up to the next field.
fn field<'a>(detail: &'a str, label: &str) -> &'a str {
    let start = detail.find(&format!("{label}: ")).expect(label) + label.len() + 2;
    let rest = &detail[start..];
    let end = rest.find("\n  original input:").unwrap_or(rest.len());
    assert!(
        !rest[..end].contains("characters in all)"),
        "cut short: {rest}"
    );
    rest[..end].trim()
}

fn minimal_body(detail: &str) -> serde_json::Value {
    serde_json::from_str(field(detail, "minimal input")).expect("a JSON body")
}

#[test]
fn off_by_one_on_the_valid_side_of_a_limit() {
    let d = assert_caught(
        Fault::CommonNameLimitOffByOne,
        "valid_creates",
        &["property.created"],
    );
    let body = minimal_body(&d);
    assert_eq!(
        body["common_name"].as_str().unwrap().chars().count(),
        64,
        "the minimal input sits exactly at the limit: {body}"
    );
    assert_eq!(body["state"], "a", "unrelated fields shrink away: {body}");
    assert_simplest_but(&body, "common_name");
}

/// Every field of `body` but `field` is at its simplest: country `US`, one-character subject
/// fields, the one SAN `a.com`, no optional field.
#[track_caller]
fn assert_simplest_but(body: &serde_json::Value, field: &str) {
    let mut simplest = serde_json::json!({
        "country": "US", "state": "a", "locality": "a", "organization": "a",
        "common_name": "a", "sans": ["a.com"],
    });
    simplest[field] = body[field].clone();
    assert_eq!(body, &simplest, "every field but {field} at its simplest");
}

#[test]
fn subject_mangled_for_some_characters() {
    let d = assert_caught(
        Fault::EscapeDnSpecials,
        "valid_creates",
        &["pem.subject", "pem.common-name"],
    );
    let body = minimal_body(&d);
    let specials = [',', '+', '=', '"', '\\', '<', '>', ';', '#'];
    let field = [
        "state",
        "locality",
        "organization",
        "common_name",
        "organizational_unit",
    ]
    .into_iter()
    .find(|f| body[f].as_str().is_some_and(|v| v.contains(specials)))
    .unwrap_or_else(|| {
        panic!("a field of the minimal input holds a character the fault mangles: {body}")
    });
    assert!(
        body[field].as_str().unwrap().chars().count() <= 4,
        "the mangled field is shrunk to a few characters: {body}"
    );
    assert_simplest_but(&body, field);
}

#[test]
fn sans_beyond_some_count_dropped_from_the_csr() {
    let d = assert_caught(Fault::TruncateSans, "valid_creates", &["pem.sans"]);
    let body = minimal_body(&d);
    let sans = body["sans"].as_array().unwrap();
    assert!(
        (101..=120).contains(&sans.len()),
        "only more than 100 SANs show the fault, and not many more are left: {body}"
    );
    assert!(
        sans.iter().all(|s| s.as_str().unwrap().len() <= 8),
        "each SAN at its simplest (`aN.com`): {body}"
    );
    assert_simplest_but(&body, "sans");
}

#[test]
fn deleted_csrs_still_listed() {
    // Alone, so that what other properties delete (a create the contract leaves open, with a
    // country "USA") does not fail the walks by the schema first.
    let d = assert_caught_in(
        "property::zone::sequences",
        Fault::ListDeleted,
        "sequences",
        &["model.deleted-listed"],
    );
    assert!(field(&d, "minimal input").contains("delete"), "{d}");
}

#[test]
fn creates_lost_after_many_writes() {
    let d = assert_caught(
        Fault::DropCreatesWhenFull,
        "volume",
        &["model.listed-once", "property.get-same"],
    );
    assert!(
        field(&d, "minimal input").contains("grow the scope by"),
        "{d}"
    );
}

#[test]
fn creates_lost_under_concurrency() {
    let d = assert_caught(
        Fault::RacyCreates,
        "sequences",
        &["model.listed-once", "property.get-same"],
    );
    assert!(field(&d, "minimal input").contains("burst"), "{d}");
}

#[test]
fn list_direction_ignored() {
    let d = assert_caught(
        Fault::IgnoreDirection,
        "account::list_params",
        &["property.list-order"],
    );
    assert!(
        field(&d, "minimal input").contains("direction=\"desc\""),
        "{d}"
    );
}

#[test]
fn server_error_for_some_id_shapes() {
    let d = assert_caught(Fault::CrashOnIdShape, "ids", &["property.no-5xx"]);
    assert!(field(&d, "minimal input").contains("(36 chars)"), "{d}");
}

#[test]
fn server_error_for_some_list_parameters() {
    let d = assert_caught(
        Fault::CrashOnLargePerPage,
        "list_params",
        &["property.no-5xx"],
    );
    assert!(field(&d, "minimal input").contains("per_page"), "{d}");
}

#[test]
fn delete_under_a_foreign_scope_takes_effect() {
    let d = assert_caught(
        Fault::DeleteIgnoresScope,
        "sequences",
        &["model.foreign-scope"],
    );
    assert!(
        field(&d, "minimal input").contains("foreign scope id"),
        "{d}"
    );
}

#[test]
fn created_at_in_the_future() {
    assert_caught(
        Fault::CreatedAtFuture,
        "valid_creates",
        &["property.created-at"],
    );
}

/// How many CSRs the emulator holds in the scopes the driver checks.
fn held(emu: &Emulator) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let mut total = 0;
    for scope in [
        format!("accounts/{}", support::ACCOUNT_ID),
        format!("zones/{}", support::ZONE_ID),
    ] {
        let body: serde_json::Value = rt.block_on(async {
            client
                .get(format!("{}/{scope}/custom_csrs", emu.base_url()))
                .bearer_auth(&emu.config().token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        total += body["result_info"]["total_count"].as_u64().unwrap();
    }
    total
}

#[test]
fn what_generated_cases_create_is_deleted_also_after_failures() {
    for faults in [&[][..], &[Fault::CreatedAtFuture][..]] {
        let emu = emulator(faults);
        let run = run_harness(
            &emu.base_url(),
            &Creds::of_emulator(emu.config()),
            &["--seed", SEED, "property::"],
        );
        assert_eq!(run.code, i32::from(!faults.is_empty()), "{}", run.summary());
        assert!(
            run.stderr.lines().all(|l| !l.contains("cleanup:")),
            "{}",
            run.stderr
        );
        assert_eq!(
            held(&emu),
            8,
            "only the 4 preloaded CSRs per scope are left"
        );
    }
}

/// The last line of a run's output, which CI reads.
fn summary_line(run: &Run) -> (u64, u64, f64, String) {
    let line = run
        .stdout
        .lines()
        .rfind(|l| l.contains(" requests ("))
        .unwrap_or_default();
    let rest = line
        .strip_prefix("csr-conformance: ")
        .unwrap_or_else(|| panic!("summary line missing: {line:?}"));
    let words: Vec<&str> = rest.split(' ').collect();
    // N requests (G generated) in T s, seed S
    assert_eq!(
        (words[1], words[3], words[4], words[6], words[7]),
        ("requests", "generated)", "in", "s,", "seed"),
        "{line:?}"
    );
    (
        words[0].parse().unwrap(),
        words[2].trim_start_matches('(').parse().unwrap(),
        words[5].parse().unwrap(),
        words[8].to_string(),
    )
}

#[test]
fn the_emulator_passes_every_property_and_the_summary_line_counts_requests() {
    let emu = emulator(&[]);
    let run = run_harness(
        &emu.base_url(),
        &Creds::of_emulator(emu.config()),
        &["--seed", SEED],
    );
    assert_eq!(run.code, 0, "{}", run.summary());
    assert!(run.failed_trials.is_empty() && run.errored_trials.is_empty());
    let generated = run
        .trials
        .iter()
        .filter(|t| t.starts_with("property::"))
        .count();
    assert_eq!(generated, 16, "8 properties in 2 scopes");
    let (requests, generated_requests, _secs, seed) = summary_line(&run);
    assert_eq!(seed, SEED);
    assert!(
        requests >= 1000 && generated_requests > 0 && generated_requests < requests,
        "{requests} {generated_requests}"
    );
    assert!(
        run.junit
            .contains(&format!("<property name=\"seed\" value=\"{SEED}\"/>"))
    );
    support::assert_junit_valid(&run);
}

#[test]
fn the_independent_server_passes_every_property() {
    let c = Creds::emulator_defaults();
    let server = spawn::independent_server_with(
        c.token.as_deref().unwrap(),
        c.email.as_deref().unwrap(),
        c.api_key.as_deref().unwrap(),
        &["--preload", "4"],
    );
    let run = run_harness(&server.base_url, &c, &["--seed", SEED, "property::"]);
    assert_eq!(run.code, 0, "{}\n{:#?}", run.summary(), run.details);
    assert!(run.failed_trials.is_empty() && run.errored_trials.is_empty());
    assert_eq!(run.trials.len(), 16);
}

/// Server-made ids, ports and times differ between runs; nothing else may.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let is_hex = |c: char| c.is_ascii_hexdigit();
    while i < chars.len() {
        // A UUID: 8-4-4-4-12 hex digits.
        if i + 36 <= chars.len() {
            let cand: String = chars[i..i + 36].iter().collect();
            let shape_ok = cand.chars().enumerate().all(|(k, c)| {
                if [8, 13, 18, 23].contains(&k) {
                    c == '-'
                } else {
                    is_hex(c)
                }
            });
            if shape_ok {
                out.push_str("<uuid>");
                i += 36;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    let mut lines = Vec::new();
    for line in out.lines() {
        // The run's duration and its command line (which names its own report path).
        if line.contains("name=\"duration_secs\"") || line.contains("name=\"command\"") {
            lines.push("<run-specific property>".to_string());
            continue;
        }
        let mut l = line.to_string();
        for (attr, end) in [("time=\"", '"'), ("timestamp=\"", '"'), ("127.0.0.1:", '/')] {
            let mut from = 0;
            while let Some(at) = l[from..].find(attr) {
                let start = from + at + attr.len();
                let stop = l[start..]
                    .find([end, '\'', ' '])
                    .map_or(l.len(), |e| start + e);
                l.replace_range(start..stop, "_");
                from = start + 1;
            }
        }
        // Milliseconds in exchange lines and seconds in notes.
        let l = l
            .split(' ')
            .map(|w| {
                if w.trim_start_matches('(')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.')
                    && !w.is_empty()
                {
                    "#"
                } else {
                    w
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        lines.push(l);
    }
    lines.join("\n")
}

fn recorded_run(seed: &str) -> (Vec<String>, Run) {
    let proxy = FaultyProxy::start_preloaded(ProxyFault::None, 4).expect("start the proxy");
    let run = run_harness(
        &proxy.base_url(),
        &proxy.creds(),
        &["--seed", seed, "--test-threads", "1", "property::"],
    );
    assert_eq!(run.code, 0, "{}", run.summary());
    let requests = proxy.requests().iter().map(|r| masked(r)).collect();
    (requests, run)
}

#[test]
fn the_same_seed_sends_the_same_requests_and_gives_the_same_report() {
    let (first, first_run) = recorded_run(SEED);
    let (second, second_run) = recorded_run(SEED);
    assert!(first.len() > 1000, "{} requests", first.len());
    // The creates of a concurrency burst or of a sequence's growth, and the deletes of its
    // teardown, reach the server in whatever order the scheduler picks; they are compared as
    // sets (each run of consecutive deletes sorted), everything else in order.
    let in_order = |log: &[String]| -> Vec<String> {
        let mut out: Vec<String> = log
            .iter()
            .filter(|r| !r.contains("\"seq-"))
            .cloned()
            .collect();
        let mut i = 0;
        while i < out.len() {
            let run = out[i..]
                .iter()
                .take_while(|r| r.starts_with("DELETE "))
                .count();
            out[i..i + run].sort();
            i += run.max(1);
        }
        out
    };
    let (a, b) = (in_order(&first), in_order(&second));
    if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
        panic!("request {i} differs:\n{}\n{}", a[i], b[i]);
    }
    assert_eq!(a.len(), b.len());
    let sorted = |log: &[String]| {
        let mut l = log.to_vec();
        l.sort();
        l
    };
    assert_eq!(sorted(&first), sorted(&second));
    assert_eq!(masked(&first_run.junit), masked(&second_run.junit));
    let (other, _) = recorded_run("7");
    assert_ne!(first, other, "another seed, other requests");
}
