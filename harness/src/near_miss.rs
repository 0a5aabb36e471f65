//! Near misses of a credential: the configured token or API key one edit away (its last
//! character changed, one character short or long, in another case, padded with spaces). A
//! request names an edit symbolically (`HeaderValue::Derived`); only the executor applies it to
//! the secret, when it puts the request on the wire. Reports describe the edit in words and
//! reproduction lines derive it from the environment variable in the shell, so the value never
//! appears. Pure: no I/O, no other module of the crate.

/// One edit of a credential's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edit {
    /// The last character replaced by another of its kind (`a`→`b`, `z`→`a`, `9`→`0`; any
    /// other character becomes `y`).
    LastChanged,
    /// The last character dropped.
    Truncated,
    /// One more character (`x`) at the end.
    Extended,
    /// Every ASCII letter in the other case.
    OtherCase,
    /// A space before and after. HTTP strips a header value's surrounding whitespace, and a
    /// bearer token may follow `Bearer` after more than one space (RFC 6750's `1*SP`), so a
    /// server that accepts this is right too: it is sent to see that nothing breaks, and is
    /// not required to be refused.
    Padded,
}

impl Edit {
    pub const ALL: [Edit; 5] = [
        Edit::LastChanged,
        Edit::Truncated,
        Edit::Extended,
        Edit::OtherCase,
        Edit::Padded,
    ];

    /// The edited value, or `None` when the edit would leave the value as it is (no letter to
    /// change the case of) or empty.
    pub fn apply(self, value: &str) -> Option<String> {
        let last = value.chars().last()?;
        let stem = &value[..value.len() - last.len_utf8()];
        let out = match self {
            Edit::LastChanged => format!("{stem}{}", rotate(last)),
            Edit::Truncated => stem.to_string(),
            Edit::Extended => format!("{value}x"),
            Edit::OtherCase => value
                .chars()
                .map(|c| {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            Edit::Padded => format!(" {value} "),
        };
        (!out.trim().is_empty() && out != value).then_some(out)
    }

    /// Whether a correct server must refuse the edited credential (see [`Edit::Padded`]).
    pub fn must_be_refused(self) -> bool {
        self != Edit::Padded
    }

    /// What the edit did, after "the configured token".
    pub fn phrase(self) -> &'static str {
        match self {
            Edit::LastChanged => "with its last character changed",
            Edit::Truncated => "without its last character",
            Edit::Extended => "with one more character",
            Edit::OtherCase => "in another case",
            Edit::Padded => "padded with spaces",
        }
    }

    /// A POSIX shell expression, valid inside double quotes, that gives the edited value of
    /// the environment variable `var` (for ASCII values, as credentials are): what a
    /// reproduction line sends instead of the value.
    pub fn shell(self, var: &str) -> String {
        match self {
            Edit::LastChanged => format!(
                "${{{var}%?}}$(printf %s \"${{{var}#\"${{{var}%?}}\"}}\" | tr -c 'A-Za-z0-9' x | tr 'A-Za-z0-9' 'B-ZAb-za1-90')"
            ),
            Edit::Truncated => format!("${{{var}%?}}"),
            Edit::Extended => format!("${{{var}}}x"),
            Edit::OtherCase => format!("$(printf %s \"${var}\" | tr 'A-Za-z' 'a-zA-Z')"),
            Edit::Padded => format!(" ${{{var}}} "),
        }
    }
}

/// The next character of its kind, wrapping; anything but an ASCII letter or digit is `y`.
fn rotate(c: char) -> char {
    match c {
        'a'..='y' | 'A'..='Y' | '0'..='8' => char::from(c as u8 + 1),
        'z' => 'a',
        'Z' => 'A',
        '9' => '0',
        _ => 'y',
    }
}

/// Every distinct near miss of `value` that is not the value itself once trimmed, for the
/// redaction passes: an echo of one gives away all but a character of the secret.
pub fn near_misses(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for edit in Edit::ALL {
        if let Some(v) = edit.apply(value) {
            let v = v.trim().to_string();
            if v != value.trim() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";

    #[test]
    fn each_edit_is_one_step_away() {
        assert_eq!(
            Edit::LastChanged.apply(TOKEN).unwrap(),
            format!("{}Z", &TOKEN[..39])
        );
        assert_eq!(Edit::LastChanged.apply("ab9").unwrap(), "ab0");
        assert_eq!(Edit::LastChanged.apply("abz").unwrap(), "aba");
        assert_eq!(Edit::LastChanged.apply("ab-").unwrap(), "aby");
        assert_eq!(Edit::Truncated.apply(TOKEN).unwrap(), &TOKEN[..39]);
        assert_eq!(Edit::Extended.apply(TOKEN).unwrap(), format!("{TOKEN}x"));
        assert_eq!(Edit::OtherCase.apply("aB3").unwrap(), "Ab3");
        assert_eq!(Edit::Padded.apply("k").unwrap(), " k ");
        for edit in Edit::ALL {
            assert_ne!(edit.apply(TOKEN).unwrap(), TOKEN, "{edit:?}");
        }
    }

    #[test]
    fn edits_that_change_nothing_are_none() {
        assert_eq!(Edit::OtherCase.apply("0123"), None);
        assert_eq!(Edit::Truncated.apply("a"), None);
        for edit in Edit::ALL {
            assert_eq!(edit.apply(""), None);
        }
    }

    #[test]
    fn near_misses_leave_out_the_value_itself() {
        let all = near_misses(TOKEN);
        assert_eq!(all.len(), 4, "padding trims back to the token: {all:?}");
        assert!(!all.iter().any(|v| v == TOKEN));
    }

    /// The shell expression gives what `apply` gives, run by `sh` with the value in the
    /// environment: a reproduction line sends the same near miss.
    #[test]
    fn shell_expressions_agree_with_apply() {
        for value in [
            TOKEN,
            "144c9defac04969c7bfad8efaa8ea194",
            "ab-",
            "a_z",
            "Q9",
        ] {
            for edit in Edit::ALL {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("printf %s \"{}\"", edit.shell("NEAR_MISS_V")))
                    .env("NEAR_MISS_V", value)
                    .env("LC_ALL", "C")
                    .output()
                    .expect("run sh");
                assert_eq!(
                    String::from_utf8(out.stdout).unwrap(),
                    edit.apply(value).unwrap(),
                    "{edit:?} of {value}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}
