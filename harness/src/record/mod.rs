//! Recorded requests: the reverse of loading. Exchanges come in (from a run or a HAR capture),
//! pass through one redaction ([`redact::scrub`], the only way to a [`redact::Clean`]
//! exchange), are generalized into ordinary case files ([`generalize`]), and reach the disk only
//! as [`scan::Sealed`] files, which exist only once a final scan for credentials found none.

pub mod command;
pub mod from_run;
pub mod generalize;
pub mod har;
pub mod har_out;
pub mod readable;
pub mod redact;
pub mod replay;
pub mod scan;
pub mod toml_out;
