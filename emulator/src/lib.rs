//! Reference emulator of Cloudflare's Custom CSR API. This file only declares the modules and
//! re-exports the public API; it holds no logic.
//!
//! [`app`] is the whole API as an axum router (testable without a socket); [`Emulator`] runs
//! it on its own thread and runtime; the `csr-emulator` binary serves it from the command line.

mod auth;
mod config;
mod csr;
mod error;
mod fallback;
mod fault;
mod guard;
mod key_pool;
mod model;
mod preload;
mod rate_limit;
mod reading;
mod route_table;
mod routes;
mod sdk_suite;
mod server;
mod store;
mod validate;

pub use auth::Credential;
pub use config::{Config, RateLimit, SDK_TEST_API_KEY, SDK_TEST_EMAIL, SDK_TEST_TOKEN};
pub use error::ApiError;
pub use fault::Fault;
pub use model::KeyType;
pub use reading::{CollectionAlias, ListParamLeeway, Reading};
pub use routes::{App, MAX_BODY_BYTES, app, check_fallback};
pub use sdk_suite::EXAMPLE_ID as SDK_SUITE_EXAMPLE_ID;
pub use server::Emulator;
