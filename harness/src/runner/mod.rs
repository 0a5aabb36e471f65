//! The runner: the command line's run and the libtest-mimic trials it makes, one per (check
//! family, scope, case) and per (property, scope), with outcomes recorded for the JUnit report.
//! This file only wires the parts together and names what other layers use.

pub mod flags;
pub mod judge;
pub mod recorder;
pub mod run;
pub mod tally;
pub mod trials;
pub mod validate;

pub use flags::{
    Cli, EXIT_NOTHING_JUDGED, HELP_TEMPLATE, Mode, NoTests, UsageError, project_root, settings,
};
pub use run::{AfterRun, main, run};
pub use tally::summary;
pub use validate::validate_cases;
