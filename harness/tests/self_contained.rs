//! The repository stands alone: no file of the project refers to the workspace folder that sits
//! beside our own checkout (`..` then `shared`), which a user's clone does not have. A test or a
//! CI step that read from there would pass for us and fail for everyone else.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The forbidden reference, built at run time so that this file does not hold it.
fn needles() -> Vec<String> {
    ["/", "\\"]
        .iter()
        .map(|sep| format!("..{sep}{}", "shared"))
        .collect()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate lives inside the repository")
        .to_path_buf()
}

/// The project's files: what git tracks plus what it would pick up (untracked, not ignored),
/// so a reference is caught before it is committed. Outside a git checkout (an unpacked
/// source archive), every file below `root` but build output and installed packages.
fn project_files(root: &Path) -> Vec<PathBuf> {
    let git = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output();
    match git {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
            .filter(|p| p.is_file())
            .collect(),
        _ => walk(root),
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some(".git" | "target" | "node_modules" | "__pycache__" | ".venv" | "reports")
        ) {
            continue;
        }
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.is_file() {
            files.push(path);
        }
    }
    files
}

/// Whether `line` holds `needle` as a whole path segment (followed by `/`, a quote or the end
/// of the line), not as the start of another name (followed by a letter, as in "sharedness").
fn refers(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(at, _)| {
        line[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'))
    })
}

/// `file:line` for every line of `files` that holds a forbidden reference.
fn references(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let needles = needles();
    let mut found = Vec::new();
    for file in files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            if needles.iter().any(|n| refers(line, n)) {
                let shown = file.strip_prefix(root).unwrap_or(file);
                found.push(format!("{}:{}", shown.display(), i + 1));
            }
        }
    }
    found
}

#[test]
fn no_project_file_refers_to_the_workspace_beside_the_clone() {
    let root = repo_root();
    let files = project_files(&root);
    assert!(
        files.iter().any(|f| f.ends_with("Cargo.toml")),
        "found no project files under {}",
        root.display()
    );
    let found = references(&root, &files);
    assert!(
        found.is_empty(),
        "these lines refer to the folder beside the checkout, which a user's clone does not \
         have; copy what is needed into the repository (e.g. harness/tests/data/) instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_a_planted_reference() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("self-contained-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
    let planted = format!(
        "fn main() {{\n    let xsd = \"{}/junit/junit-10.xsd\";\n}}\n",
        needles()[0]
    );
    std::fs::write(dir.join("tests/reads_outside.rs"), planted).unwrap();
    // Another folder whose name merely starts the same way is no reference.
    let other = format!("// shared state, {}ness\n", needles()[0]);
    std::fs::write(dir.join("tests/fine.rs"), other).unwrap();
    let found = references(&dir, &walk(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        [format!(
            "tests{}reads_outside.rs:2",
            std::path::MAIN_SEPARATOR
        )]
    );
}
