//! Each failure as the terminal shows it, with long values (PEMs, SAN lists, bodies) shortened
//! behind an expander and never dropped, the PEM side-by-side table, and the lines that send
//! its requests again and rerun the trial.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::report::repro;

use super::props::Props;
use super::{Status, Trial, esc};

/// A line longer than this is shown cut, the whole of it behind an expander.
const LONG_LINE: usize = 300;
/// What is shown of a cut line.
const SHOWN: usize = 160;
/// A value continued over more lines than this (a PEM, a list of schema errors) is shown cut.
const LONG_BLOCK: usize = 10;
/// Continuation lines of a field start with this many spaces (`  label:   value`).
const INDENT: usize = 12;

/// A piece of a failure text.
#[derive(Debug, PartialEq)]
pub enum Block {
    Text(String),
    /// `head` is shown; `whole` behind an expander saying `what`.
    Long {
        head: String,
        whole: String,
        what: String,
    },
}

/// `text` cut into plain stretches and long values.
pub fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    let mut plain: Vec<&str> = Vec::new();
    let flush = |plain: &mut Vec<&str>, out: &mut Vec<Block>| {
        if !plain.is_empty() {
            out.push(Block::Text(plain.join("\n")));
            plain.clear();
        }
    };
    let continued = |l: &str| l.len() > INDENT && l[..INDENT].bytes().all(|b| b == b' ');
    // The steps of a sequence: indented lines under `steps before the last:`.
    let step = |l: &str| {
        let word = l.trim_start().split(' ').next().unwrap_or_default();
        let numbered = word.len() > 1
            && word.ends_with('.')
            && word[..word.len() - 1].bytes().all(|b| b.is_ascii_digit());
        let method = word.len() > 1 && word.bytes().all(|b| b.is_ascii_uppercase());
        l.starts_with("     ") || (l.starts_with("  ") && (numbered || method))
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        // A field's first line and its continuation lines, or a list of steps, when long.
        let mut end = i + 1;
        if line.ends_with("before the last:") || line == "earlier exchanges:" {
            while end < lines.len() && step(lines[end]) {
                end += 1;
            }
        } else {
            while end < lines.len() && continued(lines[end]) {
                end += 1;
            }
        }
        if end - i > LONG_BLOCK {
            flush(&mut plain, &mut out);
            out.push(Block::Long {
                head: lines[i..i + 3].join("\n"),
                whole: lines[i..end].join("\n"),
                what: format!("all {} lines", end - i),
            });
            i = end;
            continue;
        }
        let chars = line.chars().count();
        if chars > LONG_LINE {
            flush(&mut plain, &mut out);
            out.push(Block::Long {
                head: format!("{}…", line.chars().take(SHOWN).collect::<String>()),
                whole: line.to_string(),
                what: format!("all {chars} characters"),
            });
        } else {
            plain.push(line);
        }
        i += 1;
    }
    flush(&mut plain, &mut out);
    out
}

fn render_blocks(out: &mut String, text: &str) {
    for b in blocks(text) {
        match b {
            Block::Text(t) => {
                let _ = writeln!(out, "<pre class=\"text\">{}</pre>", esc(&t));
            }
            Block::Long { head, whole, what } => {
                let _ = writeln!(
                    out,
                    "<pre class=\"text\">{}</pre>\n<details class=\"long\"><summary>show {}\
                     </summary>\n<pre class=\"text\">{}</pre>\n</details>",
                    esc(&head),
                    esc(&what),
                    esc(&whole)
                );
            }
        }
    }
}

/// The failures section: one article per trial that failed or could not be judged.
pub fn render(
    out: &mut String,
    props: &Props,
    trials: &[Trial],
    failure_ids: &HashMap<&str, String>,
) {
    let bad: Vec<&Trial> = trials.iter().filter(|t| t.failure.is_some()).collect();
    let _ = writeln!(
        out,
        "<section id=\"failures\">\n<h2>Failures ({})</h2>",
        bad.len()
    );
    if bad.is_empty() {
        out.push_str("<p>None: no trial failed or errored.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p>A <span class=\"badge fail\">failure</span> is the target breaking the contract; an \
         <span class=\"badge error\">error</span> is a trial that could not be judged (no \
         answer, a timeout, garbage). Credentials appear as <code>$CLOUDFLARE_API_TOKEN</code> \
         (or <code>$CLOUDFLARE_EMAIL</code> and <code>$CLOUDFLARE_API_KEY</code>): set them \
         before pasting a line.</p>\n",
    );
    let options = props.target_options();
    for t in bad {
        let Some(f) = &t.failure else { continue };
        let id = failure_ids
            .get(t.name.as_str())
            .cloned()
            .unwrap_or_default();
        let (class, word) = if t.status == Status::Error {
            ("error", "error")
        } else {
            ("fail", "failure")
        };
        let _ = write!(
            out,
            "<article class=\"failure {class}\" id=\"{id}\">\n<h3><span class=\"badge {class}\">\
             {word}</span> <code>{}</code></h3>\n<p>{}</p>\n",
            esc(&t.name),
            esc(&t.summary)
        );
        render_blocks(out, &f.text);
        if !f.pem.is_empty() {
            out.push_str(
                "<table class=\"pem\">\n<caption>What the CSR says beside what the JSON says\
                 </caption>\n<thead><tr><th>attribute</th><th>in the CSR (PEM)</th><th>in the \
                 JSON</th></tr></thead>\n<tbody>\n",
            );
            for row in &f.pem {
                let differs = row.csr != row.json;
                let _ = writeln!(
                    out,
                    "<tr{}><td>{}</td><td>{}</td><td>{}</td></tr>",
                    if differs { " class=\"violated\"" } else { "" },
                    esc(&row.attribute),
                    cell(&row.csr),
                    cell(&row.json)
                );
            }
            out.push_str("</tbody>\n</table>\n");
        }
        out.push_str("<h4>Send the request again</h4>\n");
        if f.curls.is_empty() {
            out.push_str("<pre class=\"curl\"># no request was sent for this trial</pre>\n");
        }
        for c in &f.curls {
            let _ = writeln!(out, "<pre class=\"curl\">{}</pre>", esc(c));
        }
        let seed = f.seed.unwrap_or_else(|| props.seed());
        let _ = write!(
            out,
            "<h4>Run the trial again</h4>\n<pre class=\"rerun\">{}</pre>\n</article>\n",
            esc(&repro::rerun_line(&options, seed, &t.name))
        );
    }
    out.push_str("</section>\n");
}

/// A table cell's value, a long one (a list of 150 SANs) behind an expander.
fn cell(value: &str) -> String {
    let chars = value.chars().count();
    if chars <= LONG_LINE {
        return esc(value);
    }
    format!(
        "{}… <details><summary>all {chars} characters</summary>{}</details>",
        esc(&value.chars().take(SHOWN).collect::<String>()),
        esc(value)
    )
}
