//! The house rules for the source: arrows between files point one way (no two files import
//! from each other, directly or in a circle), and no source file is above 800 lines of code
//! before its tests. Reads `harness/src` and `emulator/src`; reports each crate apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines of code a source file may have before its `#[cfg(test)] mod tests`.
const MAX_LINES: usize = 800;

/// File-level import graph of one crate: file (relative to `src/`) → files it imports from.
type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn harness_files_import_one_way_and_stay_small() {
    let findings = findings_for(&crate_src("."));
    assert!(
        findings.is_empty(),
        "harness/src:\n  {}",
        findings.join("\n  ")
    );
}

#[test]
fn emulator_files_import_one_way_and_stay_small() {
    let findings = findings_for(&crate_src("../emulator"));
    assert!(
        findings.is_empty(),
        "emulator/src:\n  {}",
        findings.join("\n  ")
    );
}

#[test]
fn a_made_up_circle_is_found_and_named() {
    let files: BTreeMap<String, String> = [
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n"),
        ("a.rs", "use crate::b::thing;\n"),
        ("b.rs", "pub fn thing() { crate::c::other() }\n"),
        ("c.rs", "use crate::{a::x as y, d};\n"),
        (
            "d.rs",
            "// use crate::a::x; (a comment)\n#[cfg(test)]\nmod tests { use crate::a::x; }\n",
        ),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_string(), s.to_string()))
    .collect();
    let graph = graph_of(&files);
    assert_eq!(
        graph["c.rs"],
        BTreeSet::from(["a.rs".into(), "d.rs".into()])
    );
    assert!(
        graph["d.rs"].is_empty(),
        "comments and tests are no imports"
    );
    let found = circles(&graph);
    assert_eq!(
        found,
        vec![vec!["a.rs".to_string(), "b.rs".into(), "c.rs".into()]]
    );
    assert_eq!(
        describe(&found[0], &graph),
        "import circle: a.rs -> b.rs -> c.rs -> a.rs"
    );
    // Two files that import each other are a circle too; a folder's mod.rs re-exporting its
    // own file is not one unless the file imports back through it.
    let mut two = files.clone();
    two.insert("d.rs".into(), "use crate::c::y;\n".into());
    two.insert("a.rs".into(), String::new());
    let circles2 = circles(&graph_of(&two));
    assert_eq!(circles2, vec![vec!["c.rs".to_string(), "d.rs".into()]]);
    let folder: BTreeMap<String, String> = [
        ("lib.rs", "pub mod f;\n"),
        ("f/mod.rs", "pub mod g;\npub use g::Thing;\n"),
        ("f/g.rs", "pub struct Thing;\nfn h() { super::helper() }\n"),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_string(), s.to_string()))
    .collect();
    assert_eq!(
        circles(&graph_of(&folder)),
        vec![vec!["f/g.rs".to_string(), "f/mod.rs".into()]]
    );
    let long = "fn f() {}\n".repeat(MAX_LINES + 1) + "#[cfg(test)]\nmod tests {}\n";
    assert_eq!(code_lines(&long), MAX_LINES + 1);
    assert_eq!(code_lines("fn f() {}\n#[cfg(test)]\nfn helper() {}\n"), 3);
}

fn crate_src(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join("src")
}

/// Every circle and every file that is too long, as sentences.
fn findings_for(src: &Path) -> Vec<String> {
    let mut files = BTreeMap::new();
    read_dir(src, src, &mut files);
    assert!(!files.is_empty(), "no source files under {}", src.display());
    let graph = graph_of(&files);
    let mut out: Vec<String> = circles(&graph)
        .iter()
        .map(|c| describe(c, &graph))
        .collect();
    for (path, text) in &files {
        let n = code_lines(text);
        if n > MAX_LINES {
            out.push(format!(
                "{path}: {n} lines of code before its tests (at most {MAX_LINES})"
            ));
        }
    }
    out
}

fn read_dir(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_dir(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under the root");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("a UTF-8 source file");
            files.insert(rel, text);
        }
    }
}

/// The lines before the file's test module (`#[cfg(test)]` followed by `mod`), or all of them.
fn code_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines[i + 1..]
                    .iter()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| {
                        let l = l.trim_start();
                        l.starts_with("mod ")
                            || l.starts_with("pub mod ")
                            || l.starts_with("pub(crate) mod ")
                    })
        })
        .unwrap_or(lines.len())
}

/// The module path of a file: `a/b.rs` is `[a, b]`, `a/mod.rs` is `[a]`, `lib.rs` is `[]`.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let mut parts: Vec<String> = stem.split('/').map(String::from).collect();
    if matches!(parts.last().map(String::as_str), Some("mod")) {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The file that holds the item at module path `segments`: the longest prefix that is a file.
fn file_of(segments: &[String], files: &BTreeMap<String, String>) -> Option<String> {
    (1..=segments.len()).rev().find_map(|k| {
        let base = segments[..k].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|c| files.contains_key(c))
    })
}

/// Imports of each file: `crate::` paths (in `use` trees and inline), `super::` and `self::`
/// paths, and `use` trees that start at a child module. Comments and the test module do not
/// count.
fn graph_of(files: &BTreeMap<String, String>) -> Graph {
    let mut graph = Graph::new();
    for (file, text) in files {
        let code: String = text
            .lines()
            .take(code_lines(text))
            .map(|l| l.find("//").map_or(l, |i| &l[..i]))
            .collect::<Vec<_>>()
            .join("\n");
        let here = module_of(file);
        let mut paths: Vec<Vec<String>> = Vec::new();
        let bytes = code.as_bytes();
        let mut i = 0;
        while i < code.len() {
            let word_start = i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b':');
            if !word_start {
                i += code[i..].chars().next().map_or(1, char::len_utf8);
                continue;
            }
            let rest = &code[i..];
            if let Some(after) = rest.strip_prefix("crate::") {
                let at = code.len() - after.len();
                i = use_tree(&code, at, Vec::new(), &mut paths);
            } else if rest.starts_with("super::") || rest.starts_with("self::") {
                let mut base = here.clone();
                let mut at = i;
                while let Some(after) = code[at..].strip_prefix("super::") {
                    base.pop();
                    at = code.len() - after.len();
                }
                if let Some(after) = code[at..].strip_prefix("self::") {
                    at = code.len() - after.len();
                }
                i = use_tree(&code, at, base, &mut paths);
            } else if let Some(after) = rest.strip_prefix("use ") {
                // `use child::Item;` from a module to its own child module.
                let at = code.len() - after.len();
                let first: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let mut child = here.clone();
                child.push(first);
                if file_of(&child, files).is_some_and(|f| module_of(&f) == child) {
                    i = use_tree(&code, at, here.clone(), &mut paths);
                } else {
                    i = at;
                }
            } else {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
        let deps = graph.entry(file.clone()).or_default();
        for p in paths {
            if let Some(target) = file_of(&p, files).or_else(|| root_of(files))
                && target != *file
            {
                deps.insert(target);
            }
        }
    }
    graph
}

fn root_of(files: &BTreeMap<String, String>) -> Option<String> {
    ["lib.rs", "main.rs"]
        .into_iter()
        .find(|f| files.contains_key(*f))
        .map(String::from)
}

/// Reads a path or a use tree (`a::b::{c, d::e as f, *}`) at `at`, appending every full path
/// under `prefix` to `out`; returns where it ended.
fn use_tree(code: &str, mut at: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut segments = prefix;
    loop {
        let rest = &code[at..];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if let Some(inner) = trimmed.strip_prefix('{') {
            at = code.len() - inner.len();
            loop {
                let rest = &code[at..];
                let skipped = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
                at += rest.len() - skipped.len();
                if skipped.is_empty() {
                    return at;
                }
                if skipped.starts_with('}') {
                    return at + 1;
                }
                let before = at;
                at = use_tree(code, at, segments.clone(), out);
                if at == before {
                    at += code[at..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        let word: String = trimmed
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '*')
            .collect();
        if word.is_empty() {
            out.push(segments);
            return at;
        }
        at += word.len();
        if word != "self" && word != "*" {
            segments.push(word);
        }
        match code[at..].strip_prefix("::") {
            Some(after) => at = code.len() - after.len(),
            None => {
                out.push(segments);
                // `a::b as c`: the alias is no path.
                let rest = &code[at..];
                if let Some(alias) = rest.trim_start().strip_prefix("as ") {
                    let alias = alias.trim_start();
                    let name = alias
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .count();
                    return code.len() - alias.len() + name;
                }
                return at;
            }
        }
    }
}

/// Every set of files that import each other, directly or in a circle (Tarjan's strongly
/// connected components of more than one file), each sorted, in order.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    s.found
}

/// A circle as the path that closes it, from its first file: `a.rs -> b.rs -> a.rs`.
fn describe(component: &[String], graph: &Graph) -> String {
    let inside: BTreeSet<&str> = component.iter().map(String::as_str).collect();
    let start = component[0].as_str();
    // Breadth-first from `start` back to itself, within the component.
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                last = Some(v);
                queue.clear();
                break;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut path = vec![start];
    let mut v = last.unwrap_or(start);
    let mut back = Vec::new();
    while v != start {
        back.push(v);
        v = came_from[v];
    }
    path.extend(back.into_iter().rev());
    path.push(start);
    let mut text = format!("import circle: {}", path.join(" -> "));
    if component.len() + 1 > path.len() {
        text += &format!(" (among {})", component.join(", "));
    }
    text
}
