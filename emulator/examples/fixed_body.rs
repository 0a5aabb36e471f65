//! The physical limit the emulator's speed is measured against (`bench/run.sh`): a server on
//! the same stack (axum on a default multi-thread tokio runtime, as `csr-emulator`) that answers
//! every request with one fixed JSON body and does nothing else.
//!
//! `cargo run --release -p csr-emulator --example fixed_body -- 127.0.0.1:0 BODY_FILE`
//! prints `fixed-body listening on http://ADDR` once it serves.

use std::io::Write;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let body = match args.next() {
        Some(path) => std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}")),
        None => br#"{"success":true,"errors":[],"messages":[],"result":{}}"#.to_vec(),
    };
    let body = Bytes::from(body);
    let app = Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
    });
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {listen}: {e}"));
    let addr = listener.local_addr().expect("bound address");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "fixed-body listening on http://{addr}");
        let _ = out.flush();
    }
    axum::serve(listener, app).await.expect("serve");
}
