//! The PEM armour of the `csr` field: one strict RFC 7468 block read into DER, or every problem
//! found on the way (label, text before BEGIN or after END, line breaks, base64 and padding).
//! Pure: text in, DER or problems out; it never parses the DER and never names a rule.
//!
//! The reader is written here rather than taken from a crate. `x509_parser::pem` ignores the END
//! label and any text before BEGIN, both of which this contract forbids. `pem-rfc7468` stops at
//! the first error and names it with a bare enum variant (no position, no excerpt), so it could
//! not keep today's messages: bare base64, twice-escaped `\n`, an elided `...` body, the bad
//! base64 character and its position, several problems merged into one finding.

use super::text::{Problem, excerpt, excerpt_tail};

pub(super) const LABEL: &str = "CERTIFICATE REQUEST";
pub(super) const LEGACY_LABEL: &str = "NEW CERTIFICATE REQUEST";
pub(super) const BEGIN_LINE: &str = "-----BEGIN CERTIFICATE REQUEST-----";
pub(super) const END_LINE: &str = "-----END CERTIFICATE REQUEST-----";

/// Reads exactly one strict PEM block and returns its DER, or every problem found before the
/// reading had to stop.
pub(super) fn read_pem(text: &str) -> Result<Vec<u8>, Vec<Problem>> {
    let Some(begin_at) = text.find("-----BEGIN") else {
        let trimmed = text.trim();
        let message = if text.contains("-----END") {
            "The csr has an END line but no BEGIN line, so it is not a PEM block."
        } else if trimmed.starts_with("MII") {
            "The csr has no PEM BEGIN/END lines: it looks like bare base64 DER without the PEM \
             armour."
        } else {
            "The csr is not PEM: it has no `-----BEGIN CERTIFICATE REQUEST-----` line."
        };
        return Err(vec![Problem::new(BEGIN_LINE, excerpt(trimmed), message)]);
    };
    let begins = text.matches("-----BEGIN").count();
    if begins > 1 {
        return Err(vec![Problem::new(
            "exactly one PEM block",
            format!("{begins} BEGIN lines"),
            format!(
                "The csr holds {begins} PEM blocks; a CustomCsr carries exactly one CERTIFICATE \
                 REQUEST."
            ),
        )]);
    }
    if !text.contains('\n') && text.contains("\\n") {
        return Err(vec![Problem::new(
            "line breaks between the PEM lines",
            "literal \\n sequences",
            "The csr has literal `\\n` escape sequences instead of line breaks (JSON-escaped \
             twice?), so its BEGIN and END lines are not lines of their own.",
        )]);
    }

    let mut problems = Vec::new();
    let before = text[..begin_at].trim();
    if !before.is_empty() {
        problems.push(Problem::new(
            "nothing but whitespace before the BEGIN line",
            excerpt(before),
            format!(
                "The csr has text before its BEGIN line ({}); only whitespace may precede it.",
                excerpt(before)
            ),
        ));
    }

    let (begin_line, after_begin) = split_line(&text[begin_at..]);
    let begin_line = begin_line.trim_end();
    let Some(label) = armour_label(begin_line, "-----BEGIN ") else {
        problems.push(Problem::new(
            BEGIN_LINE,
            excerpt(begin_line),
            "The BEGIN line is malformed: it must be `-----BEGIN CERTIFICATE REQUEST-----` on a \
             line of its own.",
        ));
        return Err(problems);
    };
    if label == LEGACY_LABEL {
        problems.push(Problem::new(
            LABEL,
            label,
            "The PEM label is the legacy `NEW CERTIFICATE REQUEST` (old Netscape/Microsoft \
             tools); RFC 7468 requires `CERTIFICATE REQUEST`.",
        ));
    } else if label != LABEL {
        problems.push(Problem::new(
            LABEL,
            excerpt(label),
            format!(
                "The PEM label is `{}`, so this is not a certificate request; expected \
                 `CERTIFICATE REQUEST`.",
                excerpt(label)
            ),
        ));
    }

    let Some(end_at) = after_begin.find("-----END") else {
        let tail = after_begin.trim_end();
        let elided = if tail.contains("...") || tail.ends_with('…') {
            ", and its body contains '...' (an elided example, not a real CSR)"
        } else {
            ""
        };
        problems.push(Problem::new(
            END_LINE,
            if tail.trim().is_empty() {
                "no END line and no body".to_owned()
            } else {
                format!("no END line; text ends with {}", excerpt_tail(tail))
            },
            format!(
                "The PEM is truncated: it has no `-----END CERTIFICATE REQUEST-----` line{elided}."
            ),
        ));
        return Err(problems);
    };
    let body = &after_begin[..end_at];

    let end_line_prefix = body.rsplit('\n').next().unwrap_or_default();
    if !end_line_prefix.trim().is_empty() {
        problems.push(Problem::new(
            "the END line on a line of its own",
            excerpt_tail(end_line_prefix.trim()),
            "The END line does not start on a line of its own.",
        ));
    }
    let (end_line, after_end) = split_line(&after_begin[end_at..]);
    let end_line = end_line.trim_end();
    match armour_label(end_line, "-----END ") {
        None => problems.push(Problem::new(
            format!("-----END {label}-----"),
            excerpt(end_line),
            "The END line is malformed: it must be `-----END CERTIFICATE REQUEST-----` on a line \
             of its own.",
        )),
        Some(end_label) if end_label != label => problems.push(Problem::new(
            format!("-----END {}-----", excerpt(label)),
            excerpt(end_line),
            format!(
                "The END label `{}` does not match the BEGIN label `{}`.",
                excerpt(end_label),
                excerpt(label)
            ),
        )),
        Some(_) => {}
    }
    let after = after_end.trim();
    if !after.is_empty() {
        problems.push(Problem::new(
            "nothing but whitespace after the END line",
            excerpt(after),
            format!(
                "The csr has text after its END line ({}); only whitespace may follow it.",
                excerpt(after)
            ),
        ));
    }

    match decode_base64(body) {
        Ok(der) if der.is_empty() => problems.push(Problem::new(
            "base64 DER between BEGIN and END",
            "empty body",
            "The PEM block has no body between its BEGIN and END lines.",
        )),
        Ok(der) if problems.is_empty() => return Ok(der),
        Ok(_) => {}
        Err(why) => {
            let elided = if body.contains("...") {
                " The body contains '...', so it looks elided or truncated."
            } else {
                ""
            };
            problems.push(Problem::new(
                "a base64 body",
                excerpt(&why),
                format!("The PEM body is not valid base64: {why}.{elided}"),
            ));
        }
    }
    Err(problems)
}

/// `-----BEGIN X-----` → `X`; `None` when the line is not exactly an armour line (e.g. data
/// follows on the same line).
fn armour_label<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?
        .strip_suffix("-----")
        .filter(|label| !label.contains("-----"))
}

fn split_line(text: &str) -> (&str, &str) {
    match text.find('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    }
}

/// Strict RFC 4648 base64 (standard alphabet, padding required); RFC 7468 lets whitespace and
/// line breaks appear anywhere in the body.
fn decode_base64(body: &str) -> Result<Vec<u8>, String> {
    let mut sextets: Vec<u8> = Vec::with_capacity(body.len());
    let mut padding = 0usize;
    for c in body.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            continue;
        }
        let position = sextets.len() + padding + 1;
        if c == '=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return Err(format!(
                "data character {c:?} after '=' padding at position {position}"
            ));
        }
        let value = match c {
            'A'..='Z' => c as u8 - b'A',
            'a'..='z' => c as u8 - b'a' + 26,
            '0'..='9' => c as u8 - b'0' + 52,
            '+' => 62,
            '/' => 63,
            _ => {
                return Err(format!(
                    "character {c:?} at body position {position} is not in the base64 alphabet"
                ));
            }
        };
        sextets.push(value);
    }
    let total = sextets.len() + padding;
    if padding > 2 || !total.is_multiple_of(4) {
        return Err(format!(
            "{total} base64 characters ({padding} of them '=') do not form whole 4-character \
             groups (truncated or badly padded)"
        ));
    }
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let mut group = 0u32;
        for (i, &s) in chunk.iter().enumerate() {
            group |= u32::from(s) << (18 - 6 * i);
        }
        let bytes = group.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}
