//! The three readings of what Cloudflare's documentation leaves open (`Config::reading`), row
//! by row of the table in `src/reading.rs`, through the router without a socket: for each row
//! the lenient, the default and the strict answer. The default's answers are the emulator's
//! as they were before readings existed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use csr_emulator::{App, Config, Fault, Reading, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod support;

const ACCOUNT: &str = "/client/v4/accounts/account_id/custom_csrs";
const ZONE: &str = "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/custom_csrs";
const LENIENT: Reading = Reading::Lenient;
const DEFAULT: Reading = Reading::Default;
const STRICT: Reading = Reading::Strict;

fn emulator_with(reading: Reading, faults: Vec<Fault>) -> App {
    app(Config {
        key_pool_size: 0,
        // One key of each type, shared: these tests are about validation, not keys.
        reuse_keys: 1,
        reading,
        faults,
        ..Config::default()
    })
}

fn emulator(reading: Reading) -> App {
    emulator_with(reading, Vec::new())
}

struct Reply {
    status: StatusCode,
    body: Value,
}

/// Any answer, 5xx included; always JSON with a JSON content type.
async fn send_any(app: &App, method: Method, uri: &str, auth: bool, body: Option<&Value>) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if auth {
        req = req.header(
            "authorization",
            format!("Bearer {}", Config::default().token),
        );
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    assert_eq!(
        resp.headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .as_deref(),
        Some("application/json"),
        "{status} {uri}"
    );
    let raw = resp.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&raw)
        .unwrap_or_else(|e| panic!("{uri}: body is not JSON ({e}): {raw:?}"));
    Reply { status, body }
}

/// An answer that must not be a 5xx, with credentials.
async fn send(app: &App, method: Method, uri: &str, body: Option<&Value>) -> Reply {
    let r = send_any(app, method, uri, true, body).await;
    assert!(
        !r.status.is_server_error(),
        "{uri} gave {}: {}",
        r.status,
        r.body
    );
    r
}

fn assert_error(r: &Reply, status: StatusCode, codes: &[u64], context: &str) {
    assert_eq!(r.status, status, "{context}: {}", r.body);
    assert_eq!(r.body["success"], json!(false), "{context}: {}", r.body);
    assert_eq!(r.body["messages"], json!([]), "{context}: {}", r.body);
    assert_eq!(r.body["result"], Value::Null, "{context}: {}", r.body);
    let got: Vec<u64> = r.body["errors"]
        .as_array()
        .expect("errors is an array")
        .iter()
        .map(|e| e["code"].as_u64().unwrap())
        .collect();
    assert_eq!(got, codes, "{context}: {}", r.body);
}

fn assert_success(r: &Reply, status: StatusCode, context: &str) {
    assert_eq!(r.status, status, "{context}: {}", r.body);
    assert_eq!(r.body["success"], json!(true), "{context}: {}", r.body);
    assert_eq!(r.body["errors"], json!([]), "{context}");
}

fn body() -> Value {
    json!({
        "country": "US",
        "state": "California",
        "locality": "San Francisco",
        "organization": "Shop, Inc.",
        "common_name": "shop.net",
        "sans": ["shop.net"],
        "key_type": "p256v1",
    })
}

fn with(patch: &[(&str, Value)]) -> Value {
    let mut b = body();
    for (k, v) in patch {
        b[*k] = v.clone();
    }
    b
}

/// What a create must answer in one reading.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// 201, and the result echoes the body: every string field as sent (`key_type` as
    /// `key_type`), optional fields sent as `null` left out, `name` / `description` only in
    /// accounts, and a PEM CSR.
    Created { key_type: &'static str },
    /// 400 with these codes.
    Refused(&'static [u64]),
}

const P256: Want = Want::Created { key_type: "p256v1" };
const RSA: Want = Want::Created {
    key_type: "rsa2048",
};

fn assert_echo(result: &Value, sent: &Value, uri: &str, key_type: &str, context: &str) {
    let zone = uri.contains("/zones/");
    for field in [
        "country",
        "state",
        "locality",
        "organization",
        "common_name",
        "sans",
    ] {
        assert_eq!(result[field], sent[field], "{context}: {field}");
    }
    for field in ["organizational_unit", "name", "description"] {
        match &sent[field] {
            Value::String(_) if !(zone && field != "organizational_unit") => {
                assert_eq!(result[field], sent[field], "{context}: {field}")
            }
            _ => assert!(result.get(field).is_none(), "{context}: {field}: {result}"),
        }
    }
    assert_eq!(result["key_type"], key_type, "{context}");
    assert_eq!(result.get("account_tag").is_some(), !zone, "{context}");
    let obj = result.as_object().unwrap();
    for key in obj.keys() {
        assert!(
            [
                "id",
                "created_at",
                "csr",
                "key_type",
                "country",
                "state",
                "locality",
                "organization",
                "organizational_unit",
                "common_name",
                "sans",
                "account_tag",
                "name",
                "description"
            ]
            .contains(&key.as_str()),
            "{context}: unexpected {key}"
        );
    }
    let csr = result["csr"].as_str().expect("csr is a string");
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n")
            && csr
                .trim_end()
                .ends_with("-----END CERTIFICATE REQUEST-----"),
        "{context}: {csr}"
    );
}

/// Creates `sent` under `uri` in each reading, [lenient, default, strict], and checks the
/// answer against `wants`.
async fn creates(row: &str, uri: &str, sent: Value, wants: [Want; 3]) {
    for (reading, want) in Reading::ALL.into_iter().zip(wants) {
        let context = format!("row {row}, {reading}, {uri}, {sent}");
        let app = emulator(reading);
        let r = send(&app, Method::POST, uri, Some(&sent)).await;
        match want {
            Want::Created { key_type } => {
                assert_success(&r, StatusCode::CREATED, &context);
                assert_echo(&r.body["result"], &sent, uri, key_type, &context);
                // And it is kept as answered.
                let id = r.body["result"]["id"].as_str().unwrap();
                let got = send(&app, Method::GET, &format!("{uri}/{id}"), None).await;
                assert_eq!(got.body["result"], r.body["result"], "{context}");
            }
            Want::Refused(codes) => assert_error(&r, StatusCode::BAD_REQUEST, codes, &context),
        }
    }
}

fn san_of_len(len: usize) -> String {
    // Labels of at most 63 characters, ending in `.net`.
    let mut s = String::new();
    while s.len() + 4 < len {
        if !s.is_empty() {
            s.push('.');
        }
        let room = (len - 4 - s.len()).min(63);
        let room = if len - 4 - s.len() - room == 1 {
            room - 1
        } else {
            room
        };
        s.push_str(&"a".repeat(room));
    }
    s.push_str(".net");
    assert_eq!(s.len(), len, "{s}");
    s
}

// ---------------------------------------------------------------- create bodies

#[tokio::test]
async fn row_01_hyphen_at_the_edge_of_an_inner_label() {
    for san in ["a-.shop.net", "x.-b.shop.net", "*.a-.shop.net"] {
        let sent = with(&[("sans", json!([san]))]);
        creates("1", ZONE, sent, [P256, Refused(&[1412]), Refused(&[1412])]).await;
    }
    // The very first and last characters of the name stay 1412 in every reading.
    for san in ["-a.shop.net", "shop.net-", "*.-a.shop.net", "-"] {
        let sent = with(&[("sans", json!([san]))]);
        let refused = Refused(&[1412]);
        creates("1", ZONE, sent, [refused; 3]).await;
    }
}

use Want::Refused;

#[tokio::test]
async fn row_02_a_san_of_exactly_256_characters() {
    let sent = with(&[("sans", json!([san_of_len(256)]))]);
    creates(
        "2",
        ACCOUNT,
        sent,
        [P256, Refused(&[1412]), Refused(&[1412])],
    )
    .await;
    let sent = with(&[("sans", json!([san_of_len(255)]))]);
    creates("2", ACCOUNT, sent, [P256; 3]).await;
    let sent = with(&[("sans", json!([san_of_len(257)]))]);
    creates("2", ACCOUNT, sent, [Refused(&[1412]); 3]).await;
}

#[tokio::test]
async fn row_03_a_common_name_of_64_characters_but_more_bytes() {
    let sent = with(&[("common_name", json!("é".repeat(64)))]);
    creates("3", ZONE, sent, [P256, P256, Refused(&[1410])]).await;
    let sent = with(&[("common_name", json!("a".repeat(64)))]);
    creates("3", ZONE, sent, [P256; 3]).await;
    let sent = with(&[("common_name", json!("é".repeat(65)))]);
    creates("3", ZONE, sent, [Refused(&[1410]); 3]).await;
}

#[tokio::test]
async fn row_04_unknown_body_fields_are_ignored() {
    for uri in [ACCOUNT, ZONE] {
        let sent = with(&[("scope", json!("Zone")), ("extra", json!({"a": [1]}))]);
        // `assert_echo` refuses keys it does not know: they are not echoed.
        creates("4", uri, sent, [P256; 3]).await;
    }
}

#[tokio::test]
async fn row_05_name_and_description_are_ignored_in_zones() {
    for (name, description) in [
        (json!(""), json!("")),
        (json!("n"), json!("d")),
        (json!(null), json!(null)),
        (json!(5), json!(["x"])),
        (json!("n".repeat(65)), json!("d".repeat(65))),
    ] {
        let sent = with(&[("name", name), ("description", description)]);
        creates("5", ZONE, sent, [P256; 3]).await;
    }
    // In accounts `""` is kept as sent, in every reading.
    let sent = with(&[("name", json!("")), ("description", json!(""))]);
    creates("5", ACCOUNT, sent, [P256; 3]).await;
}

#[tokio::test]
async fn row_06_an_optional_field_sent_as_null() {
    let sent = with(&[("organizational_unit", Value::Null)]);
    for uri in [ACCOUNT, ZONE] {
        creates("6", uri, sent.clone(), [P256, P256, Refused(&[1400])]).await;
    }
    let sent = with(&[("key_type", Value::Null)]);
    creates("6", ZONE, sent, [RSA, RSA, Refused(&[1417])]).await;
    for field in ["name", "description"] {
        let sent = with(&[(field, Value::Null)]);
        creates("6", ACCOUNT, sent, [P256, P256, Refused(&[1400])]).await;
    }
    // A required field or the SANs as null stay what they were.
    let sent = with(&[("locality", Value::Null)]);
    creates("6", ZONE, sent, [Refused(&[1407]); 3]).await;
    let sent = with(&[("sans", Value::Null)]);
    creates("6", ZONE, sent, [Refused(&[1411]); 3]).await;
}

#[tokio::test]
async fn row_11_an_underscore_in_a_san() {
    for san in ["a_b.shop.net", "_dmarc.shop.net"] {
        let sent = with(&[("sans", json!([san]))]);
        creates("11", ZONE, sent, [P256, Refused(&[1412]), Refused(&[1412])]).await;
    }
}

#[tokio::test]
async fn row_12_key_type_in_another_case() {
    let sent = with(&[("key_type", json!("RSA2048"))]);
    creates("12", ZONE, sent, [RSA, Refused(&[1417]), Refused(&[1417])]).await;
    let sent = with(&[("key_type", json!("P256V1"))]);
    creates("12", ZONE, sent, [P256, Refused(&[1417]), Refused(&[1417])]).await;
    // Other names stay 1417 everywhere.
    let sent = with(&[("key_type", json!("RSA4096"))]);
    creates("12", ZONE, sent, [Refused(&[1417]); 3]).await;
}

#[tokio::test]
async fn row_13_an_empty_key_type() {
    let sent = with(&[("key_type", json!(""))]);
    creates(
        "13",
        ACCOUNT,
        sent,
        [RSA, Refused(&[1417]), Refused(&[1417])],
    )
    .await;
    let sent = with(&[("key_type", json!(" "))]);
    creates("13", ACCOUNT, sent, [Refused(&[1417]); 3]).await;
}

#[tokio::test]
async fn row_14_a_san_label_of_64_characters_or_more() {
    for len in [64, 200] {
        let sent = with(&[("sans", json!([format!("{}.shop.net", "a".repeat(len))]))]);
        creates("14", ZONE, sent, [P256, Refused(&[1412]), Refused(&[1412])]).await;
    }
    let sent = with(&[("sans", json!([format!("{}.shop.net", "a".repeat(63))]))]);
    creates("14", ZONE, sent, [P256; 3]).await;
}

#[tokio::test]
async fn row_15_upper_case_in_a_san() {
    for san in ["WWW.Shop.net", "*.SHOP.NET"] {
        let sent = with(&[("sans", json!([san]))]);
        creates("15", ACCOUNT, sent, [P256, P256, Refused(&[1412])]).await;
    }
    // Reserved and example names stay their own codes, whatever their case.
    let sent = with(&[("sans", json!(["WWW.EXAMPLE.COM"]))]);
    creates("15", ACCOUNT, sent, [Refused(&[1416]); 3]).await;
    let sent = with(&[("sans", json!(["LOCALHOST"]))]);
    creates("15", ACCOUNT, sent, [Refused(&[1414]); 3]).await;
}

#[tokio::test]
async fn row_16_the_same_san_twice() {
    let sent = with(&[("sans", json!(["shop.net", "www.shop.net", "shop.net"]))]);
    creates("16", ZONE, sent, [P256, P256, Refused(&[1412])]).await;
    // Names that differ are not duplicates.
    let sent = with(&[("sans", json!(["shop.net", "*.shop.net"]))]);
    creates("16", ZONE, sent, [P256; 3]).await;
}

#[tokio::test]
async fn row_17_a_country_that_is_not_two_upper_case_letters() {
    for country in ["us", "USA", "U1", "U", "Ü"] {
        let sent = with(&[("country", json!(country))]);
        creates("17", ZONE, sent, [P256, P256, Refused(&[10400])]).await;
    }
    // Two upper-case letters, assigned or not, are fine in every reading.
    for country in ["XX", "PT"] {
        let sent = with(&[("country", json!(country))]);
        creates("17", ZONE, sent, [P256; 3]).await;
    }
}

#[tokio::test]
async fn row_18_a_required_subject_field_of_only_whitespace() {
    for (field, code) in [
        ("country", 1405),
        ("state", 1406),
        ("locality", 1407),
        ("organization", 1408),
        ("common_name", 1409),
    ] {
        let codes: &'static [u64] = match code {
            1405 => &[1405],
            1406 => &[1406],
            1407 => &[1407],
            1408 => &[1408],
            _ => &[1409],
        };
        let sent = with(&[(field, json!("   "))]);
        creates("18", ACCOUNT, sent, [P256, Refused(codes), Refused(codes)]).await;
        // The empty string is "required" in every reading.
        let sent = with(&[(field, json!(""))]);
        creates("18", ACCOUNT, sent, [Refused(codes); 3]).await;
    }
}

#[tokio::test]
async fn row_19_subject_fields_over_their_x520_bounds() {
    for (field, max) in [
        ("organization", 64),
        ("organizational_unit", 64),
        ("locality", 128),
        ("state", 128),
    ] {
        let sent = with(&[(field, json!("é".repeat(max + 1)))]);
        creates("19", ZONE, sent, [P256, P256, Refused(&[10400])]).await;
        let sent = with(&[(field, json!("é".repeat(max)))]);
        creates("19", ZONE, sent, [P256; 3]).await;
    }
}

#[tokio::test]
async fn row_20_account_name_and_description_over_64_characters() {
    for field in ["name", "description"] {
        let sent = with(&[(field, json!("n".repeat(65)))]);
        creates("20", ACCOUNT, sent, [P256, P256, Refused(&[10400])]).await;
        let sent = with(&[(field, json!("n".repeat(64)))]);
        creates("20", ACCOUNT, sent, [P256; 3]).await;
    }
}

#[tokio::test]
async fn what_the_table_does_not_name_answers_alike_in_every_reading() {
    for (patch, want) in [
        (("sans", json!(["192.0.2.1"])), Refused(&[1412])),
        (("sans", json!(["bücher.de"])), Refused(&[1413])),
        (("sans", json!(["host.test"])), Refused(&[1414])),
        (("sans", json!(["www.example.com"])), Refused(&[1416])),
        (("sans", json!(["a..shop.net"])), Refused(&[1412])),
        (("sans", json!(["a b.shop.net"])), Refused(&[1412])),
        (("sans", json!(["single"])), Refused(&[1412])),
        (("sans", json!([])), Refused(&[1411])),
        (("sans", json!(["*.shop.net"])), P256),
        (("common_name", json!("a".repeat(65))), Refused(&[1410])),
        (("organizational_unit", json!(5)), Refused(&[1400])),
        (("key_type", json!(2048)), Refused(&[1417])),
    ] {
        let sent = with(&[patch]);
        creates("-", ZONE, sent, [want; 3]).await;
    }
    let mut sent = body();
    sent.as_object_mut().unwrap().remove("country");
    creates("-", ZONE, sent, [Refused(&[1405]); 3]).await;
    let many: Vec<String> = (0..151).map(|i| format!("h{i}.shop.net")).collect();
    creates(
        "-",
        ZONE,
        with(&[("sans", json!(many))]),
        [Refused(&[1412]); 3],
    )
    .await;
    for reading in Reading::ALL {
        let r = send(&emulator(reading), Method::POST, ZONE, None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[1400], "empty body");
    }
}

/// x509-parser's view of a CSR: subject (short name, value) in order, DNS SANs in order.
fn parse_csr(pem_text: &str) -> (Vec<(String, String)>, Vec<String>) {
    let csr = support::parse_csr(pem_text);
    let subject = csr.subject.into_iter().map(|(k, v, _)| (k, v)).collect();
    (subject, csr.sans)
}

#[tokio::test]
async fn what_lenient_accepts_still_makes_a_csr_that_agrees_with_its_fields() {
    let sans = json!([
        san_of_len(256),
        format!("{}.shop.net", "b".repeat(100)),
        "A_b.x-.Shop.NET",
        "A_b.x-.Shop.NET",
        "*.shop.net",
    ]);
    let sent = json!({
        "country": "u1 ",
        "state": "   ",
        "locality": "l".repeat(400),
        "organization": "Ö, \"+;<>#\\ ".repeat(30),
        "organizational_unit": "\t",
        "common_name": "é".repeat(64),
        "sans": sans,
        "key_type": "P256V1",
        "name": "n".repeat(300),
    });
    let app = emulator(LENIENT);
    let r = send(&app, Method::POST, ACCOUNT, Some(&sent)).await;
    assert_success(&r, StatusCode::CREATED, "lenient extremes");
    let result = &r.body["result"];
    assert_echo(result, &sent, ACCOUNT, "p256v1", "lenient extremes");
    let (subject, sans) = parse_csr(result["csr"].as_str().unwrap());
    let s = |k: &str| sent[k].as_str().unwrap().to_owned();
    assert_eq!(
        subject,
        [
            ("C".to_owned(), s("country")),
            ("ST".to_owned(), s("state")),
            ("L".to_owned(), s("locality")),
            ("O".to_owned(), s("organization")),
            ("OU".to_owned(), s("organizational_unit")),
            ("CN".to_owned(), s("common_name")),
        ]
    );
    let sent_sans: Vec<String> = serde_json::from_value(sent["sans"].clone()).unwrap();
    assert_eq!(sans, sent_sans);
}

// ---------------------------------------------------------------- paths

async fn list_ids(app: &App, uri: &str) -> Vec<String> {
    let r = send(app, Method::GET, uri, None).await;
    assert_success(&r, StatusCode::OK, uri);
    r.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn row_07_a_trailing_slash_or_a_dot_after_the_collection() {
    let slash = format!("{ACCOUNT}/");
    let dots = [
        format!("{ACCOUNT}/."),
        format!("{ACCOUNT}/%2E"),
        format!("{ACCOUNT}/%2e"),
    ];

    // Lenient: the collection itself, for every method and with its query.
    let app = emulator(LENIENT);
    let made = send(&app, Method::POST, &slash, Some(&body())).await;
    assert_success(&made, StatusCode::CREATED, "lenient POST …/");
    let made_dot = send(&app, Method::POST, &dots[1], Some(&body())).await;
    assert_success(&made_dot, StatusCode::CREATED, "lenient POST …/%2E");
    let whole = send(&app, Method::GET, ACCOUNT, None).await;
    assert_eq!(whole.body["result"].as_array().unwrap().len(), 2);
    for uri in std::iter::once(&slash).chain(&dots) {
        let r = send(&app, Method::GET, uri, None).await;
        assert_success(&r, StatusCode::OK, uri);
        assert_eq!(r.body, whole.body, "{uri} is the list");
        assert_eq!(r.body["result_info"]["total_count"], 2, "{uri}");
        let r = send(&app, Method::GET, &format!("{uri}?per_page=5&page=2"), None).await;
        assert_eq!(r.body["result_info"]["page"], 2, "{uri}: the query is kept");
        assert_eq!(r.body["result_info"]["per_page"], 5, "{uri}");
        let r = send_any(&app, Method::GET, uri, false, None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[9106], uri);
        let r = send(&app, Method::DELETE, uri, None).await;
        assert_error(&r, StatusCode::METHOD_NOT_ALLOWED, &[10405], uri);
    }
    let zone_slash = format!("{ZONE}/");
    let r = send(&app, Method::GET, &zone_slash, None).await;
    assert_eq!(r.body["result_info"]["per_page"], 20, "zones' own default");
    // Only right after the collection: deeper or doubled slashes stay route errors.
    for uri in [
        format!("{ACCOUNT}//"),
        format!("{ACCOUNT}/x/"),
        "/client/v4/accounts/account_id/".to_owned(),
    ] {
        let r = send(&app, Method::GET, &uri, None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000], &uri);
    }

    // Default: a trailing slash is the route error (before credentials), `.` an invalid id.
    let app = emulator(DEFAULT);
    for auth in [false, true] {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let r = send_any(&app, method.clone(), &slash, auth, Some(&body())).await;
            assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000], "default …/");
        }
    }
    for uri in &dots {
        let r = send(&app, Method::GET, uri, None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[1418], uri);
        let r = send(&app, Method::DELETE, uri, None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[1418], uri);
    }

    // Strict: both are route errors; `.` once the credentials passed, like a bad scope id.
    let app = emulator(STRICT);
    for auth in [false, true] {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let r = send_any(&app, method.clone(), &slash, auth, Some(&body())).await;
            assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000], "strict …/");
        }
    }
    for uri in &dots {
        for method in [Method::GET, Method::DELETE] {
            let r = send(&app, method.clone(), uri, None).await;
            assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000], uri);
            let r = send_any(&app, method, uri, false, None).await;
            assert_error(&r, StatusCode::BAD_REQUEST, &[9106], uri);
        }
        // A POST to an item path is 405, as it always was.
        let r = send(&app, Method::POST, uri, Some(&body())).await;
        assert_error(&r, StatusCode::METHOD_NOT_ALLOWED, &[10405], uri);
    }
    // `..` is an invalid id in every reading.
    for reading in Reading::ALL {
        let r = send(
            &emulator(reading),
            Method::GET,
            &format!("{ACCOUNT}/.."),
            None,
        )
        .await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[1418], "..");
    }
}

#[tokio::test]
async fn gets_of_existing_csrs_answer_alike_in_every_reading() {
    for reading in Reading::ALL {
        let app = emulator(reading);
        let made = send(&app, Method::POST, ZONE, Some(&body())).await;
        let id = made.body["result"]["id"].as_str().unwrap();
        for uri in [format!("{ZONE}/{id}"), format!("{}/{id}", &ZONE[10..])] {
            let got = send(&app, Method::GET, &uri, None).await;
            assert_success(&got, StatusCode::OK, &uri);
            assert_eq!(got.body["result"], made.body["result"]);
        }
        let r = send(&app, Method::GET, &format!("{ZONE}/{id}/"), None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000], "item/");
    }
}

// ---------------------------------------------------------------- list parameters

/// An app in `reading` whose account and zone each hold CSRs named c, a, d, b, e, f, g
/// (created in that order), and the ids in creation order per scope.
async fn seeded(reading: Reading) -> (App, Vec<String>, Vec<String>) {
    let app = emulator_with(reading, Vec::new());
    let mut ids = [Vec::new(), Vec::new()];
    for name in ["c", "a", "d", "b", "e", "f", "g"] {
        for (i, uri) in [ACCOUNT, ZONE].into_iter().enumerate() {
            let r = send(
                &app,
                Method::POST,
                uri,
                Some(&with(&[("name", json!(name))])),
            )
            .await;
            assert_success(&r, StatusCode::CREATED, "seed");
            ids[i].push(r.body["result"]["id"].as_str().unwrap().to_owned());
        }
    }
    let [account, zone] = ids;
    (app, account, zone)
}

fn page_info(r: &Reply) -> (u64, u64, u64) {
    let i = &r.body["result_info"];
    (
        i["page"].as_u64().unwrap(),
        i["per_page"].as_u64().unwrap(),
        i["count"].as_u64().unwrap(),
    )
}

/// What a list query must answer in one reading: (page, per_page, count), or 400/10400.
#[derive(Clone, Copy, Debug)]
enum Page {
    Is(u64, u64, u64),
    Refused,
}

async fn lists(row: &str, uri: &str, query: &str, wants: [Page; 3]) {
    for (reading, want) in Reading::ALL.into_iter().zip(wants) {
        let (app, ..) = seeded(reading).await;
        let context = format!("row {row}, {reading}, {uri}?{query}");
        let r = send(&app, Method::GET, &format!("{uri}?{query}"), None).await;
        match want {
            Page::Is(page, per_page, count) => {
                assert_success(&r, StatusCode::OK, &context);
                assert_eq!(page_info(&r), (page, per_page, count), "{context}");
            }
            Page::Refused => assert_error(&r, StatusCode::BAD_REQUEST, &[10400], &context),
        }
    }
}

use Page::Is;

#[tokio::test]
async fn row_08_list_parameters_out_of_range_or_not_numbers() {
    let no = Page::Refused;
    for (uri, default) in [(ACCOUNT, 50), (ZONE, 20)] {
        lists("8", uri, "per_page=4", [Is(1, 5, 5), Is(1, 5, 5), no]).await;
        lists("8", uri, "per_page=-1", [Is(1, 5, 5), Is(1, 5, 5), no]).await;
        lists("8", uri, "per_page=51", [Is(1, 50, 7), Is(1, 50, 7), no]).await;
        lists(
            "8",
            uri,
            "page=0&per_page=5",
            [Is(1, 5, 5), Is(1, 5, 5), no],
        )
        .await;
        lists(
            "8",
            uri,
            "page=-2&per_page=5",
            [Is(1, 5, 5), Is(1, 5, 5), no],
        )
        .await;
        lists("8", uri, "per_page=abc", [Is(1, default, 7), no, no]).await;
        lists("8", uri, "per_page=", [Is(1, default, 7), no, no]).await;
        lists("8", uri, "page=x&per_page=5", [Is(1, 5, 5), no, no]).await;
        lists("8", uri, "page=NaN&per_page=5", [Is(1, 5, 5), no, no]).await;
        lists("8", uri, "per_page=6.5", [Is(1, 6, 6), Is(1, 6, 6), no]).await;
        lists(
            "8",
            uri,
            "page=1.5&per_page=5",
            [Is(1, 5, 5), Is(1, 5, 5), no],
        )
        .await;
        // Whole numbers in range, also written as floats, are fine in every reading.
        lists("8", uri, "page=2&per_page=5", [Is(2, 5, 2); 3]).await;
        lists("8", uri, "page=2.0&per_page=5.0", [Is(2, 5, 2); 3]).await;
        lists("8", uri, "page=9&per_page=50", [Is(9, 50, 0); 3]).await;
        lists("8", uri, "", [Is(1, default, 7); 3]).await;
    }
}

async fn sorted(app: &App, uri: &str, query: &str) -> Result<Vec<String>, Reply> {
    let r = send(app, Method::GET, &format!("{uri}?{query}"), None).await;
    if r.status != StatusCode::OK {
        return Err(r);
    }
    Ok(r.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect())
}

fn reversed(ids: &[String]) -> Vec<String> {
    ids.iter().rev().cloned().collect()
}

#[tokio::test]
async fn row_09_unknown_order_or_direction_in_accounts() {
    for reading in Reading::ALL {
        let (app, ids, _) = seeded(reading).await;
        for (query, lenient) in [
            ("order=size", ids.clone()),
            ("direction=up", ids.clone()),
            ("order=NAME", ids.clone()),
            ("order=size&direction=desc", reversed(&ids)),
        ] {
            let got = sorted(&app, ACCOUNT, query).await;
            match reading {
                Reading::Lenient => assert_eq!(got.ok(), Some(lenient), "{query}"),
                _ => assert_error(
                    &got.unwrap_err(),
                    StatusCode::BAD_REQUEST,
                    &[10400],
                    &format!("{reading} {query}"),
                ),
            }
        }
        // Known values sort in every reading.
        let by_name = sorted(&app, ACCOUNT, "order=name&direction=desc").await;
        let names = ["g", "f", "e", "d", "c", "b", "a"];
        let order = [6, 5, 4, 2, 0, 3, 1];
        assert_eq!(
            by_name.ok(),
            Some(order.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>()),
            "{reading}: {names:?}"
        );
    }
}

#[tokio::test]
async fn row_10_order_and_direction_in_zones() {
    for reading in Reading::ALL {
        let (app, _, ids) = seeded(reading).await;
        let desc = sorted(&app, ZONE, "order=created_at&direction=desc").await;
        let name_desc = sorted(&app, ZONE, "order=name&direction=desc").await;
        let bogus = sorted(&app, ZONE, "order=size&direction=up").await;
        match reading {
            Reading::Strict => {
                assert_eq!(desc.ok(), Some(reversed(&ids)));
                // Zone objects have no name: ties go by creation time.
                assert_eq!(name_desc.ok(), Some(reversed(&ids)));
                assert_error(
                    &bogus.unwrap_err(),
                    StatusCode::BAD_REQUEST,
                    &[10400],
                    "zone",
                );
            }
            _ => {
                assert_eq!(desc.ok(), Some(ids.clone()), "{reading}: ignored");
                assert_eq!(name_desc.ok(), Some(ids.clone()), "{reading}: ignored");
                assert_eq!(bogus.ok(), Some(ids.clone()), "{reading}: ignored");
            }
        }
        assert_eq!(list_ids(&app, ZONE).await, ids, "{reading}: oldest first");
    }
}

// ---------------------------------------------------------------- faults and the CLI

#[tokio::test]
async fn faults_work_in_every_reading() {
    for reading in Reading::ALL {
        let app = emulator_with(
            reading,
            vec![
                Fault::CommonNameLimitOffByOne,
                Fault::CrashOnLargePerPage,
                Fault::IgnoreDirection,
            ],
        );
        let sent = with(&[("common_name", json!("a".repeat(64)))]);
        let r = send(&app, Method::POST, ZONE, Some(&sent)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[1410], reading.name());
        let r = send_any(
            &app,
            Method::GET,
            &format!("{ZONE}?per_page=51"),
            true,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{reading}");
        let mut ids = Vec::new();
        for _ in 0..2 {
            let r = send(&app, Method::POST, ACCOUNT, Some(&body())).await;
            ids.push(r.body["result"]["id"].as_str().unwrap().to_owned());
        }
        let listed = sorted(&app, ACCOUNT, "direction=desc").await;
        assert_eq!(listed.ok(), Some(ids), "{reading}: direction ignored");
    }
}

#[test]
fn the_binary_takes_reading_and_refuses_an_unknown_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_csr-emulator"))
        .args(["--reading", "bogus"])
        .output()
        .expect("run csr-emulator");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--reading") && stderr.contains("lenient, default, strict"),
        "{stderr}"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_csr-emulator"))
        .args(["--listen", "127.0.0.1:0", "--key-pool", "0"])
        .args(["--reading", "strict"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start csr-emulator");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    let base = line
        .trim()
        .strip_prefix("csr-emulator listening on ")
        .map(str::to_owned);
    // The strict reading is on: a per_page below 5 is refused.
    let answer = base.as_ref().map(|base| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let resp = reqwest::Client::new()
                .get(format!("{base}/zones/z/custom_csrs?per_page=4"))
                .bearer_auth(Config::default().token)
                .send()
                .await
                .expect("the emulator answers");
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    });
    let _ = child.kill();
    let _ = child.wait();
    read.expect("read the listening line");
    assert!(base.is_some(), "unexpected first line: {line:?}");
    let (status, text) = answer.unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("10400"), "{text}");
}

#[tokio::test]
async fn row_21_an_empty_collection_has_one_empty_page_only_when_lenient() {
    for (reading, pages) in [(LENIENT, 1), (DEFAULT, 0), (STRICT, 0)] {
        let app = emulator(reading);
        let r = send(&app, Method::GET, ZONE, None).await;
        assert_success(&r, StatusCode::OK, ZONE);
        assert_eq!(r.body["result_info"]["total_count"], 0, "{reading}");
        assert_eq!(r.body["result_info"]["total_pages"], pages, "{reading}");
        // A collection with something in it counts its pages in every reading.
        send(&app, Method::POST, ZONE, Some(&body())).await;
        let r = send(&app, Method::GET, ZONE, None).await;
        assert_eq!(r.body["result_info"]["total_pages"], 1, "{reading}");
    }
}
