//! The HTTP face of the emulator, one file per concern: the service with its fast path, the
//! state the handlers share, the extractors, the success envelope and one handler per operation.
//! This file only names them; it holds no logic.

mod around;
mod create;
mod delete;
mod extract;
mod get;
mod list;
mod service;
mod state;
mod success;

pub use extract::MAX_BODY_BYTES;
pub use service::{App, app, check_fallback};
