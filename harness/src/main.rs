use std::process::ExitCode;

fn main() -> ExitCode {
    csr_conformance::runner::main(csr_conformance::runner::Mode::Binary)
}
