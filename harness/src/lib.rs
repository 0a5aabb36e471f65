//! csr-conformance: a conformance and contract test harness for Cloudflare's Custom CSR API.

pub mod model;
