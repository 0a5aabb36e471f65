//! What a run was asked to do: the target (embedded or remote), its scopes, the modes and the
//! seed, and the ids the embedded emulator is run under. Plain data: never connects.

use std::time::Duration;

use crate::model::{Credentials, Scope};

/// Where requests go and with what.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// Start the embedded emulator in-process.
    Embedded,
    Remote {
        base_url: String,
        credentials: Credentials,
    },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub target: TargetSpec,
    pub scopes: Vec<Scope>,
    pub read_only: bool,
    pub strict: bool,
    pub timeout: Duration,
    /// The run's one seed: every generated trial derives its inputs from it.
    pub seed: u64,
    /// `--cases N`: generated cases per property, instead of what the property file says.
    pub cases: Option<u32>,
}

/// Ids of the scopes the embedded emulator is exercised under.
pub const EMBEDDED_ACCOUNT: &str = "6c0a5b9e2f1d4c3a8b7e6d5c4b3a2910";
pub const EMBEDDED_ZONE: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// CSRs each scope of the embedded emulator holds before the run touches it.
pub const EMBEDDED_PRELOAD: usize = 4;

/// Distinct keys of each type the embedded emulator makes before it signs new CSRs with those
/// in turn. No answer shows a key, and at `--cases 10000` key generation was most of the run's
/// CPU.
pub const EMBEDDED_KEYS: usize = 4;
