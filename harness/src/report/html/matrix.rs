//! The matrix of check families by scope, each cell coloured by how its trials ended and
//! linking to them, and the lists of trials it links to.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::props::{Counts, Ids, Props};
use super::{Status, Trial, esc};

/// The families every run has, in the order the README's table lists them.
pub const FAMILIES: &[&str] = &[
    "envelope",
    "schema",
    "pem",
    "auth",
    "behaviour",
    "validation",
    "fixtures",
    "property",
];

/// Rows: the documented families, then any other seen (recorded suites, load errors).
pub fn families(trials: &[Trial]) -> Vec<String> {
    let mut out: Vec<String> = FAMILIES.iter().map(|f| f.to_string()).collect();
    for t in trials {
        if !out.iter().any(|f| f == t.family()) {
            out.push(t.family().to_string());
        }
    }
    out
}

/// Columns: the run's scopes (`account`, `zone`), then `run` if a trial has no scope.
pub fn scopes(props: &Props, trials: &[Trial]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let from_props = props
        .get("scopes")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.split_once(':').map(|(kind, _)| kind.to_string()));
    let from_trials = trials.iter().map(|t| t.scope().to_string());
    for s in from_props.chain(from_trials) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.sort_by_key(|s| match s.as_str() {
        "account" => 0,
        "zone" => 1,
        _ => 2,
    });
    out
}

/// A cell's class: `fail` if any trial failed, else `error`, `pass`, `skip`, or `none`
/// without trials.
pub fn cell_class(trials: &[&Trial]) -> &'static str {
    let has = |s: Status| trials.iter().any(|t| t.status == s);
    if has(Status::Fail) {
        "fail"
    } else if has(Status::Error) {
        "error"
    } else if has(Status::Pass) {
        "pass"
    } else if has(Status::Skip) {
        "skip"
    } else {
        "none"
    }
}

fn cell_text(c: &Counts) -> String {
    let mut parts = Vec::new();
    if c.failed > 0 {
        parts.push(format!("{} failed", c.failed));
    }
    if c.errored > 0 {
        parts.push(format!("{} errored", c.errored));
    }
    if c.passed > 0 {
        parts.push(format!("{} passed", c.passed));
    }
    if c.skipped > 0 {
        parts.push(format!("{} skipped", c.skipped));
    }
    if parts.is_empty() {
        "no trials".into()
    } else {
        parts.join(", ")
    }
}

/// The matrix section and the trial lists its cells link to.
pub fn render(
    out: &mut String,
    props: &Props,
    trials: &[Trial],
    failure_ids: &HashMap<&str, String>,
    ids: &mut Ids,
) {
    let families = families(trials);
    let scopes = scopes(props, trials);
    let mut groups: Vec<(String, String, String, Vec<&Trial>)> = Vec::new();
    for f in &families {
        for s in &scopes {
            let members: Vec<&Trial> = trials
                .iter()
                .filter(|t| t.family() == f && t.scope() == s)
                .collect();
            let id = ids.make("trials", &format!("{f}-{s}"));
            groups.push((f.clone(), s.clone(), id, members));
        }
    }

    out.push_str(
        "<section id=\"families\">\n<h2>Check families by scope</h2>\n<p>Each cell holds the \
         trials of one family in one scope; red means a trial failed (the target broke the \
         contract), yellow that one could not be judged. A cell links to its trials.</p>\n\
         <table id=\"matrix\">\n<thead><tr><th>family</th>",
    );
    for s in &scopes {
        let _ = write!(out, "<th>{}</th>", esc(s));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for f in &families {
        let _ = write!(out, "<tr><th>{}</th>", esc(f));
        for (gf, gs, id, members) in groups.iter().filter(|(gf, ..)| gf == f) {
            let _ = write!(
                out,
                "<td class=\"cell {}\" data-family=\"{}\" data-scope=\"{}\"><a href=\"#{id}\">{}</a></td>",
                cell_class(members),
                esc(gf),
                esc(gs),
                esc(&cell_text(&Counts::of(members.iter().copied())))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");

    out.push_str("<section id=\"trials\">\n<h2>Trials</h2>\n");
    for (f, s, id, members) in &groups {
        let counts = Counts::of(members.iter().copied());
        let _ = write!(
            out,
            "<section class=\"group\" id=\"{id}\">\n<h3>{} · {}: {}</h3>\n",
            esc(f),
            esc(s),
            esc(&cell_text(&counts))
        );
        if members.is_empty() {
            out.push_str(
                "<p class=\"muted\">No trial of this family ran in this scope (not selected, or \
                 the family has no case here).</p>\n</section>\n",
            );
            continue;
        }
        let bad: Vec<&&Trial> = members
            .iter()
            .filter(|t| matches!(t.status, Status::Fail | Status::Error))
            .collect();
        if !bad.is_empty() {
            out.push_str("<ul>\n");
            for t in bad {
                let link = failure_ids
                    .get(t.name.as_str())
                    .map(|id| format!("<a href=\"#{id}\">{}</a>", esc(&t.name)))
                    .unwrap_or_else(|| esc(&t.name));
                let _ = writeln!(
                    out,
                    "<li><span class=\"badge {}\">{}</span> {link}: {}</li>",
                    t.status.class(),
                    if t.status == Status::Fail {
                        "failed"
                    } else {
                        "error"
                    },
                    esc(&t.summary)
                );
            }
            out.push_str("</ul>\n");
        }
        for (status, word) in [(Status::Skip, "skipped"), (Status::Pass, "passed")] {
            let these: Vec<&&Trial> = members.iter().filter(|t| t.status == status).collect();
            if these.is_empty() {
                continue;
            }
            let _ = write!(
                out,
                "<details><summary>{} {word}</summary>\n<ul>\n",
                these.len()
            );
            for t in these {
                if status == Status::Skip {
                    let _ = writeln!(
                        out,
                        "<li><code>{}</code>: {}</li>",
                        esc(&t.name),
                        esc(&t.summary)
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "<li><code>{}</code> <span class=\"muted\">{} ms</span></li>",
                        esc(&t.name),
                        t.millis
                    );
                }
            }
            out.push_str("</ul>\n</details>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</section>\n");
}
