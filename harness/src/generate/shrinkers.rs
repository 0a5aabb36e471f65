//! What is simplest for each kind of generated input (the policy `shrink.rs` applies).
//!
//! Create bodies have a shrinker of their own. For a valid body whose failure a finding pins to
//! one field, every other field goes to its simplest valid value in one re-run (`country`
//! `US`, one-character subject fields, the one SAN `a.com`, optional fields absent); then the
//! named field is cut by halves, quarters and so on down to single characters (a SAN list by
//! SANs), and each character left is made the simplest (`a`) or else the first of its own
//! class. Every candidate stays valid under every reading of the contract, so the minimal input
//! fails the way the original did. Bodies of the other generators only ever get their other
//! fields simplified, the one a description names left alone, so that they still break (or
//! leave open) the same constraint.
//!
//! Ids, list parameters, credentials and sequences have no shrinker of their own: proptest
//! shrinks them.

use serde_json::{Map, Value};

use crate::model::Finding;

use super::auth::AuthInput;
use super::bodies::{CreateBody, CreateInput};
use super::declare::Generator;
use super::ids::IdInput;
use super::lists::ListInput;
use super::shrink::{Reruns, Shrink, pointer_field, remove_chunks, replace_whole, simplify_items};
use super::stateful::Sequence;
use super::text::{COUNTRIES, simpler_chars};

impl Shrink for IdInput {}
impl Shrink for ListInput {}
impl Shrink for AuthInput {}
impl Shrink for Sequence {}

/// The simplest character of a subject field.
const SIMPLEST_CHAR: char = 'a';
/// The simplest SAN: a name no rule reserves, of one one-letter label under `.com`.
const SIMPLEST_SAN: &str = "a.com";
/// Subject fields, simplest as one character.
const TEXT_FIELDS: &[&str] = &[
    "state",
    "locality",
    "organization",
    "common_name",
    "organizational_unit",
    "name",
    "description",
];

/// The `index`-th simplest SAN, distinct from the others.
fn simple_san(index: usize) -> String {
    if index == 0 {
        SIMPLEST_SAN.to_string()
    } else {
        format!("a{index}.com")
    }
}

/// The simplest valid value of `field` (`None`: absent), for a valid body: optional fields
/// (and any a valid body does not have) are left out.
fn simplest(field: &str) -> Option<Value> {
    match field {
        "country" => Some(Value::from(COUNTRIES[0])),
        "sans" => Some(Value::from(vec![SIMPLEST_SAN])),
        "state" | "locality" | "organization" | "common_name" => Some(Value::from("a")),
        _ => None,
    }
}

/// A valid text value: not empty, not only whitespace, and for `common_name` at most 64 bytes.
fn valid_text(field: &str, chars: &[char]) -> bool {
    chars.iter().any(|c| !c.is_whitespace())
        && (field != "common_name" || chars.iter().map(|c| c.len_utf8()).sum::<usize>() <= 64)
}

/// Whether a description of an invalid or unspecified body (`what`) names `field`.
fn named_by(what: &str, field: &str) -> bool {
    let norm = |s: &str| s.to_lowercase().replace('_', "");
    let what = norm(what);
    what.contains(&norm(field)) || (field == "sans" && what.contains("san"))
}

fn with_body(input: &CreateInput, body: Map<String, Value>) -> CreateInput {
    CreateInput {
        what: input.what.clone(),
        body: CreateBody::Json(Value::Object(body)),
    }
}

/// One re-run of `input` with `body`.
fn try_body(
    input: &CreateInput,
    body: &Map<String, Value>,
    runs: &mut Reruns<'_, CreateInput>,
) -> Option<bool> {
    runs.fails(&with_body(input, body.clone()))
}

/// `body` with each field but `keep` at its simplest valid value (optional ones removed).
fn simplest_except(body: &Map<String, Value>, keep: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in body {
        if Some(k.as_str()) == keep {
            out.insert(k.clone(), v.clone());
        } else if let Some(s) = simplest(k) {
            out.insert(k.clone(), s);
        }
    }
    out
}

/// Sets the fields of `fields` to `value_of(field)` (`None`: removed) one at a time, keeping
/// each change after which the body still fails.
fn one_by_one(
    input: &CreateInput,
    mut kept: Map<String, Value>,
    fields: &[String],
    value_of: &dyn Fn(&str) -> Option<Value>,
    runs: &mut Reruns<'_, CreateInput>,
) -> Map<String, Value> {
    for f in fields {
        let mut candidate = kept.clone();
        match value_of(f) {
            Some(v) => candidate.insert(f.clone(), v),
            None => candidate.remove(f),
        };
        if candidate == kept {
            continue;
        }
        match try_body(input, &candidate, runs) {
            None => break,
            Some(true) => kept = candidate,
            Some(false) => {}
        }
    }
    kept
}

/// Shrinks the value of `field` in a valid body: first all of it at once to the simplest of
/// the same size (`a` repeated, as many SANs `aN.com`), which shows a failure that needs only
/// the size in one re-run; then by chunks and by single characters or SANs; then each one left
/// toward the simplest.
fn shrink_field(
    input: &CreateInput,
    mut kept: Map<String, Value>,
    field: &str,
    runs: &mut Reruns<'_, CreateInput>,
) -> Map<String, Value> {
    let base = kept.clone();
    match kept.get(field).cloned() {
        Some(Value::String(text)) if TEXT_FIELDS.contains(&field) => {
            let mut fails = |chars: &[char]| {
                let mut body = base.clone();
                body.insert(field.into(), Value::from(chars.iter().collect::<String>()));
                try_body(input, &body, runs)
            };
            let valid = |chars: &[char]| valid_text(field, chars);
            let chars: Vec<char> = text.chars().collect();
            let plain = vec![SIMPLEST_CHAR; chars.len()];
            let chars = replace_whole(chars, plain, &mut fails);
            let chars = remove_chunks(chars, &valid, &mut fails);
            let chars = simplify_items(chars, &|_, c| simpler_chars(*c), &valid, &mut fails);
            kept.insert(
                field.into(),
                Value::from(chars.into_iter().collect::<String>()),
            );
        }
        Some(Value::Array(sans)) if field == "sans" => {
            let mut fails = |sans: &[Value]| {
                let mut body = base.clone();
                body.insert(field.into(), Value::from(sans.to_vec()));
                try_body(input, &body, runs)
            };
            let distinct = |sans: &[Value]| {
                !sans.is_empty() && (1..sans.len()).all(|i| !sans[..i].contains(&sans[i]))
            };
            let plain = (0..sans.len())
                .map(|i| Value::from(simple_san(i)))
                .collect();
            let sans = replace_whole(sans, plain, &mut fails);
            let sans = remove_chunks(sans, &distinct, &mut fails);
            let simpler = |i: usize, _: &Value| vec![Value::from(simple_san(i))];
            let sans = simplify_items(sans, &simpler, &distinct, &mut fails);
            kept.insert(field.into(), Value::from(sans));
        }
        Some(_) => {
            // The country or the key type: its simplest value, if that still fails.
            kept = one_by_one(input, kept, &[field.to_string()], &simplest, runs);
        }
        None => {}
    }
    kept
}

impl Shrink for CreateInput {
    fn named_field(&self, generator: Generator, findings: &[Finding]) -> Option<(String, String)> {
        let CreateBody::Json(Value::Object(body)) = &self.body else {
            return None;
        };
        if generator != Generator::CreateValid {
            return None;
        }
        findings.iter().find_map(|f| {
            pointer_field(&f.pointer)
                .filter(|field| body.contains_key(field))
                .map(|field| (f.rule.clone(), field))
        })
    }

    fn targeted(
        &self,
        generator: Generator,
        field: &str,
        runs: &mut Reruns<'_, Self>,
    ) -> Option<Self> {
        let CreateBody::Json(Value::Object(body)) = &self.body else {
            return None;
        };
        if generator != Generator::CreateValid || !body.contains_key(field) {
            return None;
        }
        let mut kept = body.clone();
        // Every other field at its simplest, in one re-run; one at a time when together they
        // lose the failure.
        let simple = simplest_except(body, Some(field));
        if simple != kept {
            match try_body(self, &simple, runs) {
                Some(true) => kept = simple,
                Some(false) => {
                    let others: Vec<String> =
                        body.keys().filter(|k| *k != field).cloned().collect();
                    kept = one_by_one(self, kept, &others, &simplest, runs);
                }
                None => return Some(with_body(self, kept)),
            }
        }
        Some(with_body(self, shrink_field(self, kept, field, runs)))
    }

    /// Valid bodies: the simplest body, else field by field. Other classes: only for fixed
    /// inputs (proptest shrinks random ones, the broken constraint included).
    fn generic(
        &self,
        generator: Generator,
        fixed: bool,
        runs: &mut Reruns<'_, Self>,
    ) -> Option<Self> {
        let CreateBody::Json(Value::Object(body)) = &self.body else {
            return None;
        };
        if generator != Generator::CreateValid && !fixed {
            return None;
        }
        if generator == Generator::CreateValid {
            // The simplest body first: a failure that needs nothing of the body is shown so.
            let simple = simplest_except(body, None);
            if simple != *body {
                match try_body(self, &simple, runs) {
                    Some(true) => return Some(with_body(self, simple)),
                    None => return Some(self.clone()),
                    Some(false) => {}
                }
            }
            let fields: Vec<String> = body.keys().cloned().collect();
            let mut kept = one_by_one(self, body.clone(), &fields, &simplest, runs);
            for f in &fields {
                if kept.contains_key(f) && kept.get(f) != simplest(f).as_ref() {
                    kept = shrink_field(self, kept, f, runs);
                }
            }
            return Some(with_body(self, kept));
        }
        // Another class: only fields its description does not name, only to a simpler value of
        // the same JSON type, never removed nor added.
        let fields: Vec<String> = body
            .iter()
            .filter(|(k, v)| {
                !named_by(&self.what, k)
                    && match simplest(k) {
                        Some(Value::String(_)) => v.is_string(),
                        Some(Value::Array(_)) => v
                            .as_array()
                            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)),
                        _ => false,
                    }
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut all = body.clone();
        for f in &fields {
            all.insert(f.clone(), simplest(f).unwrap_or(Value::Null));
        }
        if all == *body {
            return Some(self.clone());
        }
        Some(match try_body(self, &all, runs) {
            Some(true) => with_body(self, all),
            None => self.clone(),
            Some(false) => with_body(
                self,
                one_by_one(self, body.clone(), &fields, &simplest, runs),
            ),
        })
    }

    /// Same class: a body of the same kind whose description differs at most in its numbers
    /// (a common name of 66 characters and one of 65 break the same limit).
    fn same_class(&self, candidate: &Self) -> bool {
        let kind = |b: &CreateBody| match b {
            CreateBody::Json(Value::Object(_)) => 0,
            CreateBody::Json(_) => 1,
            CreateBody::Raw(_) => 2,
        };
        let key = |w: &str| w.replace(|c: char| c.is_ascii_digit(), "");
        kind(&self.body) == kind(&candidate.body) && key(&self.what) == key(&candidate.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::shrink::Rerun;
    use serde_json::json;

    fn input(what: &str, body: Value) -> CreateInput {
        CreateInput {
            what: what.into(),
            body: CreateBody::Json(body),
        }
    }

    fn body_of(i: &CreateInput) -> &Value {
        match &i.body {
            CreateBody::Json(v) => v,
            CreateBody::Raw(_) => panic!("raw"),
        }
    }

    fn big() -> Value {
        let sans: Vec<String> = (0..40).map(|i| format!("host-{i}.shop{i}.net")).collect();
        json!({
            "country": "JP", "state": "Tōkyō-to 東京", "locality": "Chiyoda, \"Marunouchi\"",
            "organization": "Zq9 Holdings (Asia) K.K.; #1 in 中文 & more, since 1999 ++ <ok>",
            "common_name": "www.zq9-holdings.example-shop.net",
            "sans": sans, "key_type": "p256v1", "organizational_unit": "IT / Ops",
            "name": "zq9 main", "description": "the main one",
        })
    }

    /// Shrinks `original` toward `field` with a server that fails while `fails(body)`.
    fn targeted(
        original: &CreateInput,
        field: &str,
        limit: u32,
        fails: impl Fn(&Value) -> bool,
    ) -> (CreateInput, u32) {
        let mut run = |c: &CreateInput| {
            if fails(body_of(c)) {
                Rerun::Fails
            } else {
                Rerun::Passes
            }
        };
        let mut runs = Reruns::new(limit, &mut run);
        let out = original
            .targeted(Generator::CreateValid, field, &mut runs)
            .unwrap();
        (out, runs.used())
    }

    #[test]
    fn one_character_of_one_field_shrinks_to_that_field_alone() {
        let original = input("", big());
        let (min, used) = targeted(&original, "organization", 40, |b| {
            b["organization"].as_str().is_some_and(|o| o.contains('&'))
        });
        assert_eq!(
            body_of(&min),
            &json!({"country": "US", "state": "a", "locality": "a", "organization": "&",
                    "common_name": "a", "sans": ["a.com"]}),
        );
        assert!(used <= 20, "{used} re-runs");
    }

    #[test]
    fn the_named_field_keeps_what_the_failure_needs_and_others_go_one_by_one() {
        // Fails only while the locality is kept too: the one-step simplification loses it, so
        // the fields go one at a time and the locality stays.
        let original = input("", big());
        let (min, used) = targeted(&original, "organization", 40, |b| {
            b["organization"].as_str().is_some_and(|o| o.contains(';'))
                && b["locality"].as_str().is_some_and(|l| l.contains('"'))
        });
        let b = body_of(&min);
        assert_eq!(b["organization"], ";");
        assert!(b["locality"].as_str().unwrap().contains('"'), "{b}");
        assert_eq!(b["sans"], json!(["a.com"]));
        assert!(b.get("organizational_unit").is_none() && b.get("key_type").is_none());
        assert!(used <= 40);
    }

    #[test]
    fn a_san_count_shrinks_by_sans_and_stays_distinct() {
        let original = input("", big());
        let (min, _) = targeted(&original, "sans", 200, |b| {
            b["sans"].as_array().unwrap().len() > 25
        });
        let sans = body_of(&min)["sans"].as_array().unwrap().clone();
        assert_eq!(sans.len(), 26, "{sans:?}");
        let unique: std::collections::HashSet<_> = sans.iter().collect();
        assert_eq!(unique.len(), 26);
        assert_eq!(body_of(&min)["state"], "a");
    }

    #[test]
    fn every_candidate_is_a_valid_body() {
        let original = input("", big());
        let mut seen = 0;
        let mut run = |c: &CreateInput| {
            seen += 1;
            let b = body_of(c);
            for f in ["state", "locality", "organization", "common_name"] {
                let v = b[f].as_str().unwrap();
                assert!(!v.trim().is_empty(), "{b}");
            }
            assert!(!b["sans"].as_array().unwrap().is_empty());
            // Fails whatever it is: everything shrinks as far as it goes.
            Rerun::Fails
        };
        let mut runs = Reruns::new(40, &mut run);
        let min = original
            .targeted(Generator::CreateValid, "common_name", &mut runs)
            .unwrap();
        assert_eq!(body_of(&min)["common_name"], "a");
        assert!(seen > 0);
    }

    #[test]
    fn without_a_named_field_a_valid_body_shrinks_field_by_field() {
        // Fails while the common name has 64 characters: nothing else matters.
        let mut b = big();
        b["common_name"] = json!("Zq9 ,é中xY".chars().cycle().take(64).collect::<String>());
        let original = input("", b);
        let mut run = |c: &CreateInput| {
            if body_of(c)["common_name"].as_str().unwrap().chars().count() == 64 {
                Rerun::Fails
            } else {
                Rerun::Passes
            }
        };
        let mut runs = Reruns::new(40, &mut run);
        let min = original
            .generic(Generator::CreateValid, false, &mut runs)
            .unwrap();
        assert_eq!(runs.used(), 40, "the bound is spent, not passed");
        let mut simplest = json!({"country": "US", "state": "a", "locality": "a",
            "organization": "a", "common_name": "a", "sans": ["a.com"]});
        simplest["common_name"] = json!("a".repeat(64));
        assert_eq!(body_of(&min), &simplest);
        // Random bodies of another class are left to proptest.
        let mut runs = Reruns::new(40, &mut run);
        assert!(
            original
                .generic(Generator::CreateInvalid, false, &mut runs)
                .is_none()
        );
    }

    #[test]
    fn other_classes_keep_what_their_description_names() {
        let original = input("common_name of 70 characters (max 64)", {
            let mut b = big();
            b["common_name"] = json!("c".repeat(70));
            b
        });
        let mut run = |_: &CreateInput| Rerun::Fails;
        let mut runs = Reruns::new(40, &mut run);
        let min = original
            .generic(Generator::CreateInvalid, true, &mut runs)
            .unwrap();
        let b = body_of(&min);
        assert_eq!(b["common_name"].as_str().unwrap().len(), 70);
        assert_eq!(b["state"], "a");
        assert_eq!(b["key_type"], "p256v1", "never removed in another class");
        assert_eq!(b["name"], "zq9 main", "named by `common_name`: left alone");
        assert!(original.same_class(&input("common_name of 65 characters (max 64)", json!({}))));
        assert!(!original.same_class(&input("country missing", json!({}))));
    }

    #[test]
    fn names_the_field_of_the_first_finding_that_points_into_the_body() {
        let original = input("", big());
        let f = |rule: &str, pointer: &str| Finding::new(rule, pointer, "", "", "");
        let findings = [
            f("property.created-at", "/result/created_at"),
            f("pem.subject", "/result/organization"),
        ];
        assert_eq!(
            original.named_field(Generator::CreateValid, &findings),
            Some(("pem.subject".into(), "organization".into()))
        );
        assert_eq!(
            original.named_field(Generator::CreateInvalid, &findings),
            None
        );
    }
}
