//! Text for findings: excerpts that fit a report column, and one finding made of several problems.
//! Pure string work: it never parses a CSR and never decides whether anything is wrong.

use serde_json::Value;

use crate::model::Finding;

/// Long enough to recognise a value, short enough for a report column.
const EXCERPT_CHARS: usize = 48;

/// One thing wrong within a rule. A rule reports once, so its problems are merged.
#[derive(Debug)]
pub(super) struct Problem {
    expected: String,
    actual: String,
    message: String,
}

impl Problem {
    pub(super) fn new(
        expected: impl Into<String>,
        actual: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            expected: expected.into(),
            actual: actual.into(),
            message: message.into(),
        }
    }
}

/// The first problem gives expected/actual; the message carries all of them so that fixing the
/// first does not reveal a surprise second one.
pub(super) fn merge(rule: &str, pointer: &str, problems: Vec<Problem>) -> Option<Finding> {
    let mut iter = problems.into_iter();
    let first = iter.next()?;
    let mut message = first.message;
    for more in iter {
        message.push_str(" Also: ");
        message.push_str(&more.message);
    }
    Some(Finding::new(
        rule,
        pointer,
        first.expected,
        first.actual,
        message,
    ))
}

pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Control characters escaped (quotes left alone) so a value stays on one visible line.
fn visible(text: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    for c in text {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// The start of `text`, for report columns.
pub(super) fn excerpt(text: &str) -> String {
    let mut out = visible(text.chars().take(EXCERPT_CHARS));
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The end of `text`, which is where truncation shows.
pub(super) fn excerpt_tail(text: &str) -> String {
    let count = text.chars().count();
    let tail = visible(text.chars().skip(count.saturating_sub(EXCERPT_CHARS / 2)));
    if count > EXCERPT_CHARS / 2 {
        format!("…{tail}")
    } else {
        tail
    }
}
