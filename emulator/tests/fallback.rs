//! `--fallback`: what the emulator does not serve goes to another server and comes back
//! unchanged; a fallback that is down is a quick 502 envelope.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use csr_emulator::{Config, Emulator};
use serde_json::Value;

/// What the stand-in answers, byte for byte: an odd status, repeated and unusual headers, and
/// a body that is neither JSON nor UTF-8.
const ANSWER_BODY: &[u8] = b"\xff\x00not json \xe9t\xe9\r\n";

/// What the stand-in received: the request line, lower-cased headers, and the body.
struct Received {
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A one-shot upstream on a free port: hands over the request it received, answers fixed bytes.
fn stand_in() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        let head = format!(
            "HTTP/1.1 418 I'm a teapot\r\nContent-Type: application/x-teapot; charset=latin1\r\n\
             X-Upstream: stand-in\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            ANSWER_BODY.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(ANSWER_BODY).unwrap();
        tx.send(Received {
            line: line.trim_end().to_owned(),
            headers,
            body,
        })
        .unwrap();
    });
    (url, rx)
}

/// An emulator whose fallback is a port nothing listens on, and that port's URL.
fn falling_back_to_a_closed_port() -> (Emulator, String) {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let emu = Emulator::start(Config {
        fallback: Some(url.clone()),
        key_pool_size: 0,
        ..Config::default()
    })
    .unwrap();
    (emu, url)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_routes_are_forwarded_and_answered_byte_for_byte() {
    let (upstream, received) = stand_in();
    let emu = Emulator::start(Config {
        fallback: Some(upstream),
        key_pool_size: 0,
        ..Config::default()
    })
    .unwrap();
    let sent_body = b"{\"type\":\"A\",\"name\":\"\xc3\xa9\"}".to_vec();
    let answer = client()
        .patch(format!(
            "{}/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records/abc?page=2&x=%2F",
            emu.base_url()
        ))
        .header("x-auth-email", "user@example.com")
        .header("x-custom", "kept as sent")
        .header("content-type", "application/json")
        .body(sent_body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 418);
    let headers = answer.headers().clone();
    assert_eq!(
        headers["content-type"],
        "application/x-teapot; charset=latin1"
    );
    assert_eq!(headers["x-upstream"], "stand-in");
    let cookies: Vec<_> = headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(answer.bytes().await.unwrap().as_ref(), ANSWER_BODY);

    let Received {
        line,
        headers: got_headers,
        body: got_body,
    } = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        line,
        "PATCH /client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records/abc?page=2&x=%2F HTTP/1.1"
    );
    let header = |name: &str| {
        got_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("x-custom"), Some("kept as sent"));
    assert_eq!(header("x-auth-email"), Some("user@example.com"));
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(got_body, sent_body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_csr_routes_are_never_forwarded() {
    // Nothing listens there: a forwarded request would come back as a 502.
    let (emu, _) = falling_back_to_a_closed_port();
    let answer = client()
        .get(format!("{}/zones/z1/custom_csrs", emu.root_url()))
        .bearer_auth(&emu.config().token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // A wrong method on a Custom CSR route stays the emulator's own answer too.
    let answer = client()
        .put(format!("{}/zones/z1/custom_csrs", emu.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_that_is_down_is_a_quick_502_envelope() {
    let (emu, url) = falling_back_to_a_closed_port();
    let started = Instant::now();
    let answer = client()
        .get(format!("{}/zones/z1/dns_records", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(answer.status(), 502);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["result"], Value::Null);
    assert_eq!(body["errors"][0]["code"], 10502);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&url), "{message}");
}
