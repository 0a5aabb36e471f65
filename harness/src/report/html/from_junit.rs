//! The page's trials read back from JUnit testcases, for `merge`: the failure text is the
//! testcase's `<failure>`/`<error>` text (the terminal's), the curl lines are its `curl:`
//! fields and the steps' curl lines, the seed and 429 waits come from `<system-out>`.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::report::junit::CaseXml;

use super::{Failure, Status, Trial, waited};

/// The trials of `cases`, in order; a testcase that does not parse is skipped.
pub fn trials(cases: &[CaseXml]) -> Vec<Trial> {
    cases.iter().filter_map(|c| trial(&c.xml)).collect()
}

/// One `<testcase>` element as a trial.
pub fn trial(xml: &str) -> Option<Trial> {
    let mut reader = Reader::from_str(xml);
    let mut name = None;
    let mut millis = 0;
    let mut status = Status::Pass;
    let mut summary = String::from("passed");
    let mut text = String::new();
    let mut system_out = String::new();
    // Which element's text is being read, at depth 1 under the testcase.
    let mut reading: Option<&'static str> = None;
    let mut depth = 0usize;
    loop {
        match reader.read_event().ok()? {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                for a in e.attributes().flatten() {
                    let value = a.unescape_value().ok()?.into_owned();
                    match a.key.as_ref() {
                        b"name" => name = Some(value),
                        b"time" => {
                            millis = value
                                .parse::<f64>()
                                .ok()
                                .filter(|t| t.is_finite() && *t >= 0.0)
                                .map_or(0, |t| (t * 1000.0).round() as u64)
                        }
                        _ => {}
                    }
                }
            }
            Event::Start(e) => {
                depth += 1;
                if depth == 1 {
                    let tag = e.name().as_ref().to_vec();
                    reading = outcome_element(&tag, &e, &mut status, &mut summary);
                    if tag == b"system-out" {
                        reading = Some("system-out");
                    }
                }
            }
            Event::Empty(e) if depth == 0 => {
                let tag = e.name().as_ref().to_vec();
                outcome_element(&tag, &e, &mut status, &mut summary);
            }
            Event::End(e) if e.name().as_ref() != b"testcase" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    reading = None;
                }
            }
            Event::Text(t) if depth == 1 => {
                let t = t.decode().ok()?;
                match reading {
                    Some("system-out") => system_out.push_str(&t),
                    Some(_) => text.push_str(&t),
                    None => {}
                }
            }
            // Entity and character references come as events of their own.
            Event::GeneralRef(r) if depth == 1 => {
                let c = match r.resolve_char_ref().ok()? {
                    Some(c) => c,
                    None => match &*r {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        _ => '\u{fffd}',
                    },
                };
                match reading {
                    Some("system-out") => system_out.push(c),
                    Some(_) => text.push(c),
                    None => {}
                }
            }
            _ => {}
        }
    }
    let seed = system_out
        .lines()
        .find_map(|l| l.strip_prefix("seed: "))
        .and_then(|s| s.trim().parse().ok());
    let waited_secs = system_out
        .lines()
        .filter_map(|l| l.strip_prefix("rate limited: "))
        .map(waited)
        .sum();
    let failure = matches!(status, Status::Fail | Status::Error).then(|| Failure {
        curls: curl_lines(&text),
        text,
        seed,
        pem: Vec::new(),
    });
    Some(Trial {
        name: name?,
        status,
        millis,
        summary,
        waited_secs,
        failure,
    })
}

/// Notes the outcome a `<failure>`, `<error>` or `<skipped>` element says; which text to read.
fn outcome_element(
    tag: &[u8],
    e: &quick_xml::events::BytesStart,
    status: &mut Status,
    summary: &mut String,
) -> Option<&'static str> {
    let message = || {
        e.try_get_attribute("message")
            .ok()
            .flatten()
            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
            .unwrap_or_default()
    };
    match tag {
        b"failure" => {
            *status = Status::Fail;
            *summary = message();
            Some("failure")
        }
        b"error" => {
            *status = Status::Error;
            *summary = message();
            Some("error")
        }
        b"skipped" => {
            *status = Status::Skip;
            *summary = format!("skipped: {}", message());
            None
        }
        _ => None,
    }
}

/// The curl line of a failure text's last exchange: its `curl:` field.
pub fn curl_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("  curl:"))
        .map(|c| c.trim().to_string())
        .collect()
}
