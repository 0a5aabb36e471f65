//! `cargo test` runs the full conformance suite against the embedded emulator.

use std::process::ExitCode;

fn main() -> ExitCode {
    csr_conformance::runner::main(csr_conformance::runner::Mode::TestTarget)
}
