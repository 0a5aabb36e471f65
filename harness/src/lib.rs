//! csr-conformance: a conformance and contract test harness for Cloudflare's Custom CSR API.

pub mod budget;
pub mod cases;
pub mod checks;
pub mod cli;
pub mod drift;
pub mod executor;
pub mod generate;
pub mod holds;
pub mod limits;
pub mod model;
pub mod near_miss;
pub mod partition;
pub mod rate_headers;
pub mod read_only;
pub mod record;
pub mod report;
pub mod rules;
pub mod runner;
pub mod schemas;
pub mod session;
pub mod template;
pub mod traffic;
