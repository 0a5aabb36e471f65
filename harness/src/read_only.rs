//! What `--read-only` may judge. Nothing is created, so a fixture stands for a CSR that already
//! exists in the scope, one the harness did not write. A check may compare that stand-in with
//! itself as the server serves it (get equals the listed object, the PEM agrees with its own
//! fields); an expectation about its contents that came from the fixture's body would be a guess
//! about someone else's data, and the case is skipped with a reason instead.

use serde_json::Value;

use crate::cases::{self, BodyTemplate, Case, CaseBody, Step};
use crate::template;

/// Why `case` cannot be judged under `--read-only`, if it cannot: a step about a fixture that
/// expects a literal value inside `result`, which only holds for a CSR the harness created.
pub fn guessed_expectation(case: &Case) -> Option<String> {
    let CaseBody::Steps(steps) = &case.body else {
        return None;
    };
    for step in steps {
        if !reads_a_fixture(step) {
            continue;
        }
        for (pointer, value) in &step.expect.json {
            if !pointer.starts_with("/result") {
                continue;
            }
            let value = cases::to_json(value.clone());
            if !only_fixture_references(&value) {
                return Some(format!(
                    "--read-only: expects {pointer} = {value}, which holds only for a CSR this \
                     run created; the existing CSR standing in for the fixture was not written by \
                     the harness"
                ));
            }
        }
    }
    None
}

fn is_fixture(name: &str) -> bool {
    name.starts_with("fixture.")
}

fn reads_a_fixture(step: &Step) -> bool {
    let mut texts: Vec<&str> = vec![step.path.as_str()];
    texts.extend(step.query.iter().map(|(_, v)| v.as_str()));
    texts
        .iter()
        .any(|t| template::names(t).is_ok_and(|ns| ns.iter().any(|n| is_fixture(n))))
}

/// Whether every leaf of `value` is a string that is exactly one `${fixture...}` reference,
/// so that the expectation compares the stand-in with itself.
fn only_fixture_references(value: &Value) -> bool {
    match value {
        Value::String(s) => {
            let trimmed = s.trim();
            trimmed.starts_with("${")
                && trimmed.ends_with('}')
                && template::names(trimmed).is_ok_and(|ns| ns.len() == 1 && is_fixture(&ns[0]))
        }
        Value::Array(items) => items.iter().all(only_fixture_references),
        Value::Object(fields) => fields.values().all(only_fixture_references),
        _ => false,
    }
}

/// The existing CSR that stands in for `fixture`: the one holding the most of the fields the
/// fixture's body would have set, then the one of its key type (`rsa2048` when unset), so that
/// a read-only run reads as much as the scope offers. Ties go to the first listed.
pub fn pick_stand_in<'a>(items: &'a [Value], fixture: &Case) -> Option<&'a Value> {
    let body = match &fixture.body {
        CaseBody::Steps(steps) => match steps.first().and_then(|s| s.body.as_ref()) {
            Some(BodyTemplate::Json(b)) => Some(b),
            _ => None,
        },
        CaseBody::Builtin(_) => None,
    };
    let want_key = body
        .and_then(|b| b.get("key_type"))
        .and_then(Value::as_str)
        .unwrap_or("rsa2048");
    let fields: Vec<&str> = body
        .and_then(Value::as_object)
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let score = |item: &Value| {
        let key = usize::from(item.get("key_type").and_then(Value::as_str) == Some(want_key));
        let present = fields.iter().filter(|f| item.get(**f).is_some()).count();
        present * 2 + key
    };
    let mut best: Option<(&Value, usize)> = None;
    for item in items.iter().filter(|i| i.get("id").is_some()) {
        let s = score(item);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((item, s));
        }
    }
    best.map(|(item, _)| item)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn case(text: &str) -> Case {
        cases::parse_case_file(Path::new("cases/t.toml"), text)
            .unwrap()
            .remove(0)
    }

    fn get_case(expect: &str) -> Case {
        case(&format!(
            "[[case]]\nname = \"c\"\n[[case.steps]]\nmethod = \"GET\"\n\
             path = \"${{scope}}/custom_csrs/${{fixture.f.id}}\"\nexpect = {expect}\n"
        ))
    }

    #[test]
    fn literal_expectations_about_a_fixture_are_guesses() {
        let guess =
            get_case(r#"{ status = 200, json = { "/result/description" = "created by me" } }"#);
        let reason = guessed_expectation(&guess).expect("a guess");
        assert!(reason.contains("/result/description"), "{reason}");
        let default_key = get_case(r#"{ json = { "/result/key_type" = "rsa2048" } }"#);
        assert!(guessed_expectation(&default_key).is_some());
        let mixed = get_case(r#"{ json = { "/result" = { id = "${fixture.f.id}", n = 1 } } }"#);
        assert!(guessed_expectation(&mixed).is_some());
    }

    #[test]
    fn comparing_the_stand_in_with_itself_is_no_guess() {
        let itself = get_case(
            r#"{ status = 200, json = { "/result" = "${fixture.f}", "/result/name" = "${fixture.f.name}" } }"#,
        );
        assert_eq!(guessed_expectation(&itself), None);
        // Literals outside `result`, or on steps that read no fixture, are about the server.
        let envelope = get_case(r#"{ json = { "/success" = true } }"#);
        assert_eq!(guessed_expectation(&envelope), None);
        let list = case(
            "[[case]]\nname = \"p\"\n[[case.steps]]\nmethod = \"GET\"\npath = \"${scope}/custom_csrs\"\n\
             query = { page = 100000 }\nexpect = { json = { \"/result\" = [] } }\n",
        );
        assert_eq!(guessed_expectation(&list), None);
    }

    fn fixture(body: &str) -> Case {
        case(&format!("[[fixture]]\nname = \"f\"\nbody = {body}\n"))
    }

    #[test]
    fn the_stand_in_holds_the_most_fields_then_shares_the_key_type() {
        let items = vec![
            json!({"id": "1", "key_type": "p256v1"}),
            json!({"id": "2", "key_type": "rsa2048"}),
            json!({"id": "3", "key_type": "p256v1", "name": "n", "description": "d"}),
            json!({"id": "4", "key_type": "rsa2048", "name": "n"}),
        ];
        let pick = |body: &str| pick_stand_in(&items, &fixture(body)).unwrap()["id"].clone();
        assert_eq!(
            pick(r#"{ key_type = "p256v1", name = "x", description = "y" }"#),
            "3"
        );
        assert_eq!(pick(r#"{ name = "x", description = "y" }"#), "3");
        assert_eq!(pick(r#"{ name = "x" }"#), "4");
        assert_eq!(pick(r#"{ key_type = "p256v1" }"#), "1");
        // No CSR of the key type: the best of the rest rather than nothing.
        assert_eq!(
            pick_stand_in(&items[..1], &fixture(r#"{ key_type = "rsa2048" }"#)).unwrap()["id"],
            "1"
        );
        assert!(pick_stand_in(&[], &fixture("{}")).is_none());
    }
}
