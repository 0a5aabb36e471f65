//! The last gate before the disk. A recorded file is written only as a [`Sealed`] value, and
//! [`seal`] makes one only when the file's text holds no configured credential and nothing
//! shaped like a Cloudflare API token, a global API key, a bearer header or an auth header.
//! What it finds is named by kind and line, never printed.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::redact::Secrets;

/// A file's text that passed the scan, and where it goes.
#[derive(Debug)]
pub struct Sealed {
    path: PathBuf,
    text: String,
}

impl Sealed {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Something the scan found: what, and on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub line: usize,
    pub what: String,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} holds {}", self.line, self.what)
    }
}

/// `Bearer <token>` in any case, as in a header or a curl line.
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bbearer[\s:=]+[A-Za-z0-9\-._~+/]{8,}").expect("the bearer pattern compiles")
});

/// A header that carries credentials, written as a TOML key.
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?im)(?:^|[{,])\s*["']?(?:authorization|proxy-authorization|x-auth-key|x-auth-email|x-auth-user-service-key|cookie|set-cookie)["']?\s*="#,
    )
    .expect("the header pattern compiles")
});

/// Scans `text` and seals it for `path`, or says what it holds.
pub fn seal(path: &Path, text: String, secrets: &Secrets) -> Result<Sealed, Vec<Leak>> {
    let leaks = scan(&text, secrets);
    if leaks.is_empty() {
        Ok(Sealed {
            path: path.to_path_buf(),
            text,
        })
    } else {
        Err(leaks)
    }
}

/// Everything in `text` that must not reach a recorded file.
pub fn scan(text: &str, secrets: &Secrets) -> Vec<Leak> {
    let mut found: Vec<(usize, String)> = Vec::new();
    // Secrets come longest first; a shorter one inside a longer one found already (a near
    // miss one character short, inside the credential) is the same leak, not another.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (what, spellings) in secrets.spellings() {
        let first = spellings.iter().find_map(|s| {
            text.match_indices(s.as_str())
                .map(|(at, _)| (at, at + s.len()))
                .find(|&(a, b)| !spans.iter().any(|&(x, y)| x <= a && b <= y))
        });
        if let Some(span) = first {
            spans.push(span);
            found.push((span.0, what.to_string()));
        }
    }
    for (at, run) in runs(text, |b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    }) {
        let has = |f: fn(&u8) -> bool| run.as_bytes().iter().any(f);
        if run.len() == 40
            && has(u8::is_ascii_uppercase)
            && has(u8::is_ascii_lowercase)
            && has(u8::is_ascii_digit)
        {
            found.push((
                at,
                "something shaped like a Cloudflare API token (40 characters)".into(),
            ));
        }
    }
    for (at, run) in runs(text, |b| b.is_ascii_alphanumeric()) {
        if run.len() == 37
            && run
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && run.bytes().any(|b| b.is_ascii_digit())
            && run.bytes().any(|b| b.is_ascii_alphabetic())
        {
            found.push((
                at,
                "something shaped like a Cloudflare global API key (37 hex digits)".into(),
            ));
        }
    }
    if let Some(m) = BEARER.find(text) {
        found.push((m.start(), "a bearer Authorization value".into()));
    }
    if let Some(m) = AUTH_HEADER.find(text) {
        found.push((m.start(), "an authentication header or cookie".into()));
    }
    found.sort();
    found
        .into_iter()
        .map(|(at, what)| Leak {
            line: crate::cases::line_of(text, at),
            what,
        })
        .collect()
}

/// Maximal runs of bytes for which `keep` holds, with their offsets.
fn runs(text: &str, keep: fn(u8) -> bool) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && !keep(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let start = i;
        while i < bytes.len() && keep(bytes[i]) {
            i += 1;
        }
        Some((start, &text[start..i]))
    })
}

/// Writes a sealed file whole or not at all (a temporary file renamed into place).
pub fn write(sealed: &Sealed) -> std::io::Result<()> {
    if let Some(dir) = sealed.path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = sealed.path.with_extension("toml.part");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(sealed.text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &sealed.path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Credentials;

    fn secrets() -> Secrets {
        Secrets::from_credentials(&Credentials {
            token: Some("my-configured-token".into()),
            email: Some("ops@corp.example".into()),
            api_key: None,
        })
    }

    fn kinds(text: &str) -> Vec<String> {
        scan(text, &secrets())
            .into_iter()
            .map(|l| format!("{}: {}", l.line, l.what))
            .collect()
    }

    #[test]
    fn clean_recorded_text_passes() {
        let text = "suite = \"recorded-x\"\npath = \"${scope}/custom_csrs/${id}\"\n\
                    \"/result/account_tag\" = \"${scope_id}\"\nid = \"6c0a5b9e2f1d4c3a8b7e6d5c4b3a2910\"\n\
                    uuid = \"0a4c6f3e-9a4b-4e5e-8f0a-123456789abc\"\n";
        assert!(kinds(text).is_empty(), "{:?}", kinds(text));
        assert!(seal(Path::new("x.toml"), text.into(), &secrets()).is_ok());
    }

    #[test]
    fn finds_configured_credentials_and_credential_shapes_without_printing_them() {
        let token = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
        let key = "0123456789abcdef0123456789abcdef01234";
        let text = format!(
            "a = \"my-configured-token\"\nb = \"ops%40corp.example\"\nc = \"{token}\"\nd = \"{key}\"\n\
             e = \"bearer abcdefgh1234\"\n[case.steps.headers]\nX-Auth-Key = \"x\"\n"
        );
        let leaks = seal(Path::new("x.toml"), text, &secrets()).unwrap_err();
        let said: Vec<String> = leaks.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            vec![
                "line 1 holds the configured API token (CLOUDFLARE_API_TOKEN)",
                "line 2 holds the configured email (CLOUDFLARE_EMAIL)",
                "line 3 holds something shaped like a Cloudflare API token (40 characters)",
                "line 4 holds something shaped like a Cloudflare global API key (37 hex digits)",
                "line 5 holds a bearer Authorization value",
                "line 7 holds an authentication header or cookie",
            ]
        );
        for s in &said {
            assert!(!s.contains(token) && !s.contains(key) && !s.contains("my-configured"));
        }
    }

    #[test]
    fn near_misses_of_a_credential_are_found_and_named_without_the_value() {
        let leaks = scan(
            "a = \"MY-CONFIGURED-TOKEN\"\nb = \"my-configured-toke\"\nc = \"my-configured-tokeo\"\n",
            &secrets(),
        );
        let said: Vec<String> = leaks.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            vec![
                "line 1 holds a near miss of the configured API token",
                "line 2 holds a near miss of the configured API token",
                "line 3 holds a near miss of the configured API token",
            ]
        );
    }

    #[test]
    fn write_puts_the_whole_file_in_place() {
        let dir = std::env::temp_dir().join(format!("csr-scan-{}", std::process::id()));
        let path = dir.join("deeper/x.toml");
        let sealed = seal(&path, "a = 1\n".into(), &secrets()).unwrap();
        write(&sealed).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 1\n");
        assert!(!path.with_extension("toml.part").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
