//! Every rule of the emulator, checked through the router without a socket.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use csr_emulator::{App, Config, RateLimit, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION};

mod support;
use support::parse_csr;

const ACCOUNT: &str = "/client/v4/accounts/account_id/custom_csrs";
const ZONE: &str = "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/custom_csrs";

/// No key pool: most tests use P-256, and a filler thread per router would only burn CPU.
fn config() -> Config {
    Config {
        key_pool_size: 0,
        ..Config::default()
    }
}

fn router() -> App {
    app(config())
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    raw: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Auth {
    None,
    Token,
    EmailKey,
}

async fn send_raw(
    app: &App,
    method: Method,
    uri: &str,
    auth: Auth,
    extra: &[(&str, &[u8])],
    body: Body,
) -> Reply {
    let cfg = Config::default();
    let mut req = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Token => req = req.header("authorization", format!("Bearer {}", cfg.token)),
        Auth::EmailKey => {
            req = req
                .header("x-auth-email", cfg.email)
                .header("x-auth-key", cfg.api_key)
        }
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    // Every answer, success or not, is JSON with a JSON content type.
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "{status} {uri}: {}",
        String::from_utf8_lossy(&raw)
    );
    let body: Value = serde_json::from_slice(&raw)
        .unwrap_or_else(|e| panic!("{uri}: body is not JSON ({e}): {raw:?}"));
    assert!(!status.is_server_error(), "{uri} gave {status}: {body}");
    Reply {
        status,
        headers,
        body,
        raw,
    }
}

async fn send(app: &App, method: Method, uri: &str, auth: Auth, body: Option<Value>) -> Reply {
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    send_raw(
        app,
        method,
        uri,
        auth,
        &[("content-type", b"application/json")],
        body,
    )
    .await
}

/// A failure answer: the full envelope, the status, and the error codes in order.
fn assert_error(r: &Reply, status: StatusCode, codes: &[u64]) {
    assert_eq!(r.status, status, "{}", r.body);
    let obj = r.body.as_object().expect("envelope is an object");
    assert_eq!(obj.get("success"), Some(&json!(false)), "{}", r.body);
    assert_eq!(obj.get("messages"), Some(&json!([])), "{}", r.body);
    assert_eq!(obj.get("result"), Some(&Value::Null), "{}", r.body);
    let errors = obj["errors"].as_array().expect("errors is an array");
    let got: Vec<u64> = errors.iter().map(|e| e["code"].as_u64().unwrap()).collect();
    assert_eq!(got, codes, "{}", r.body);
    for e in errors {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
}

fn assert_success(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["success"], json!(true));
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(r.body["messages"], json!([]));
}

fn create_body() -> Value {
    json!({
        "country": "US",
        "state": "California",
        "locality": "San Francisco",
        "organization": "Cloudflare-Demo, Inc.",
        "organizational_unit": "Engineering",
        "common_name": "cloudflare-demo.com",
        "sans": ["cloudflare-demo.com", "*.cloudflare-demo.com"],
        "key_type": "p256v1",
    })
}

async fn create(app: &App, uri: &str, body: Value) -> Value {
    let r = send(app, Method::POST, uri, Auth::Token, Some(body)).await;
    assert_success(&r, StatusCode::CREATED);
    r.body["result"].clone()
}

// ---------------------------------------------------------------- the four operations

#[tokio::test]
async fn create_get_list_delete_round_trip_in_both_scopes_and_base_styles() {
    let app = router();
    for base in [
        ACCOUNT,
        ZONE,
        "/accounts/acc2/custom_csrs",
        "/zones/z2/custom_csrs",
    ] {
        let created = create(&app, base, create_body()).await;
        let id = created["id"].as_str().unwrap();
        let item = format!("{base}/{id}");

        let got = send(&app, Method::GET, &item, Auth::EmailKey, None).await;
        assert_success(&got, StatusCode::OK);
        assert_eq!(got.body["result"], created);

        let listed = send(&app, Method::GET, base, Auth::Token, None).await;
        assert_success(&listed, StatusCode::OK);
        assert_eq!(listed.body["result"], json!([created]));

        let deleted = send(&app, Method::DELETE, &item, Auth::Token, None).await;
        assert_success(&deleted, StatusCode::OK);
        assert_eq!(deleted.body["result"], json!({ "id": id }));

        let gone = send(&app, Method::GET, &item, Auth::Token, None).await;
        assert_error(&gone, StatusCode::NOT_FOUND, &[1419]);
        assert_eq!(
            gone.body["errors"][0]["message"],
            "The custom CSR was not found."
        );
        let gone = send(&app, Method::DELETE, &item, Auth::Token, None).await;
        assert_error(&gone, StatusCode::NOT_FOUND, &[1419]);
    }
}

#[tokio::test]
async fn objects_echo_exactly_the_fields_sent() {
    let app = router();
    let mut body = create_body();
    body["name"] = json!("my csr");
    body["description"] = json!("for the demo");
    let acc = create(&app, ACCOUNT, body.clone()).await;
    let zone = create(&app, ZONE, body).await;

    let mut keys: Vec<&str> = acc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account_tag",
            "common_name",
            "country",
            "created_at",
            "csr",
            "description",
            "id",
            "key_type",
            "locality",
            "name",
            "organization",
            "organizational_unit",
            "sans",
            "state"
        ]
    );
    assert_eq!(acc["account_tag"], "account_id");
    assert_eq!(acc["name"], "my csr");
    assert_eq!(acc["description"], "for the demo");
    assert_eq!(
        acc["sans"],
        json!(["cloudflare-demo.com", "*.cloudflare-demo.com"])
    );
    for field in ["account_tag", "name", "description"] {
        assert!(
            zone.get(field).is_none(),
            "zone object carries {field}: {zone}"
        );
    }

    // Optional fields not sent are omitted; key_type is always there.
    let mut minimal = create_body();
    minimal
        .as_object_mut()
        .unwrap()
        .remove("organizational_unit");
    minimal.as_object_mut().unwrap().remove("key_type");
    minimal["key_type"] = json!(null);
    let m = send(&app, Method::POST, ZONE, Auth::Token, Some(minimal)).await;
    // Null key_type means "not sent": the default RSA key.
    assert_success(&m, StatusCode::CREATED);
    let m = &m.body["result"];
    assert!(m.get("organizational_unit").is_none());
    assert_eq!(m["key_type"], "rsa2048");

    let id = acc["id"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(id).expect("id is a UUID");
    assert_eq!(uuid.get_version_num(), 4);
    let created_at = acc["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z'), "{created_at}");
    ::time::OffsetDateTime::parse(created_at, &::time::format_description::well_known::Rfc3339)
        .expect("created_at is RFC 3339");
}

// ---------------------------------------------------------------- the CSR itself

#[tokio::test]
async fn p256_csr_matches_the_request() {
    let app = router();
    let obj = create(&app, ZONE, create_body()).await;
    assert_eq!(obj["key_type"], "p256v1");
    let csr = parse_csr(obj["csr"].as_str().unwrap());
    let subject: Vec<(&str, &str)> = csr
        .subject
        .iter()
        .map(|(k, v, _)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        subject,
        [
            ("C", "US"),
            ("ST", "California"),
            ("L", "San Francisco"),
            ("O", "Cloudflare-Demo, Inc."),
            ("OU", "Engineering"),
            ("CN", "cloudflare-demo.com"),
        ]
    );
    assert_eq!(csr.subject[0].2, Tag::PrintableString, "country encoding");
    assert_eq!(csr.sans, ["cloudflare-demo.com", "*.cloudflare-demo.com"]);
    assert_eq!(csr.key_algorithm, OID_KEY_TYPE_EC_PUBLIC_KEY.to_id_string());
    assert!(csr.ec_curve_p256);
}

#[tokio::test]
async fn rsa2048_is_the_default_with_and_without_a_key_pool() {
    for pool in [0, 2] {
        let app = app(Config {
            key_pool_size: pool,
            ..Config::default()
        });
        let mut body = create_body();
        body.as_object_mut().unwrap().remove("key_type");
        body.as_object_mut().unwrap().remove("organizational_unit");
        let obj = create(&app, ACCOUNT, body).await;
        assert_eq!(obj["key_type"], "rsa2048");
        let csr = parse_csr(obj["csr"].as_str().unwrap());
        assert_eq!(csr.key_algorithm, OID_PKCS1_RSAENCRYPTION.to_id_string());
        assert_eq!(csr.rsa_bits, 2048);
        let kinds: Vec<&str> = csr.subject.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["C", "ST", "L", "O", "CN"],
            "no OU when none was sent"
        );
    }
}

#[tokio::test]
async fn unicode_fields_are_kept_verbatim() {
    let app = router();
    let mut body = create_body();
    body["organization"] = json!("Ünïcødé 株式会社 🚀");
    body["locality"] = json!("Zürich");
    body["common_name"] = json!("ドメイン.例");
    let obj = create(&app, ACCOUNT, body).await;
    assert_eq!(obj["organization"], "Ünïcødé 株式会社 🚀");
    assert_eq!(obj["common_name"], "ドメイン.例");
    let csr = parse_csr(obj["csr"].as_str().unwrap());
    assert!(
        csr.subject
            .contains(&("O".into(), "Ünïcødé 株式会社 🚀".into(), Tag::Utf8String))
    );
    assert!(
        csr.subject
            .contains(&("CN".into(), "ドメイン.例".into(), Tag::Utf8String))
    );
}

// ---------------------------------------------------------------- validation

#[tokio::test]
async fn each_validation_rule_has_its_code() {
    let app = router();
    let cases: Vec<(&str, Value, u64)> = vec![
        ("country", json!(null), 1405),
        ("state", json!(""), 1406),
        ("locality", json!(7), 1407),
        ("organization", json!(["x"]), 1408),
        ("common_name", json!(null), 1409),
        ("common_name", json!("a".repeat(65)), 1410),
        ("sans", json!([]), 1411),
        ("sans", json!(["192.0.2.7"]), 1412),
        ("sans", json!([format!("{}.com", "a".repeat(252))]), 1412),
        ("sans", json!(["-bad.com"]), 1412),
        ("sans", json!(["a b.com"]), 1412),
        ("sans", json!(["bad!.com"]), 1412),
        ("sans", json!(["bücher.de"]), 1413),
        ("sans", json!(["host.localhost"]), 1414),
        ("sans", json!(["www.example.net"]), 1416),
        ("key_type", json!("ed25519"), 1417),
    ];
    for (field, value, code) in cases {
        let mut body = create_body();
        body[field] = value.clone();
        let r = send(&app, Method::POST, ZONE, Auth::Token, Some(body)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[code]);
        assert!(
            !r.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("bücher"),
            "input echoed"
        );
    }
    let ok_150: Vec<String> = (0..150)
        .map(|i| format!("h{i}.cloudflare-demo.com"))
        .collect();
    let mut body = create_body();
    body["sans"] = json!(ok_150);
    create(&app, ZONE, body.clone()).await;
    body["sans"]
        .as_array_mut()
        .unwrap()
        .push(json!("one-more.cloudflare-demo.com"));
    let r = send(&app, Method::POST, ZONE, Auth::Token, Some(body)).await;
    assert_error(&r, StatusCode::BAD_REQUEST, &[1412]);
    let mut body = create_body();
    body["common_name"] = json!("a".repeat(64));
    create(&app, ZONE, body).await;
}

#[tokio::test]
async fn undecodable_bodies_are_1400_whatever_the_content_type() {
    let app = router();
    let bodies: Vec<(&[u8], Vec<u8>)> = vec![
        (b"application/json", b"".to_vec()),
        (b"application/json", b"{\"country\":".to_vec()),
        (b"application/json", b"[1,2]".to_vec()),
        (b"application/json", b"\"a string\"".to_vec()),
        (b"application/json", vec![0xff, 0xfe, b'{', b'}', 0x80]),
        (b"application/json", "[".repeat(100_000).into_bytes()),
        (b"text/plain", b"not json".to_vec()),
        (b"multipart/form-data; boundary=x", b"--x--".to_vec()),
    ];
    for (ct, body) in bodies {
        let r = send_raw(
            &app,
            Method::POST,
            ACCOUNT,
            Auth::Token,
            &[("content-type", ct)],
            Body::from(body),
        )
        .await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[1400]);
    }
    // Valid JSON is accepted with a wrong content type, or none.
    for ct in [&b"text/plain"[..], b"application/x-www-form-urlencoded"] {
        let r = send_raw(
            &app,
            Method::POST,
            ACCOUNT,
            Auth::Token,
            &[("content-type", ct)],
            Body::from(create_body().to_string()),
        )
        .await;
        assert_success(&r, StatusCode::CREATED);
    }
    let r = send_raw(
        &app,
        Method::POST,
        ACCOUNT,
        Auth::Token,
        &[],
        Body::from(create_body().to_string()),
    )
    .await;
    assert_success(&r, StatusCode::CREATED);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = router();
    let mut body = create_body();
    body["organization"] = json!("x".repeat(2 << 20));
    let r = send(&app, Method::POST, ACCOUNT, Auth::Token, Some(body)).await;
    assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, &[10413]);
    // The unread rest of the body makes the connection unusable for another request.
    assert_eq!(
        r.headers.get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
}

// ---------------------------------------------------------------- auth

type Headers<'a> = Vec<(&'a str, &'a [u8])>;

#[tokio::test]
async fn auth_missing_malformed_and_wrong_on_every_operation() {
    let app = router();
    let item = format!("{ZONE}/7b163417-1d2b-4c84-a38a-2fb7a0cd7752");
    let ops = [
        (Method::GET, ACCOUNT.to_owned()),
        (Method::POST, ZONE.to_owned()),
        (Method::GET, item.clone()),
        (Method::DELETE, item),
    ];
    let secret = b"s3cr3t-T0KEN-that-must-not-leak";
    let bearer = [&b"Bearer "[..], secret].concat();
    let cases: Vec<(Headers, StatusCode, Vec<u64>)> = vec![
        (vec![], StatusCode::BAD_REQUEST, vec![9106]),
        (
            vec![("x-auth-email", b"user@example.com")],
            StatusCode::BAD_REQUEST,
            vec![9106],
        ),
        (
            vec![("x-auth-key", secret)],
            StatusCode::BAD_REQUEST,
            vec![9106],
        ),
        (
            vec![("authorization", b"Bearer")],
            StatusCode::BAD_REQUEST,
            vec![6003],
        ),
        (
            vec![("authorization", b"Bearer  ")],
            StatusCode::BAD_REQUEST,
            vec![6003],
        ),
        (
            vec![("authorization", secret)],
            StatusCode::BAD_REQUEST,
            vec![6003],
        ),
        (
            vec![("authorization", b"Bearer \xc3\xa9t\xc3\xa9")],
            StatusCode::BAD_REQUEST,
            vec![6003],
        ),
        (
            vec![("x-auth-email", b"no-at-sign"), ("x-auth-key", secret)],
            StatusCode::BAD_REQUEST,
            vec![6003],
        ),
        (
            vec![("authorization", &bearer)],
            StatusCode::FORBIDDEN,
            vec![10000],
        ),
        (
            vec![
                ("x-auth-email", b"user@example.com"),
                ("x-auth-key", secret),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
        ),
        (
            vec![
                ("x-auth-email", b"other@example.com"),
                ("x-auth-key", b"144c9defac04969c7bfad8efaa8ea194"),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
        ),
    ];
    for (method, uri) in &ops {
        for (headers, status, codes) in &cases {
            let r = send_raw(
                &app,
                method.clone(),
                uri,
                Auth::None,
                headers,
                Body::from(create_body().to_string()),
            )
            .await;
            assert_error(&r, *status, codes);
            let text = String::from_utf8_lossy(&r.raw);
            assert!(!text.contains("s3cr3t"), "credential echoed: {text}");
            assert!(!text.contains("no-at-sign"), "header echoed: {text}");
        }
    }
    let r = send(&app, Method::GET, ACCOUNT, Auth::None, None).await;
    assert_eq!(
        r.body["errors"][0]["message"],
        "Missing X-Auth-Key, X-Auth-Email or Authorization headers"
    );
    let r = send_raw(
        &app,
        Method::GET,
        ACCOUNT,
        Auth::None,
        &[("authorization", &bearer)],
        Body::empty(),
    )
    .await;
    assert_eq!(r.body["errors"][0]["message"], "Authentication error");
    let r = send_raw(
        &app,
        Method::GET,
        ACCOUNT,
        Auth::None,
        &[("authorization", b"Basic Zm9v")],
        Body::empty(),
    )
    .await;
    assert_eq!(r.body["errors"][0]["error_chain"][0]["code"], 6111);
}

#[tokio::test]
async fn credentials_are_configurable() {
    let app = app(Config {
        token: "custom-token".into(),
        email: "ops@corp.io".into(),
        api_key: "custom-key".into(),
        key_pool_size: 0,
        ..Config::default()
    });
    let r = send(&app, Method::GET, ACCOUNT, Auth::Token, None).await;
    assert_error(&r, StatusCode::FORBIDDEN, &[10000]);
    let r = send_raw(
        &app,
        Method::GET,
        ACCOUNT,
        Auth::None,
        &[("authorization", b"Bearer custom-token")],
        Body::empty(),
    )
    .await;
    assert_success(&r, StatusCode::OK);
    let r = send_raw(
        &app,
        Method::GET,
        ZONE,
        Auth::None,
        &[
            ("x-auth-email", b"OPS@corp.io"),
            ("x-auth-key", b"custom-key"),
        ],
        Body::empty(),
    )
    .await;
    assert_success(&r, StatusCode::OK);
}

// ---------------------------------------------------------------- routing and ids

#[tokio::test]
async fn unknown_routes_are_7003_and_7000_before_auth() {
    let app = router();
    let long = format!("/client/v4/{}", "x".repeat(5000));
    let uris = [
        "/",
        "/client/v4",
        "/client/v4/accounts/account_id",
        "/client/v4/accounts/account_id/custom_csrs/",
        "/client/v4/accounts/account_id/custom_csr",
        "/client/v4/users/account_id/custom_csrs",
        "/client/v4/accounts/a/custom_csrs/id/extra",
        "/api/v4/zones/z/custom_csrs",
        long.as_str(),
    ];
    for uri in uris {
        for auth in [Auth::None, Auth::Token] {
            let r = send(&app, Method::GET, uri, auth, None).await;
            assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000]);
            let msg = r.body["errors"][0]["message"].as_str().unwrap();
            assert!(msg.starts_with("Could not route to /"), "{msg}");
            assert!(
                msg.ends_with(", perhaps your object identifier is invalid?"),
                "{msg}"
            );
            assert!(msg.len() < 200, "long path echoed in full: {}", msg.len());
            assert!(msg.is_ascii() && !msg.contains('%'), "{msg}");
            assert_eq!(r.body["errors"][1]["message"], "No route for that URI");
        }
    }
    // Ids that cannot name an account or zone: a routing error too, but only once the
    // credentials passed (route, then auth, then path ids).
    for uri in [
        "/client/v4/accounts/../custom_csrs",
        "/client/v4/accounts/%2e%2e/custom_csrs",
        "/client/v4/accounts/..%2f..%2fetc/custom_csrs",
        "/client/v4/accounts/%FF%FE/custom_csrs",
        "/client/v4/zones/%E2%9C%93/custom_csrs",
        "/client/v4/zones/0123456789abcdef0123456789abcdef0/custom_csrs",
        "/zones/%00/custom_csrs",
        "/client/v4/accounts//custom_csrs",
    ] {
        let r = send(&app, Method::GET, uri, Auth::None, None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[9106]);
        let item = format!("{uri}/7b163417-1d2b-4c84-a38a-2fb7a0cd7752");
        for (method, uri) in [
            (Method::GET, uri),
            (Method::POST, uri),
            (Method::DELETE, item.as_str()),
        ] {
            let r = send(&app, method, uri, Auth::Token, Some(create_body())).await;
            assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000]);
            let msg = r.body["errors"][0]["message"].as_str().unwrap();
            assert!(msg.is_ascii() && !msg.contains('%'), "{msg}");
        }
    }
    let r = send(
        &app,
        Method::GET,
        "/client/v4/accounts/a/nothing",
        Auth::None,
        None,
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["message"],
        "Could not route to /accounts/a/nothing, perhaps your object identifier is invalid?"
    );
    // 32 characters is still a valid id.
    let r = send(&app, Method::GET, ZONE, Auth::Token, None).await;
    assert_success(&r, StatusCode::OK);
}

#[tokio::test]
async fn unsupported_methods_are_405_envelopes_before_auth() {
    let app = router();
    let item = format!("{ACCOUNT}/7b163417-1d2b-4c84-a38a-2fb7a0cd7752");
    for (method, uri) in [
        (Method::PUT, ACCOUNT),
        (Method::PATCH, ZONE),
        (Method::DELETE, ZONE),
        (Method::POST, item.as_str()),
        (Method::PATCH, item.as_str()),
        (Method::OPTIONS, ACCOUNT),
    ] {
        for auth in [Auth::None, Auth::Token] {
            let r = send(&app, method.clone(), uri, auth, None).await;
            assert_error(&r, StatusCode::METHOD_NOT_ALLOWED, &[10405]);
            assert!(r.headers.get(header::ALLOW).is_some());
        }
    }
}

#[tokio::test]
async fn custom_csr_ids_are_checked_after_auth() {
    let app = router();
    for id in [
        "7b163417-1d2b-4c84-a38a-2fb7a0cd77520",
        "x".repeat(300).as_str(),
        "bad!id",
        "%2e%2e",
        "a%2Fb",
        "%E2%9C%93",
        "%FF",
        "under_score",
    ] {
        let uri = format!("{ZONE}/{id}");
        let r = send(&app, Method::GET, &uri, Auth::None, None).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[9106]);
        for method in [Method::GET, Method::DELETE] {
            let r = send(&app, method, &uri, Auth::Token, None).await;
            if id == "%FF" {
                // Not even decodable, so no route can hold it.
                assert_error(&r, StatusCode::BAD_REQUEST, &[7003, 7000]);
            } else {
                assert_error(&r, StatusCode::BAD_REQUEST, &[1418]);
            }
        }
    }
    let r = send(
        &app,
        Method::GET,
        &format!("{ZONE}/{}", "a".repeat(36)),
        Auth::Token,
        None,
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, &[1419]);
}

// ---------------------------------------------------------------- tenancy

#[tokio::test]
async fn a_csr_is_only_visible_in_its_own_account_or_zone() {
    let app = router();
    let acc_a = "/client/v4/accounts/aaaa/custom_csrs";
    let acc_b = "/client/v4/accounts/bbbb/custom_csrs";
    let zone_a = "/client/v4/zones/aaaa/custom_csrs";
    let id = create(&app, acc_a, create_body()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for other in [acc_b, zone_a, "/accounts/AAAA/custom_csrs"] {
        let r = send(
            &app,
            Method::GET,
            &format!("{other}/{id}"),
            Auth::Token,
            None,
        )
        .await;
        assert_error(&r, StatusCode::NOT_FOUND, &[1419]);
        let r = send(
            &app,
            Method::DELETE,
            &format!("{other}/{id}"),
            Auth::Token,
            None,
        )
        .await;
        assert_error(&r, StatusCode::NOT_FOUND, &[1419]);
        let r = send(&app, Method::GET, other, Auth::Token, None).await;
        assert_eq!(r.body["result"], json!([]));
        assert_eq!(r.body["result_info"]["total_count"], 0);
    }
    // Root and /client/v4 are the same API.
    let r = send(
        &app,
        Method::GET,
        &format!("/accounts/aaaa/custom_csrs/{id}"),
        Auth::Token,
        None,
    )
    .await;
    assert_success(&r, StatusCode::OK);
}

// ---------------------------------------------------------------- list

async fn list(app: &App, uri: &str) -> Reply {
    send(app, Method::GET, uri, Auth::Token, None).await
}

fn info(r: &Reply) -> (u64, u64, u64, u64, u64) {
    let i = &r.body["result_info"];
    let keys: Vec<&String> = i.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["page", "per_page", "count", "total_count", "total_pages"]
    );
    let n = |k: &str| i[k].as_u64().unwrap();
    assert_eq!(
        n("count"),
        r.body["result"].as_array().unwrap().len() as u64
    );
    (
        n("page"),
        n("per_page"),
        n("count"),
        n("total_count"),
        n("total_pages"),
    )
}

#[tokio::test]
async fn pagination_is_consistent_and_ends_with_an_empty_page() {
    let app = router();
    let r = list(&app, ZONE).await;
    assert_eq!(info(&r), (1, 20, 0, 0, 0));
    assert_eq!(r.body["result"], json!([]));

    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(
            create(&app, ZONE, create_body()).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    for (page, count) in [(1, 5), (2, 5), (3, 2)] {
        let r = list(&app, &format!("{ZONE}?page={page}&per_page=5")).await;
        assert_success(&r, StatusCode::OK);
        assert_eq!(info(&r), (page, 5, count, 12, 3));
        for item in r.body["result"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
    }
    // Zones list oldest first, every CSR exactly once across the pages.
    assert_eq!(seen, ids);
    for past in [
        "page=4&per_page=5",
        "page=1000000&per_page=5",
        "page=99999999999999999999999",
    ] {
        let r = list(&app, &format!("{ZONE}?{past}")).await;
        assert_success(&r, StatusCode::OK);
        assert_eq!(r.body["result"], json!([]));
        assert_eq!(info(&r).2, 0);
    }
    let cases = [
        ("", (1, 20, 12, 12, 1)),
        ("?per_page=1", (1, 5, 5, 12, 3)),
        ("?per_page=500", (1, 50, 12, 12, 1)),
        ("?per_page=-4", (1, 5, 5, 12, 3)),
        ("?per_page=6.0", (1, 6, 6, 12, 2)),
        ("?page=0&per_page=10", (1, 10, 10, 12, 2)),
        ("?page=-3&per_page=10", (1, 10, 10, 12, 2)),
        ("?page=2&per_page=10&page=1", (1, 10, 10, 12, 2)),
        ("?unknown=1&order=bogus", (1, 20, 12, 12, 1)),
    ];
    for (q, expected) in cases {
        let r = list(&app, &format!("{ZONE}{q}")).await;
        assert_success(&r, StatusCode::OK);
        assert_eq!(info(&r), expected, "{q}");
    }
    for q in [
        "?per_page=abc",
        "?page=x",
        "?page=NaN",
        "?per_page=inf",
        "?page=%FF",
    ] {
        let r = list(&app, &format!("{ZONE}{q}")).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[10400]);
    }
    let r = list(&app, ACCOUNT).await;
    assert_eq!(info(&r).1, 50, "accounts default to 50 per page");
}

#[tokio::test]
async fn accounts_sort_by_order_and_direction() {
    let app = router();
    let acc = "/client/v4/accounts/sorted/custom_csrs";
    for name in ["bravo", "alpha", "charlie"] {
        let mut body = create_body();
        body["name"] = json!(name);
        create(&app, acc, body).await;
    }
    let names = |r: &Reply| -> Vec<String> {
        r.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&list(&app, acc).await), ["bravo", "alpha", "charlie"]);
    assert_eq!(
        names(&list(&app, &format!("{acc}?order=created_at&direction=desc")).await),
        ["charlie", "alpha", "bravo"]
    );
    assert_eq!(
        names(&list(&app, &format!("{acc}?order=name")).await),
        ["alpha", "bravo", "charlie"]
    );
    assert_eq!(
        names(&list(&app, &format!("{acc}?order=name&direction=desc")).await),
        ["charlie", "bravo", "alpha"]
    );
    assert_eq!(
        names(&list(&app, &format!("{acc}?order=account_tag")).await),
        ["bravo", "alpha", "charlie"]
    );
    for q in ["order=size", "direction=up", "order=NAME"] {
        let r = list(&app, &format!("{acc}?{q}")).await;
        assert_error(&r, StatusCode::BAD_REQUEST, &[10400]);
    }
}

// ---------------------------------------------------------------- limits and realism

#[tokio::test]
async fn the_store_refuses_beyond_its_caps() {
    let app = app(Config {
        key_pool_size: 0,
        max_csrs_per_scope: 2,
        max_csrs_total: 3,
        ..Config::default()
    });
    create(&app, ZONE, create_body()).await;
    create(&app, ZONE, create_body()).await;
    let r = send(&app, Method::POST, ZONE, Auth::Token, Some(create_body())).await;
    assert_error(&r, StatusCode::BAD_REQUEST, &[1421]);
    create(&app, ACCOUNT, create_body()).await;
    let r = send(
        &app,
        Method::POST,
        "/zones/other/custom_csrs",
        Auth::Token,
        Some(create_body()),
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST, &[1421]);
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers_when_switched_on() {
    let app = app(Config {
        key_pool_size: 0,
        rate_limit: Some(RateLimit {
            requests: 2,
            window: Duration::from_secs(60),
        }),
        ..Config::default()
    });
    for remaining in ["1", "0"] {
        let r = list(&app, ZONE).await;
        assert_success(&r, StatusCode::OK);
        assert_eq!(r.headers["x-ratelimit-limit"], "2");
        assert_eq!(r.headers["x-ratelimit-remaining"], remaining);
    }
    let r = list(&app, ZONE).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, &[971]);
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.headers["x-ratelimit-limit"], "2");
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    assert!(r.headers.contains_key("x-ratelimit-reset"));
    // The other credential has its own window; failed auth is not charged.
    let r = send(&app, Method::GET, ZONE, Auth::EmailKey, None).await;
    assert_success(&r, StatusCode::OK);
    let r = send(&app, Method::GET, ZONE, Auth::None, None).await;
    assert_error(&r, StatusCode::BAD_REQUEST, &[9106]);

    // Off by default: no headers, no 429.
    let app = router();
    for _ in 0..30 {
        let r = list(&app, ZONE).await;
        assert_success(&r, StatusCode::OK);
        assert!(!r.headers.contains_key("x-ratelimit-limit"));
    }
}

#[tokio::test]
async fn latency_delays_answers_when_switched_on() {
    let app = app(Config {
        key_pool_size: 0,
        latency: Some(Duration::from_millis(150)),
        ..Config::default()
    });
    let t = Instant::now();
    let r = list(&app, ZONE).await;
    assert_success(&r, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    list(&router(), ZONE).await;
    assert!(t.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn preload_fills_each_scope_once_with_older_varied_real_csrs() {
    let started = ::time::OffsetDateTime::now_utc();
    let app = app(Config {
        preload: 4,
        ..config()
    });
    // Refused requests see nothing and fill nothing.
    let refused = send(&app, Method::GET, ZONE, Auth::None, None).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, &[9106]);

    let acc = list(&app, ACCOUNT).await;
    assert_eq!(info(&acc), (1, 50, 4, 4, 1));
    let items = acc.body["result"].as_array().unwrap().clone();
    let mut key_types = std::collections::BTreeSet::new();
    for item in &items {
        let created = ::time::OffsetDateTime::parse(
            item["created_at"].as_str().unwrap(),
            &::time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(created < started, "{item}: made before start-up");
        assert_eq!(item["account_tag"], "account_id");
        assert!(item["name"].is_string(), "{item}");
        key_types.insert(item["key_type"].as_str().unwrap().to_owned());
        // A real CSR that agrees with its fields.
        let csr = parse_csr(item["csr"].as_str().unwrap());
        let cn = csr.subject.iter().find(|(k, _, _)| k == "CN").unwrap();
        assert_eq!(cn.1, item["common_name"].as_str().unwrap());
        let sans: Vec<String> = serde_json::from_value(item["sans"].clone()).unwrap();
        assert_eq!(csr.sans, sans);
        // Each can be read and deleted like any other.
        let uri = format!("{ACCOUNT}/{}", item["id"].as_str().unwrap());
        let got = send(&app, Method::GET, &uri, Auth::Token, None).await;
        assert_eq!(&got.body["result"], item);
    }
    assert_eq!(key_types.len(), 2, "both key types");
    let first = format!("{ACCOUNT}/{}", items[0]["id"].as_str().unwrap());
    assert_success(
        &send(&app, Method::DELETE, &first, Auth::Token, None).await,
        StatusCode::OK,
    );
    // Seen once: what was deleted stays deleted, nothing is added again.
    assert_eq!(info(&list(&app, ACCOUNT).await).3, 3);

    let zone = list(&app, ZONE).await;
    assert_eq!(info(&zone).3, 4);
    assert!(
        zone.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("account_tag").is_none() && i.get("name").is_none())
    );
    // Off by default.
    assert_eq!(info(&list(&router(), ZONE).await).3, 0);
}

/// What the SDKs' generated tests send to create: the spec's example.
fn spec_example_body(all_params: bool) -> Value {
    let mut body = json!({
        "common_name": "example.com", "country": "US", "locality": "San Francisco",
        "organization": "Cloudflare, Inc.", "sans": ["example.com", "www.example.com"],
        "state": "California",
    });
    if all_params {
        body["description"] = json!("CSR for example.com wildcard");
        body["key_type"] = json!("rsa2048");
        body["name"] = json!("My Custom CSR");
        body["organizational_unit"] = json!("Engineering");
    }
    body
}

#[tokio::test]
async fn sdk_suite_profile_serves_the_spec_example_and_accepts_its_values() {
    let app = app(Config {
        sdk_suite: true,
        ..config()
    });
    let example = csr_emulator::SDK_SUITE_EXAMPLE_ID;
    for (base, account) in [(ACCOUNT, true), (ZONE, false)] {
        let uri = format!("{base}/{example}");
        // There on first sight, with a real CSR that agrees with its fields.
        let got = send(&app, Method::GET, &uri, Auth::EmailKey, None).await;
        assert_success(&got, StatusCode::OK);
        let obj = &got.body["result"];
        assert_eq!(obj["id"], example);
        assert_eq!(obj["common_name"], "example.com");
        assert_eq!(obj["sans"], json!(["example.com", "www.example.com"]));
        assert_eq!(obj["created_at"], "2024-01-15T10:30:00.000000Z");
        assert_eq!(obj["name"].is_string(), account, "{obj}");
        let csr = parse_csr(obj["csr"].as_str().unwrap());
        assert_eq!(csr.sans, ["example.com", "www.example.com"]);
        assert!(
            csr.subject
                .iter()
                .any(|(k, v, _)| k == "O" && v == "Cloudflare, Inc.")
        );
        assert_eq!(csr.rsa_bits, 2048);
        // Deleting it answers as a delete does; the next request finds it again.
        let deleted = send(&app, Method::DELETE, &uri, Auth::EmailKey, None).await;
        assert_success(&deleted, StatusCode::OK);
        assert_eq!(deleted.body["result"], json!({ "id": example }));
        let again = send(&app, Method::GET, &uri, Auth::EmailKey, None).await;
        assert_success(&again, StatusCode::OK);
        assert_eq!(&again.body["result"], obj);
        // It is listed, once.
        let listed = list(&app, base).await;
        let ids: Vec<&Value> = listed.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| &o["id"])
            .collect();
        assert_eq!(ids, [&json!(example)]);
        // The example bodies are accepted, and make real CSRs of their own.
        for all in [false, true] {
            let created = send(
                &app,
                Method::POST,
                base,
                Auth::EmailKey,
                Some(spec_example_body(all)),
            )
            .await;
            assert_success(&created, StatusCode::CREATED);
            assert_ne!(created.body["result"]["id"], example);
        }
    }
    // Everything else stays faithful: auth, unknown ids, other invalid SANs.
    let uri = format!("{ACCOUNT}/{example}");
    assert_error(
        &send(&app, Method::GET, &uri, Auth::None, None).await,
        StatusCode::BAD_REQUEST,
        &[9106],
    );
    let unknown = format!("{ACCOUNT}/0b163417-1d2b-4c84-a38a-2fb7a0cd7752");
    assert_error(
        &send(&app, Method::GET, &unknown, Auth::Token, None).await,
        StatusCode::NOT_FOUND,
        &[1419],
    );
    let mut reserved = spec_example_body(false);
    reserved["sans"] = json!(["host.test"]);
    assert_error(
        &send(&app, Method::POST, ACCOUNT, Auth::Token, Some(reserved)).await,
        StatusCode::BAD_REQUEST,
        &[1414],
    );
}

#[tokio::test]
async fn without_the_profile_the_sdk_suite_calls_get_the_faithful_errors() {
    let app = router();
    let uri = format!("{ACCOUNT}/{}", csr_emulator::SDK_SUITE_EXAMPLE_ID);
    for method in [Method::GET, Method::DELETE] {
        assert_error(
            &send(&app, method, &uri, Auth::EmailKey, None).await,
            StatusCode::NOT_FOUND,
            &[1419],
        );
    }
    assert_error(
        &send(
            &app,
            Method::POST,
            ACCOUNT,
            Auth::EmailKey,
            Some(spec_example_body(true)),
        )
        .await,
        StatusCode::BAD_REQUEST,
        &[1416],
    );
    assert_eq!(info(&list(&app, ACCOUNT).await).3, 0);
}
