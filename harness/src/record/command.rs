//! The `record` and `import-har` subcommands: the run or the capture in, recorded case files
//! out, through [`redact::scrub`] and [`scan::seal`] on the way.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Arg, CommandFactory, FromArgMatches, Parser};

use super::generalize::{FileBuilder, Group, RecordedFile, Source, id_of, identifier, scope_of};
use super::redact::{Clean, Secrets, scrub};
use super::{from_run, har, scan, toml_out};
use crate::cases;
use crate::checks::{Operation, classify};
use crate::model::{Credentials, Outcome};
use crate::runner::{self, Cli, Mode};
use crate::session::CaseRuns;

/// `record`'s command line, for its help and completions: a run's flags, and `--out` (which
/// [`take_out`] takes before the run's flags are parsed).
pub fn command() -> clap::Command {
    Cli::command()
        .name("record")
        .about(
            "Runs the hand-written cases as a run does and writes those that passed as recorded \
             case files",
        )
        .long_about(None)
        .help_template(runner::HELP_TEMPLATE)
        .after_help(
            "Generated properties are not recorded (their requests change with every seed).\n\n\
             Example:\n  csr-conformance record --target https://api.cloudflare.com/client/v4 \
             --zone-id ID --out cases/recorded auth::",
        )
        .arg(
            Arg::new("out")
                .long("out")
                .value_name("DIR")
                .help("Directory to write the recorded case files to [default: cases/recorded]"),
        )
}

/// `import-har`'s command line, for help and completions.
pub fn import_har_command() -> clap::Command {
    ImportHar::command()
}

/// `csr-conformance record [--out DIR] [run flags and filters]`.
pub fn record(args: &[OsString]) -> ExitCode {
    let (out, rest) = match take_out(args) {
        Ok(x) => x,
        Err(m) => {
            eprintln!("csr-conformance record: {m}");
            return ExitCode::from(2);
        }
    };
    // Generated properties are not recorded: their requests change with every seed.
    let skip_generated = ["--skip", "property::"].map(OsString::from);
    let argv = std::iter::once(OsString::from("csr-conformance record"))
        .chain(rest)
        .chain(skip_generated);
    let cli = match command()
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let listing = cli.libtest.list;
    let out_dir = out.unwrap_or_else(|| runner::project_root().join("cases").join("recorded"));
    let mut after = |runs: &CaseRuns, outcomes: &[Outcome]| -> bool {
        if listing {
            return true;
        }
        let creds = runs
            .session()
            .live()
            .map(|l| l.executor.credentials().clone())
            .unwrap_or_default();
        let secrets = Secrets::from_credentials(&creds);
        let recording = from_run::from_session(runs, outcomes, &out_dir, &secrets);
        for why in &recording.left_out {
            eprintln!("csr-conformance record: not recorded: {why}");
        }
        let written = write_files(&recording.files, &secrets);
        eprintln!(
            "csr-conformance record: {} case(s) recorded in {} of {} file(s) under {}",
            recording.recorded,
            written.as_ref().map_or(0, |n| *n),
            recording.files.len(),
            out_dir.display()
        );
        written.is_ok()
    };
    runner::run(cli, Mode::Binary, Some(&mut after))
}

/// Splits `--out DIR` (or `--out=DIR`) from the run's own flags.
fn take_out(args: &[OsString]) -> Result<(Option<PathBuf>, Vec<OsString>), String> {
    let mut out = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let text = a.to_string_lossy();
        if text == "--" {
            rest.push(a.clone());
            rest.extend(it.cloned());
            break;
        }
        if text == "--out" {
            let dir = it.next().ok_or("--out needs a directory")?;
            out = Some(PathBuf::from(dir));
        } else if let Some(dir) = text.strip_prefix("--out=") {
            out = Some(PathBuf::from(dir));
        } else {
            rest.push(a.clone());
        }
    }
    Ok((out, rest))
}

/// Renders, checks and writes each file; a file that does not load back or holds a
/// credential is not written. `Err` carries how many were written.
fn write_files(files: &[(PathBuf, RecordedFile)], secrets: &Secrets) -> Result<usize, usize> {
    let mut written = 0;
    let mut ok = true;
    for (path, file) in files {
        let text = toml_out::render(file);
        if let Err(e) = loads_back(path, &text) {
            eprintln!(
                "csr-conformance: not writing {}: the recorded file would not load ({e})",
                path.display()
            );
            ok = false;
            continue;
        }
        match scan::seal(path, text, secrets) {
            Ok(sealed) => match scan::write(&sealed) {
                Ok(()) => written += 1,
                Err(e) => {
                    eprintln!("csr-conformance: cannot write {}: {e}", path.display());
                    ok = false;
                }
            },
            Err(leaks) => {
                let found: Vec<String> = leaks.iter().map(ToString::to_string).collect();
                eprintln!(
                    "csr-conformance: refusing to write {}: {}",
                    path.display(),
                    found.join("; ")
                );
                ok = false;
            }
        }
    }
    if ok { Ok(written) } else { Err(written) }
}

/// A recorded file must load as the case files it pretends to be.
fn loads_back(path: &Path, text: &str) -> Result<(), String> {
    let cases = cases::parse_case_file(path, text).map_err(|e| e.to_string())?;
    let (_, errors) = runner::validate_cases(cases, None);
    match errors.first() {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

/// Writes the Custom CSR exchanges of a HAR 1.2 capture as a recorded case file
#[derive(Parser, Debug)]
#[command(name = "import-har")]
struct ImportHar {
    /// The HAR 1.2 file (browser devtools, mitmproxy, Postman)
    file: PathBuf,
    /// Directory to write the recorded case file to [default: cases/recorded]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The suite's name; it must start with "recorded" [default: recorded-har-<file name>]
    #[arg(long)]
    suite: Option<String>,
}

pub fn import_har(args: &[OsString]) -> ExitCode {
    let argv =
        std::iter::once(OsString::from("csr-conformance import-har")).chain(args.iter().cloned());
    let cli = match ImportHar::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let fail = |m: String| {
        eprintln!(
            "csr-conformance import-har: {}: {m}; nothing written",
            cli.file.display()
        );
        ExitCode::from(1)
    };
    let stem = cli
        .file
        .file_stem()
        .map(|s| identifier(&s.to_string_lossy()))
        .unwrap_or_else(|| "capture".into());
    let suite = cli
        .suite
        .clone()
        .unwrap_or_else(|| format!("recorded-har-{stem}"));
    if !suite.starts_with("recorded") || identifier(&suite) != suite {
        eprintln!(
            "csr-conformance import-har: --suite {suite:?} must start with \"recorded\" and hold only lowercase letters, digits, '_' or '-'"
        );
        return ExitCode::from(2);
    }
    let bytes = match std::fs::read(&cli.file) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read it ({e})")),
    };
    let imported = match har::parse(&bytes) {
        Ok(i) => i,
        Err(e) => return fail(e.to_string()),
    };
    let skipped: Vec<String> = imported
        .skipped
        .iter()
        .map(|(why, n)| format!("{n} {why}"))
        .collect();
    let skipped = if skipped.is_empty() {
        "none".to_string()
    } else {
        skipped.join(", ")
    };
    if imported.exchanges.is_empty() {
        return fail(format!(
            "no Custom CSR exchange in {} entries (skipped: {skipped})",
            imported.skipped_total()
        ));
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut secrets = Secrets::from_credentials(&Credentials {
        token: env("CLOUDFLARE_API_TOKEN"),
        email: env("CLOUDFLARE_EMAIL"),
        api_key: env("CLOUDFLARE_API_KEY"),
    });
    for ex in &imported.exchanges {
        secrets.learn_from_headers(&ex.headers);
    }
    let clean: Vec<Clean> = imported
        .exchanges
        .iter()
        .map(|ex| scrub(ex, &secrets))
        .collect();
    let mut source = Source::default();
    source.learn(&clean, "object");
    let file_name = cli
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A csr-conformance run's pages are its trials, which run at once: a list one trial sent
    // while another created and deleted an object may show it or not, so cases stay within
    // a page. A browser's pages are navigations of one person's work, and do not split it.
    let pages = match imported.creator.as_deref() {
        Some("csr-conformance") => imported.pages.clone(),
        _ => Vec::new(),
    };
    let groups = group_by_object(clean, &pages, &file_name);
    let mut builder = FileBuilder::new(
        &suite,
        vec![
            format!(
                "Imported by `csr-conformance import-har` from a capture{}: the Custom CSR exchanges,",
                imported
                    .creator
                    .as_ref()
                    .map(|c| format!(" written by {c}"))
                    .unwrap_or_default()
            ),
            "redacted and generalized (ids captured, credentials gone). Edit freely; the format is cases/README.md's.".into(),
        ],
    );
    for g in &groups {
        builder.add(&source, g);
    }
    let out_dir = cli
        .out
        .clone()
        .unwrap_or_else(|| runner::project_root().join("cases").join("recorded"));
    let path = out_dir.join(format!("{suite}.toml"));
    let file = builder.finish();
    let cases = file.cases.len();
    for note in &imported.notes {
        eprintln!("csr-conformance import-har: {note}");
    }
    match write_files(&[(path.clone(), file)], &secrets) {
        Ok(_) => {
            eprintln!(
                "csr-conformance import-har: {} Custom CSR exchange(s) as {cases} case(s) in {}; skipped {} other entries: {skipped}",
                imported.exchanges.len(),
                path.display(),
                imported.skipped_total(),
            );
            ExitCode::SUCCESS
        }
        Err(_) => ExitCode::from(1),
    }
}

/// One case per object: a create starts one, and every later exchange that names an object it
/// created, or lists it, joins it; any other exchange is a case of its own. When `pages` gives
/// each exchange's page, a list joins only a case of its own page (a request naming the id
/// needs the create's answer first; a list of another page may have been sent at any time).
fn group_by_object(clean: Vec<Clean>, pages: &[Option<String>], file_name: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut owner: HashMap<String, (usize, Option<&str>)> = HashMap::new();
    let mut numbers: HashMap<&'static str, usize> = HashMap::new();
    for (i, ex) in clean.into_iter().enumerate() {
        let page = pages.get(i).and_then(Option::as_deref);
        let Some(scope) = scope_of(&ex.path) else {
            continue;
        };
        let op = classify(&ex.method, &ex.path).map(|(op, _)| op);
        // The object a request names, or those a list answer shows.
        let in_path = super::generalize::id_segment(&ex.path);
        let mut named: Vec<String> = in_path.iter().cloned().collect();
        if op == Some(Operation::List)
            && let Some(items) = ex
                .response
                .as_ref()
                .and_then(|r| r.get("result")?.as_array().cloned())
        {
            named.extend(items.iter().filter_map(id_of));
        }
        let joins = |id: &String| {
            let &(at, created_on) = owner.get(id)?;
            (in_path.as_ref() == Some(id) || pages.is_empty() || created_on == page).then_some(at)
        };
        let at = match named.iter().find_map(joins) {
            Some(i) => i,
            None => {
                let word = match op {
                    Some(Operation::List) => "list",
                    Some(Operation::Create) => "create",
                    Some(Operation::Get) => "get",
                    Some(Operation::Delete) => "delete",
                    None => "other",
                };
                let n = numbers.entry(word).or_default();
                *n += 1;
                groups.push(Group {
                    name: format!("{word}_{n}"),
                    doc: Some(format!("Imported from {file_name}.")),
                    scope,
                    exchanges: Vec::new(),
                    hints: Vec::new(),
                });
                groups.len() - 1
            }
        };
        if op == Some(Operation::Create)
            && (200..300).contains(&ex.status)
            && let Some(id) = ex.response.as_ref().and_then(|r| id_of(r.get("result")?))
        {
            owner.insert(id, (at, page));
        }
        groups[at].exchanges.push(ex);
    }
    groups
}
