//! The contract coverage table: every documented rule, how many exchanges exercised it,
//! whether it held, and which trials verified it.

use std::fmt::Write as _;

use crate::rules::{Entry, Rule};

use super::esc;

/// Trials named in full before the rest go behind an expander.
const SHOWN_TRIALS: usize = 3;

/// `held`, `violated` or `unverified`.
pub fn state(entry: &Entry) -> &'static str {
    if entry.exercised == 0 {
        "unverified"
    } else if entry.violated > 0 {
        "violated"
    } else {
        "held"
    }
}

pub fn render(out: &mut String, rows: &[(&'static Rule, Entry)]) {
    let verified = rows.iter().filter(|(_, e)| e.exercised > 0).count();
    let violated = rows.iter().filter(|(_, e)| e.violated > 0).count();
    let _ = write!(
        out,
        "<section id=\"contract\">\n<h2>Contract coverage: {verified} of {} documented rules \
         verified, {violated} violated</h2>\n<p>Every rule the documentation states, with how \
         many exchanges were compared with it. A rule never exercised is marked <em>not \
         verified</em>: the run says nothing about it.</p>\n<table id=\"coverage\">\n<thead><tr>\
         <th>rule</th><th>group</th><th>what the contract says</th><th>exchanges</th>\
         <th>result</th><th>verified by</th></tr></thead>\n<tbody>\n",
        rows.len()
    );
    for (rule, entry) in rows {
        let state = state(entry);
        let result = match state {
            "held" => "held".to_string(),
            "violated" => format!("violated {} time(s)", entry.violated),
            _ => format!("not verified (needs {})", rule.needs.text()),
        };
        let trials: Vec<&String> = entry.trials.iter().collect();
        let mut names = trials
            .iter()
            .take(SHOWN_TRIALS)
            .map(|t| format!("<code>{}</code>", esc(t)))
            .collect::<Vec<_>>()
            .join(", ");
        if trials.len() > SHOWN_TRIALS {
            let rest = trials[SHOWN_TRIALS..]
                .iter()
                .map(|t| format!("<code>{}</code>", esc(t)))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(
                names,
                " <details><summary>{} more</summary>{rest}</details>",
                trials.len() - SHOWN_TRIALS
            );
        }
        let _ = writeln!(
            out,
            "<tr data-rule=\"{id}\" class=\"{state}\"><td><code>{id}</code></td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"state\">{}</td><td>{names}</td></tr>",
            esc(rule.group.label()),
            code_spans(rule.text),
            entry.exercised,
            esc(&result),
            id = esc(rule.id),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// `text` escaped, with its `backquoted` stretches as code.
fn code_spans(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}
