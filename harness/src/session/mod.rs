//! A run's session: the run context ([`Session`]: settings, connection, limits, holds) and,
//! beside it, the record of case runs, fixtures, cleanup and request building. This file only
//! wires them together and names what other layers use.

pub mod builtins;
pub mod case_runs;
pub mod cleanup;
pub mod context;
pub mod fixtures;
pub mod live;
pub mod requests;
pub mod settings;

pub use crate::holds::{ScopeHold, ScopeLock, Use};
pub use case_runs::CaseRuns;
pub use context::Session;
pub use live::Live;
pub use requests::{auth_headers, body_json, foreign};
pub use settings::{
    EMBEDDED_ACCOUNT, EMBEDDED_KEYS, EMBEDDED_PRELOAD, EMBEDDED_ZONE, Settings, TargetSpec,
};
