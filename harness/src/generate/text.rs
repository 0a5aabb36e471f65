//! Strategies for the text that goes into create bodies: subject fields that mix ASCII,
//! accents, CJK, emoji and the characters distinguished-name encoders get wrong, and DNS names
//! of any valid length up to the limit.

use proptest::prelude::*;

use super::chars::{Chars, Class, first_of_class};

/// Characters RFC 4514 escapes (and encoders therefore mangle), and the space that must be
/// kept when leading or trailing.
const DN_SPECIALS: &[char] = &[',', '+', '=', '"', '\\', '<', '>', ';', '#', ' '];
const ACCENTED: &[char] = &['é', 'è', 'à', 'ç', 'ñ', 'ö', 'ü', 'Å', 'ß', 'ø'];
const CJK: &[char] = &['中', '文', '東', '京', '한', '국', 'あ', 'ア'];
const EMOJI: &[char] = &['😀', '🎉', '🔐', '🌍'];
/// Punctuation of company and place names that RFC 4514 does not escape but sanitisers meant
/// for shells, markup or URLs strip or rewrite (`O'Brien & Sons`, `Yahoo!`, `AT&T`).
const NAME_PUNCTUATION: &[char] = &[
    '&', '\'', '!', '@', '.', '-', '(', ')', '/', ':', '?', '*', '_', '%', '$',
];

/// Officially assigned ISO 3166-1 alpha-2 codes, which every implementation accepts.
pub const COUNTRIES: &[&str] = &[
    "US", "GB", "DE", "FR", "PT", "ES", "NL", "SE", "JP", "CN", "KR", "BR", "IN", "AU", "CA", "CH",
    "IT", "NO", "FI", "DK", "PL", "MX", "ZA", "NZ", "IE", "BE", "AT", "SG",
];

/// Top-level domains no rule reserves.
pub const TLDS: &[&str] = &["com", "net", "org", "io", "dev"];

/// Mostly letters and digits, often what DN encoders escape or sanitisers strip, now and then
/// beyond ASCII. The first class's first character is the simplest (see [`simpler_chars`]).
const SUBJECT_CHARS: &[(u32, Class)] = &[
    (3, Class::Range('a', 'z')),
    (3, Class::Range('A', 'Z')),
    (2, Class::Range('0', '9')),
    (3, Class::Set(DN_SPECIALS)),
    (2, Class::Set(NAME_PUNCTUATION)),
    (1, Class::Set(ACCENTED)),
    (1, Class::Set(CJK)),
    (1, Class::Set(EMOJI)),
];

fn subject_chars(len: std::ops::RangeInclusive<usize>) -> Chars {
    Chars::new(SUBJECT_CHARS, len)
}

/// What a subject character may be made simpler into, simplest first: `a`, then the first
/// character of its own class (for a shrinker that keeps a failure's kind of character).
pub fn simpler_chars(c: char) -> Vec<char> {
    let simplest = SUBJECT_CHARS[0].1.first();
    let mut out = Vec::new();
    for s in [simplest, first_of_class(SUBJECT_CHARS, c)] {
        if s != c && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Text of 1 to `max` characters, often exactly `max`, never only whitespace. When `max_bytes`
/// is set, characters are replaced with ASCII from the end until it fits (see `common_name`).
pub fn subject_text(max: usize, max_bytes: Option<usize>) -> BoxedStrategy<String> {
    let short = max.min(12);
    let text = prop_oneof![
        4 => subject_chars(1..=short),
        1 => subject_chars(max..=max),
        1 => subject_chars(1..=max),
    ];
    text.prop_map(move |chars| {
        let mut chars = chars;
        if chars.iter().all(|c| c.is_whitespace()) {
            chars[0] = 'a';
        }
        if let Some(limit) = max_bytes {
            let mut i = chars.len();
            while chars.iter().map(|c| c.len_utf8()).sum::<usize>() > limit && i > 0 {
                i -= 1;
                if !chars[i].is_ascii() {
                    chars[i] = 'x';
                }
            }
        }
        chars.into_iter().collect()
    })
    .boxed()
}

/// What DNS labels are made of, '-' included (`labels_from` keeps it off the edges).
const LABEL_CHARS: &[(u32, Class)] = &[
    (6, Class::Range('a', 'z')),
    (2, Class::Range('0', '9')),
    (1, Class::Set(&['-'])),
];

/// Turns raw characters into DNS labels of at most 63 characters, none starting or ending
/// with '-', joined by dots: exactly as long as `raw`.
pub fn labels_from(raw: &[char]) -> String {
    let mut out: Vec<char> = raw.to_vec();
    let n = out.len();
    // A dot every 63 characters keeps labels within the limit.
    for i in (63..n).step_by(64) {
        out[i] = '.';
    }
    for i in 0..n {
        let starts = i == 0 || out[i - 1] == '.';
        let ends = i + 1 == n || out[i + 1] == '.';
        if out[i] == '-' && (starts || ends) {
            out[i] = if starts { 'a' } else { '0' };
        }
        // A label before a dot must not be empty, nor a dot the last character.
        if out[i] == '.' && (starts || ends) {
            out[i] = 'b';
        }
    }
    out.into_iter().collect()
}

/// A valid DNS SAN of exactly `len` characters (at least 5), ending in a harmless TLD,
/// wildcard (`*.`) when asked.
pub fn dns_name(raw: &[char], len: usize, tld: &str, wildcard: bool) -> String {
    let prefix = if wildcard { "*." } else { "" };
    let body_len = len.saturating_sub(prefix.len() + 1 + tld.len()).max(1);
    let mut raw: Vec<char> = raw.iter().copied().cycle().take(body_len).collect();
    if raw.is_empty() {
        raw.push('a');
    }
    let name = format!("{prefix}{}.{tld}", labels_from(&raw));
    // Never under example.com/net/org, which are refused (1416).
    if ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| name == *d || name.ends_with(&format!(".{d}")))
    {
        return name.replacen("example", "exbmple", 1);
    }
    name
}

/// Raw material for one SAN: characters, a target length, a TLD, wildcard or not.
pub type SanSeed = (Vec<char>, usize, usize, bool);

/// Lengths up to and including `max`: mostly short, now and then long, often exactly `max`.
pub fn san_seed(max: usize) -> impl Strategy<Value = SanSeed> {
    let len = prop_oneof![
        8 => 8usize..=40,
        1 => (max - 55)..=max,
        1 => Just(max),
    ];
    (
        Chars::new(LABEL_CHARS, 1..=24),
        len,
        0..TLDS.len(),
        proptest::bool::weighted(0.15),
    )
}

/// SANs from seeds, made unique without changing their lengths or validity.
pub fn sans_from(seeds: &[SanSeed]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(seeds.len());
    for (i, (raw, len, tld, wildcard)) in seeds.iter().enumerate() {
        let mut name = dns_name(raw, *len, TLDS[*tld], *wildcard);
        let mut attempt = 0usize;
        while out.contains(&name) {
            // Overwrite the first characters of the first label with a unique tag.
            let tag = format!("{}z{attempt}", base36(i));
            let start = if *wildcard { 2 } else { 0 };
            let first_label_end = name[start..].find('.').map_or(name.len(), |e| start + e);
            let room = first_label_end - start;
            let tag: String = tag.chars().take(room).collect();
            name.replace_range(start..start + tag.len(), &tag);
            attempt += 1;
            if attempt > 50 {
                break;
            }
        }
        out.push(name);
    }
    out
}

fn base36(mut n: usize) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut s = Vec::new();
    loop {
        s.push(digits[n % 36] as char);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    s.into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_dns(name: &str) -> bool {
        let host = name.strip_prefix("*.").unwrap_or(name);
        let labels: Vec<&str> = host.split('.').collect();
        labels.len() >= 2
            && labels.iter().all(|l| {
                (1..=63).contains(&l.len())
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    }

    #[test]
    fn dns_names_have_the_length_asked_and_valid_labels() {
        for len in [8, 40, 63, 64, 65, 127, 200, 253, 254, 255] {
            for wildcard in [false, true] {
                let raw: Vec<char> = "-a-0-".chars().collect();
                let name = dns_name(&raw, len, "com", wildcard);
                assert_eq!(name.len(), len, "{name}");
                assert!(valid_dns(&name), "{name}");
            }
        }
    }

    #[test]
    fn subject_text_often_holds_name_punctuation_and_shrinks_toward_its_class() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, RngSeed, TestRunner};
        let mut r = TestRunner::new(Config {
            rng_seed: RngSeed::Fixed(5),
            ..Config::default()
        });
        let s = subject_text(64, None);
        let with = (0..400)
            .filter(|_| {
                let t = s.new_tree(&mut r).unwrap().current();
                t.contains(['&', '\'', '!', '@'])
            })
            .count();
        // A valid_creates run of 40 cases per scope meets them many times over.
        assert!(with > 80, "{with} of 400");
        assert_eq!(simpler_chars('!'), vec!['a', '&']);
        assert_eq!(simpler_chars('&'), vec!['a']);
        assert_eq!(simpler_chars('a'), Vec::<char>::new());
        assert_eq!(simpler_chars('Q'), vec!['a', 'A']);
    }

    #[test]
    fn duplicate_seeds_become_distinct_names_of_the_same_length() {
        let seed: SanSeed = (vec!['a'], 20, 0, false);
        let names = sans_from(&vec![seed; 150]);
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), 150);
        assert!(
            names.iter().all(|n| n.len() == 20 && valid_dns(n)),
            "{names:?}"
        );
    }
}
