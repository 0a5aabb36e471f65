use std::process::ExitCode;

fn main() -> ExitCode {
    // A subcommand is a first word; anything else is a run, whose first word may be a filter.
    csr_conformance::cli::main()
}
