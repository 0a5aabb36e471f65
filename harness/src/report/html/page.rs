//! The document: head and style, the verdict, warnings and drift sections, and the order of
//! the sections the files beside it write.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::drift::{self, Notice};
use crate::report::junit::Header;

use super::props::{Counts, Ids, Props};
use super::{Trial, coverage, esc, failures, matrix, warnings};

const STYLE: &str = "
:root{--pass:#1a7f37;--fail:#cf222e;--error:#9a6700;--skip:#6e7781;--none:#d0d7de;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d0d7de}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 1rem}
td code{overflow-wrap:anywhere}
h1{font-size:1.4rem;margin:1rem 0 .2rem}
h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1rem;margin:1rem 0 .3rem}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0}
pre.curl,pre.rerun,pre.command{max-height:9em;overflow:auto}
.muted{color:var(--muted)}
#verdict h2{font-size:1.5rem;border:none;padding:.6rem .8rem;border-radius:6px;color:#fff}
#verdict.pass h2{background:var(--pass)}#verdict.fail h2{background:var(--fail)}#verdict.none h2{background:var(--skip)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}
#warnings li{margin:.3rem 0}
#warnings.some{border-left:4px solid var(--error);padding-left:.8rem}
table{border-collapse:collapse;margin:.4rem 0;width:100%}
th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
#matrix{width:auto}
#matrix td.cell{min-width:11rem}
#matrix td.cell a{display:block;color:inherit;text-decoration:none;font-weight:600}
td.pass{background:#dafbe1}td.fail{background:#ffebe9}td.error{background:#fff8c5}td.skip{background:#eaeef2}td.none{background:#fff;color:var(--muted)}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;color:#fff;font-size:.8rem;font-weight:600}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.error{background:var(--error)}.badge.skip{background:var(--skip)}
article.failure{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:4px;padding:.2rem .8rem .6rem;margin:1rem 0}
article.failure.error{border-left-color:var(--error)}
tr.held td.state{color:var(--pass);font-weight:600}tr.violated td.state{color:var(--fail);font-weight:600}tr.unverified td.state{color:var(--error);font-weight:600}
tr.violated{background:#fff5f5}tr.unverified{background:#fffbea}
details>summary{cursor:pointer;color:var(--muted)}
section.group{margin:.4rem 0 .8rem}
";

/// The whole page.
pub fn render(header: &Header, trials: &[Trial]) -> String {
    let props = Props(&header.properties);
    let counts = Counts::of(trials);
    let coverage_rows = props.coverage();
    let notices = props.drift();
    let warnings = warnings::of(&props, trials, &coverage_rows);
    let (word, class) = verdict_word(&counts);
    let target = props.get("target").unwrap_or("(unknown target)");

    let mut ids = Ids::default();
    let failure_ids: HashMap<&str, String> = trials
        .iter()
        .filter(|t| t.failure.is_some())
        .map(|t| (t.name.as_str(), ids.make("f", &t.name)))
        .collect();

    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"csr-conformance\">\n\
         <title>csr-conformance: {} against {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(word),
        esc(target)
    );
    let _ = write!(
        out,
        "<header>\n<h1>csr-conformance report</h1>\n<p class=\"muted\">Custom CSR API contract, \
         checked against {}{}</p>\n</header>\n<main>\n",
        esc(target),
        if header.timestamp.is_empty() {
            String::new()
        } else {
            format!(", run started {} UTC", esc(&header.timestamp))
        }
    );
    verdict(&mut out, &props, header, &counts, word, class);
    warnings_section(&mut out, &warnings);
    drift_section(
        &mut out,
        &notices,
        props.number("drift_dropped").unwrap_or(0),
    );
    matrix::render(&mut out, &props, trials, &failure_ids, &mut ids);
    failures::render(&mut out, &props, trials, &failure_ids);
    coverage::render(&mut out, &coverage_rows);
    out.push_str(
        "</main>\n<footer><p class=\"muted\">\
         Written by csr-conformance. The page needs no network and no script; collapsed values \
         open with a click.</p></footer>\n</body>\n</html>\n",
    );
    out
}

/// `PASSED`, `FAILED` or `NOTHING JUDGED`, and the verdict's class.
fn verdict_word(c: &Counts) -> (&'static str, &'static str) {
    if c.failed + c.errored > 0 {
        ("FAILED", "fail")
    } else if c.passed == 0 {
        ("NOTHING JUDGED", "none")
    } else {
        ("PASSED", "pass")
    }
}

fn verdict(
    out: &mut String,
    props: &Props,
    header: &Header,
    counts: &Counts,
    word: &str,
    class: &str,
) {
    let _ = write!(
        out,
        "<section id=\"verdict\" class=\"{class}\">\n<h2>{word}: {}</h2>\n<dl class=\"facts\">\n",
        esc(&counts.text())
    );
    let mut fact = |name: &str, value: String| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(&value));
    };
    fact("target", props.get("target").unwrap_or("?").to_string());
    if let Some(url) = props
        .get("base_url")
        .filter(|u| Some(*u) != props.get("target"))
    {
        fact("base URL", url.to_string());
    }
    fact(
        "scopes",
        props
            .get("scopes")
            .unwrap_or("?")
            .replace(',', ", ")
            .replace(':', " "),
    );
    let mut mode = vec![if props.get("read_only") == Some("true") {
        "read-only (nothing created or deleted)"
    } else {
        "write (creates and deletes CSRs)"
    }];
    if props.get("strict") == Some("true") {
        mode.push("strict (documented error codes required)");
    }
    if let Some(p) = props.get("partition") {
        fact("partition", p.to_string());
    }
    fact("mode", mode.join(", "));
    fact("seed", props.get("seed").unwrap_or("?").to_string());
    if let Some(d) = props.get("duration_secs") {
        let merged = props.get("merged_reports").is_some();
        fact(
            "duration",
            format!("{d} s{}", if merged { " (shards added up)" } else { "" }),
        );
    }
    if let Some(n) = props.get("requests") {
        let generated = props.get("generated_requests").unwrap_or("?");
        fact("requests", format!("{n} ({generated} generated)"));
    }
    if let Some(n) = props.get("merged_reports") {
        fact("merged from", format!("{n} shard reports"));
    }
    if !header.hostname.is_empty() {
        fact("host", header.hostname.clone());
    }
    out.push_str("</dl>\n");
    if let Some(command) = props.get("command") {
        let _ = write!(
            out,
            "<p>The command that runs this again (same seed, so generated trials send the same \
             inputs):</p>\n<pre class=\"command\">{}</pre>\n",
            esc(command)
        );
    }
    out.push_str("</section>\n");
}

fn warnings_section(out: &mut String, warnings: &[String]) {
    if warnings.is_empty() {
        out.push_str(
            "<section id=\"warnings\" class=\"none\">\n<h2>Warnings</h2>\n<p>None: nothing makes \
             this run's result less than it says.</p>\n</section>\n",
        );
        return;
    }
    let _ = write!(
        out,
        "<section id=\"warnings\" class=\"some\">\n<h2>Warnings ({})</h2>\n<p>Each of these makes \
         a pass mean less than it seems:</p>\n<ul>\n",
        warnings.len()
    );
    for w in warnings {
        let _ = writeln!(out, "<li>{}</li>", esc(w));
    }
    out.push_str("</ul>\n</section>\n");
}

fn drift_section(out: &mut String, notices: &[Notice], dropped: u64) {
    out.push_str("<section id=\"drift\">\n<h2>Drift notices</h2>\n");
    if notices.is_empty() {
        out.push_str(
            "<p>None: the target said nothing the contract does not name (no unknown field, \
             error code or response header).</p>\n</section>\n",
        );
        return;
    }
    let _ = write!(
        out,
        "<p>What the target said that the contract does not name: a field our schemas do not \
         name, an error code not in the documented table, a response header no documentation \
         mentions. These are not failures (the contract allows them), but they may mean the \
         API has grown.</p>\n<table>\n<thead><tr>\
         <th>what</th><th>name</th><th>answers</th><th>first seen in</th><th>first request</th>\
         </tr></thead>\n<tbody>\n"
    );
    for n in notices {
        let _ = writeln!(
            out,
            "<tr class=\"notice\" data-kind=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td>\
             <td><code>{}</code></td><td><code>{}</code></td></tr>",
            n.kind.word(),
            esc(n.kind.label()),
            esc(&n.name),
            n.count,
            esc(if n.trial.is_empty() {
                "(outside any trial)"
            } else {
                &n.trial
            }),
            esc(&n.request)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if dropped > 0 {
        let _ = writeln!(
            out,
            "<p>{dropped} more distinct notice(s) were not kept (at most {} are).</p>",
            drift::MAX_NOTICES
        );
    }
    out.push_str("</section>\n");
}
