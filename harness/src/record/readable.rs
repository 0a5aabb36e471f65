//! The held-back scan ([`scan::scan`]) for files a person reads rather than replays: a run's
//! HAR file, its HTML page. Those show certificate signing requests as the target sent them,
//! and a CSR's base64 is public by nature yet often holds a 40-character run that looks like
//! an API token. The base64 inside `-----BEGIN … CERTIFICATE REQUEST-----` blocks is masked
//! for the shape checks; configured credentials are looked for in the whole text as it is.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::redact::Secrets;
use super::scan::{self, Leak};

/// A PEM certificate request, its armor lines and body, across escaped (`\n`) or real newlines.
static CSR_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----.*?-----END (?:NEW )?CERTIFICATE REQUEST-----")
        .expect("the CSR block pattern compiles")
});

/// The shape checks' kinds of leak, which a CSR's base64 can trip by chance.
const SHAPES: &str = "something shaped like";

/// Everything in `text` that must not reach a file a person reads.
pub fn scan_readable(text: &str, secrets: &Secrets) -> Vec<Leak> {
    let masked = mask_csrs(text);
    let mut leaks = scan::scan(&masked, secrets);
    if let Cow::Owned(_) = masked {
        // What the mask could hide that is not a shape: a configured credential.
        for leak in scan::scan(text, secrets) {
            if !leak.what.starts_with(SHAPES) && !leaks.contains(&leak) {
                leaks.push(leak);
            }
        }
        leaks.sort_by_key(|l| l.line);
    }
    leaks
}

/// `text` with the base64 characters of every CSR block turned into dots (line breaks kept,
/// so a leak's line number stays true).
fn mask_csrs(text: &str) -> Cow<'_, str> {
    CSR_BLOCK.replace_all(text, |c: &regex::Captures| {
        let block = &c[0];
        let (head, rest) = block.split_at(block.find("REQUEST-----").map_or(0, |i| i + 12));
        let tail_at = rest.rfind("-----END").unwrap_or(rest.len());
        let (body, tail) = rest.split_at(tail_at);
        let body: String = body
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || matches!(ch, '+' | '/' | '=' | '-' | '_') {
                    '.'
                } else {
                    ch
                }
            })
            .collect();
        format!("{head}{body}{tail}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Credentials;

    const TOKEN_SHAPED: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";

    fn secrets() -> Secrets {
        Secrets::from_credentials(&Credentials {
            token: Some("my-configured-token".into()),
            ..Credentials::default()
        })
    }

    #[test]
    fn a_csrs_base64_is_not_a_token_but_the_same_run_elsewhere_is() {
        let csr = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\\nMIIB+{TOKEN_SHAPED}/abc\\n-----END CERTIFICATE REQUEST-----\\n"
        );
        let json = format!("{{\"csr\": \"{csr}\"}}");
        assert!(
            scan::scan(&json, &secrets()).len() == 1,
            "the bare scan trips"
        );
        assert_eq!(scan_readable(&json, &secrets()), vec![]);
        let html = format!(
            "<pre>{}</pre>\n<p>{TOKEN_SHAPED}</p>",
            csr.replace("\\n", "\n")
        );
        let leaks = scan_readable(&html, &secrets());
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert_eq!(leaks[0].line, 5);
    }

    #[test]
    fn a_configured_credential_is_found_even_inside_a_csr_block() {
        let text = "-----BEGIN CERTIFICATE REQUEST-----\nmy-configured-token\n-----END CERTIFICATE REQUEST-----";
        let leaks = scan_readable(text, &secrets());
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert!(leaks[0].what.contains("CLOUDFLARE_API_TOKEN"));
    }
}
