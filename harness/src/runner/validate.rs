//! Case validation that loading cannot do: every template name a case uses means something
//! and every schema it names exists. Pure: never sends a request, never prints.

use crate::cases::{self, Case, CaseBody, LoadError};
use crate::schemas::Schemas;
use crate::template;

/// Checks what loading cannot: that every template name a case uses means something, and that
/// named schemas exist. Invalid cases are dropped and reported; the others run.
pub fn validate_cases(cases: Vec<Case>, schemas: Option<&Schemas>) -> (Vec<Case>, Vec<LoadError>) {
    let fixtures: Vec<String> = cases
        .iter()
        .filter(|c| c.fixture)
        .map(|c| c.name.clone())
        .collect();
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for case in cases {
        match validate_case(&case, &fixtures, schemas) {
            Ok(()) => good.push(case),
            Err((line, message)) => errors.push(LoadError {
                file: case.origin.file.clone(),
                line,
                message: format!("case {:?}: {message}", case.name),
            }),
        }
    }
    (good, errors)
}

const BUILTIN_NAMES: &[&str] = &[
    "scope",
    "scope_id",
    "foreign_scope",
    "sibling_scope",
    "run_id",
    "random_uuid",
];

fn validate_case(
    case: &Case,
    fixtures: &[String],
    schemas: Option<&Schemas>,
) -> Result<(), (usize, String)> {
    let CaseBody::Steps(steps) = &case.body else {
        return Ok(());
    };
    let mut captured: Vec<String> = Vec::new();
    for step in steps {
        let at = |m: String| (step.origin.line, m);
        let mut names = template::names(&step.path).map_err(at)?;
        for (_, v) in &step.query {
            names.extend(template::names(v).map_err(at)?);
        }
        for (_, v) in &step.headers {
            names.extend(template::names(v).map_err(at)?);
        }
        if let Some(cases::BodyTemplate::Json(v)) = &step.body {
            names.extend(template::names_in_value(v).map_err(at)?);
        }
        if let Some(cases::BodyTemplate::Text { text, .. }) = &step.body {
            names.extend(template::names(text).map_err(at)?);
        }
        for v in step.expect.json.values() {
            names.extend(template::names_in_value(&cases::to_json(v.clone())).map_err(at)?);
        }
        for x in step.expect.excludes.iter().chain(&step.expect.holds) {
            names.extend(template::names(x).map_err(at)?);
        }
        for name in names {
            let known = BUILTIN_NAMES.contains(&name.as_str())
                || captured.contains(&name)
                || name.starts_with("repeat:")
                || name.strip_prefix("fixture.").is_some_and(|f| {
                    fixtures
                        .iter()
                        .any(|x| x == f.split('.').next().unwrap_or(""))
                });
            if !known {
                return Err(at(format!(
                    "unknown template name ${{{name}}} (a fixture, an earlier capture, or one of {})",
                    BUILTIN_NAMES.join(", ")
                )));
            }
            if let Some(Err(e)) = template::generate(&name) {
                return Err(at(e));
            }
        }
        if let (Some(name), Some(s)) = (&step.expect.schema, schemas)
            && !s.has(name)
        {
            return Err(at(format!("no schema {name}.json in schemas/")));
        }
        captured.extend(step.capture.iter().map(|(k, _)| k.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn unknown_template_names_are_load_errors() {
        let text = "[[case]]\nname = \"a\"\n[[case.steps]]\nmethod = \"GET\"\npath = \"${scope}/custom_csrs/${fixture.nope.id}\"\n";
        let cases = cases::parse_case_file(Path::new("cases/x.toml"), text).unwrap();
        let (good, errors) = validate_cases(cases, None);
        assert!(good.is_empty());
        assert_eq!(errors[0].line, 3);
        assert!(
            errors[0].message.contains("${fixture.nope.id}"),
            "{}",
            errors[0]
        );
    }
}
