use std::process::ExitCode;

fn main() -> ExitCode {
    // A subcommand is a first word; anything else is a run, whose first word may be a filter.
    match std::env::args().nth(1).as_deref() {
        Some("merge") => csr_conformance::report::merge::main(std::env::args_os().skip(1)),
        _ => csr_conformance::runner::main(csr_conformance::runner::Mode::Binary),
    }
}
