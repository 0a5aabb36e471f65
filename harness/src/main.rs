use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A subcommand is a first word; anything else is a run, whose first word may be a filter.
    let args: Vec<OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("merge") => csr_conformance::report::merge::main(args.into_iter().skip(1)),
        Some("record") => csr_conformance::record::command::record(&args[2..]),
        Some("import-har") => csr_conformance::record::command::import_har(&args[2..]),
        _ => csr_conformance::runner::main(csr_conformance::runner::Mode::Binary),
    }
}
