//! Custom CSR ids of every shape: well-formed UUIDs, every length from 0 to 100 around the
//! 36-character boundary, 36 characters that are not a UUID, unicode, percent-encoded bytes,
//! `..` and `/`.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::select;

use crate::template::encode_segment;

#[derive(Debug, Clone, PartialEq)]
pub enum IdShape {
    /// A well-formed UUID nobody created: must be a 404.
    Uuid(String),
    /// Any text, percent-encoded as a path segment.
    Text(String),
    /// A path segment sent as it is (percent-escapes of bytes that may not be UTF-8).
    Raw(String),
}

#[derive(Clone, PartialEq)]
pub struct IdInput {
    pub method: &'static str,
    pub id: IdShape,
}

impl fmt::Debug for IdInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            IdShape::Uuid(s) => write!(f, "{} uuid {s:?}", self.method),
            IdShape::Text(s) => write!(f, "{} id {s:?} ({} chars)", self.method, s.chars().count()),
            IdShape::Raw(s) => write!(f, "{} raw path segment {s:?}", self.method),
        }
    }
}

impl IdInput {
    /// The id as it goes into the path.
    pub fn segment(&self) -> String {
        match &self.id {
            IdShape::Uuid(s) | IdShape::Text(s) => encode_segment(s),
            IdShape::Raw(s) => s.clone(),
        }
    }

    /// Whether the path reaches the server as one id segment whatever it does with it. An
    /// empty or dot segment is removed or resolved by URL normalisation (here, or on the
    /// server after it decodes `%2E`), and an encoded `/` or `\\` becomes a path separator on
    /// servers that decode before they route: such an id may reach another route (the
    /// collection, answered as the list, or the scope), so only what holds for any route
    /// may be asserted of its answer.
    pub fn path_is_literal(&self) -> bool {
        let segment = self.segment();
        let decoded = percent_encoding::percent_decode_str(&segment).collect::<Vec<u8>>();
        !(decoded.is_empty()
            || decoded == b"."
            || decoded == b".."
            || decoded.iter().any(|b| matches!(b, b'/' | b'\\')))
    }
}

fn id_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range('a', 'f'),
        4 => proptest::char::range('0', '9'),
        2 => proptest::char::range('g', 'z'),
        1 => proptest::char::range('A', 'Z'),
        2 => Just('-'),
    ]
}

/// A random version-4 UUID in its canonical lower-case form: the shape the API's ids have,
/// so even a server that checks the version and variant digits must answer 404.
fn uuid() -> impl Strategy<Value = String> {
    any::<[u8; 16]>().prop_map(|b| uuid::Builder::from_random_bytes(b).into_uuid().to_string())
}

fn shapes() -> impl Strategy<Value = IdShape> {
    let lengths = prop_oneof![0usize..=100, 34usize..=38, Just(36usize)];
    prop_oneof![
        3 => uuid().prop_map(IdShape::Uuid),
        4 => lengths.prop_flat_map(|n| proptest::collection::vec(id_char(), n))
            .prop_map(|c| IdShape::Text(c.into_iter().collect())),
        // 36 characters that are not a UUID: a non-hex digit, or hyphens out of place.
        2 => (uuid(), 0usize..36, select(&['g', 'z', '_', '-', 'G'][..])).prop_map(|(u, at, c)| {
            let text = if c == '-' {
                // The 32 hex digits, then the 4 hyphens: right length, wrong shape.
                format!("{}----", u.replace('-', ""))
            } else {
                u.chars().enumerate().map(|(i, x)| if i == at { c } else { x }).collect()
            };
            IdShape::Text(text)
        }),
        1 => proptest::collection::vec(select(&['é', '中', '😀', 'ß', 'a', '\u{7f}', ' '][..]), 1..=40)
            .prop_map(|c| IdShape::Text(c.into_iter().collect())),
        1 => (select(&["%00", "%ff", "%2F", "%2f", "%25", "%c3%28", "%e2%82", "%0a", "%20"][..]), 0usize..=36)
            .prop_map(|(esc, pad)| IdShape::Raw(format!("{}{esc}", "a".repeat(pad)))),
        1 => select(&["..", ".", "a/b", "../x", "/", "a/../b", "%2e%2e", "...", "a..b", "-", "_"][..])
            .prop_map(|s| if s.contains('%') { IdShape::Raw(s.into()) } else { IdShape::Text(s.into()) }),
    ]
}

/// Gets (and, unless `read_only`, deletes) of generated ids.
pub fn inputs(read_only: bool) -> BoxedStrategy<IdInput> {
    let method = if read_only {
        Just("GET").boxed()
    } else {
        select(&["GET", "DELETE"][..]).boxed()
    };
    (method, shapes())
        .prop_map(|(method, id)| IdInput { method, id })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_empty_segments_are_not_literal() {
        let text = |s: &str| IdInput {
            method: "GET",
            id: IdShape::Text(s.into()),
        };
        assert!(!text("").path_is_literal());
        assert!(!text("..").path_is_literal());
        assert!(
            !IdInput {
                method: "GET",
                id: IdShape::Raw("%2E%2e".into())
            }
            .path_is_literal()
        );
        assert!(!text(".").path_is_literal());
        assert!(
            !text("a/..").path_is_literal(),
            "a server that decodes %2F before routing resolves a/.. to the collection"
        );
        assert!(
            !IdInput {
                method: "DELETE",
                id: IdShape::Raw("%2f".into())
            }
            .path_is_literal()
        );
        assert!(text("...").path_is_literal());
        assert!(text("a..b").path_is_literal());
        assert!(text("é中").path_is_literal());
    }

    #[test]
    fn generated_uuids_are_version_4() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..50 {
            let u = uuid().new_tree(&mut runner).unwrap().current();
            let parsed = uuid::Uuid::parse_str(&u).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{u}");
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{u}");
            assert_eq!(u, u.to_ascii_lowercase());
        }
    }
}
