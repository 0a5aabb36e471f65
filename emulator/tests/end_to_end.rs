//! The embedded emulator over a real socket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use csr_emulator::{Config, Emulator};
use serde_json::{Value, json};

fn config() -> Config {
    Config {
        key_pool_size: 0,
        ..Config::default()
    }
}

fn body() -> Value {
    json!({"country":"GB","state":"England","locality":"London","organization":"Org",
           "common_name":"cloudflare-demo.com","sans":["cloudflare-demo.com"],"key_type":"p256v1"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_a_socket_from_inside_a_runtime_and_stops_on_drop() {
    // Started from inside a tokio runtime: the emulator must bring its own.
    let emu = Emulator::start(config()).unwrap();
    let base = emu.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/client/v4"));
    assert_eq!(format!("{}/client/v4", emu.root_url()), base);
    let token = emu.config().token.clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    for base in [emu.base_url(), emu.root_url()] {
        let url = format!("{base}/zones/e2e/custom_csrs");
        let resp = client
            .post(&url)
            .bearer_auth(&token)
            .json(&body())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let created: Value = resp.json().await.unwrap();
        let id = created["result"]["id"].as_str().unwrap().to_owned();

        let got: Value = client
            .get(format!("{url}/{id}"))
            .header("x-auth-email", &emu.config().email)
            .header("x-auth-key", &emu.config().api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["result"], created["result"]);

        let resp = client
            .delete(format!("{url}/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let resp = client
            .get(format!("{url}/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }

    let addr = emu.local_addr();
    drop(emu);
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "still accepting after drop");
}

#[test]
fn serves_on_the_callers_runtime_and_stops_with_it_or_on_drop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = Emulator::start_in(rt.handle(), config()).unwrap();
    let (url, token) = (
        format!("{}/accounts/on-rt/custom_csrs", emu.base_url()),
        emu.config().token.clone(),
    );
    let client = reqwest::Client::new();
    rt.block_on(async {
        let created: Value = client
            .post(&url)
            .bearer_auth(&token)
            .json(&body())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["result"]["id"].as_str().unwrap();
        let got = client
            .get(format!("{url}/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
    });
    // Dropping the handle stops it: new connections are refused soon after.
    let addr = emu.local_addr();
    drop(emu);
    let refused = rt.block_on(async {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    });
    assert!(refused, "still accepting 2 s after drop");

    // It lives on that runtime: shutting the runtime down stops it, handle or not.
    let emu = Emulator::start_in(rt.handle(), config()).unwrap();
    let addr = emu.local_addr();
    assert!(TcpStream::connect(addr).is_ok());
    rt.shutdown_timeout(Duration::from_secs(2));
    assert!(
        TcpStream::connect(addr).is_err(),
        "served without its runtime"
    );
    drop(emu);
}

#[test]
fn starts_from_a_plain_thread_and_handles_raw_http_edge_cases() {
    let emu = Emulator::start(config()).unwrap();
    let addr = emu.local_addr();
    let exchange = |raw: &[u8]| -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The server may answer and close before it has read a large body; that is fine.
        let _ = s.write_all(raw);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };

    // A chunked body over the limit, whose size is not announced up front.
    let mut raw = b"POST /client/v4/zones/z/custom_csrs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
Authorization: Bearer Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..24 {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(&chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let reply = exchange(&raw);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply:.200}");
    assert!(reply.contains("\"code\":10413"), "{reply:.400}");

    // Raw non-UTF-8 bytes in the path: hyper refuses them before routing, but the answer is
    // still a 4xx and the server keeps serving.
    let reply = exchange(b"GET /client/v4/zones/\xff\xfe/custom_csrs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 4"), "{reply:.200}");
    let reply = exchange(b"GET /client/v4/zones/z/custom_csrs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply:.200}");
    assert!(reply.contains("\"result_info\""), "{reply:.400}");
}

#[test]
fn start_on_a_taken_port_fails_cleanly() {
    let first = Emulator::start(config()).unwrap();
    let err = Emulator::start_on(first.local_addr(), config()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_large_body_is_read_to_the_end_so_the_client_gets_the_413() {
    // 12 MB is more than loopback socket buffers hold: a server that answered after the first
    // mebibyte and hung up would leave the client writing into a reset connection, never
    // seeing the 413. Preloading makes each first request to a scope slower still.
    let emu = Emulator::start(Config {
        preload: 2,
        ..config()
    })
    .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let body = format!("{{\"common_name\": \"{}\"}}", "a".repeat(12_000_000));
    for i in 0..4 {
        let resp = client
            .post(format!("{}/zones/big{i}/custom_csrs", emu.base_url()))
            .bearer_auth(&emu.config().token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(resp.status(), 413, "request {i}");
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(answer["success"], false);
    }
}
