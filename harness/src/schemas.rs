//! Our JSON Schemas (draft 2020-12), loaded from `schemas/` at start and compiled once, with
//! `format` checking switched on (it is only an annotation by default in 2020-12).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cases::LoadError;
use crate::model::Finding;

/// The base URI the files are registered under, so that relative `$ref`s between them resolve
/// without any retrieval.
const BASE: &str = "https://csr-conformance.invalid/schemas/";

/// The non-standard format our schemas use for country codes.
pub const COUNTRY_FORMAT: &str = "iso3166-1-alpha-2";

pub struct Schemas {
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.validators.keys()).finish()
    }
}

fn is_country_code(s: &str) -> bool {
    s.len() == 2
        && s.bytes().all(|b| b.is_ascii_uppercase())
        && rust_iso3166::from_alpha2(s).is_some()
}

impl Schemas {
    /// Loads every `*.json` in `dir`. Any unreadable, unparsable or uncompilable file is an
    /// error naming it (and the line, where JSON parsing says).
    pub fn load_dir(dir: &Path) -> Result<Schemas, Vec<LoadError>> {
        let whole = |file: &Path, message: String| LoadError {
            file: file.to_path_buf(),
            line: 0,
            message,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![whole(
                dir,
                format!("cannot read the schemas directory: {e}"),
            )]
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut docs = Vec::new();
        let mut errors = Vec::new();
        for file in files {
            match std::fs::read_to_string(&file) {
                Err(e) => errors.push(whole(&file, format!("cannot read: {e}"))),
                Ok(text) => match serde_json::from_str::<Value>(&text) {
                    Err(e) => errors.push(LoadError {
                        file: file.clone(),
                        line: e.line(),
                        message: format!("invalid JSON: {e}"),
                    }),
                    Ok(doc) => docs.push((file, doc)),
                },
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Self::compile(docs)
    }

    /// Compiles documents given as (file name, content).
    pub fn compile(docs: Vec<(PathBuf, Value)>) -> Result<Schemas, Vec<LoadError>> {
        let name_of = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let registry = jsonschema::Registry::new()
            .extend(
                docs.iter()
                    .map(|(p, d)| (format!("{BASE}{}", name_of(p)), d.clone())),
            )
            .and_then(|b| b.prepare())
            .map_err(|e| {
                vec![LoadError {
                    file: docs.first().map(|(p, _)| p.clone()).unwrap_or_default(),
                    line: 0,
                    message: format!("schemas do not resolve: {e}"),
                }]
            })?;
        let mut validators = BTreeMap::new();
        let mut errors = Vec::new();
        for (file, _) in &docs {
            let name = name_of(file);
            let built = jsonschema::draft202012::options()
                .with_registry(&registry)
                .with_base_uri(BASE)
                .should_validate_formats(true)
                .should_ignore_unknown_formats(false)
                .with_format(COUNTRY_FORMAT, is_country_code)
                .offline()
                .build(&serde_json::json!({ "$ref": format!("{BASE}{name}") }));
            match built {
                Ok(v) => {
                    let stem = name.trim_end_matches(".json").to_string();
                    validators.insert(stem, v);
                }
                Err(e) => errors.push(LoadError {
                    file: file.clone(),
                    line: 0,
                    message: format!("does not compile: {e}"),
                }),
            }
        }
        if errors.is_empty() {
            Ok(Schemas { validators })
        } else {
            Err(errors)
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// Validates `instance` against the schema `name`; one finding per violation, its rule
    /// `schema.<keyword>` and its pointer where in the instance it is.
    pub fn check(&self, name: &str, instance: &Value) -> Vec<Finding> {
        let Some(v) = self.validators.get(name) else {
            return vec![Finding::new(
                "schema.missing",
                "",
                format!("a schema named {name:?}"),
                "none loaded",
                format!("no schema {name}.json in schemas/"),
            )];
        };
        v.iter_errors(instance)
            .map(|e| {
                let keyword = e.kind().keyword().to_string();
                let mut actual = e.instance().to_string();
                if actual.len() > 200 {
                    actual = format!("{}…", actual.chars().take(200).collect::<String>());
                }
                Finding::new(
                    format!("schema.{keyword}"),
                    e.instance_path().to_string(),
                    format!("{name}.json {}", e.schema_path()),
                    actual,
                    e.to_string(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project_schemas() -> Schemas {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
        Schemas::load_dir(&dir).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn csr() -> Value {
        json!({
            "id": "7b163417-1d2b-4c84-a38a-2fb7a0cd7752",
            "key_type": "p256v1",
            "created_at": "2026-01-15T10:30:00Z",
            "common_name": "a.csr-conformance.net",
            "country": "US",
            "sans": ["a.csr-conformance.net"],
        })
    }

    fn single(result: Value) -> Value {
        json!({"success": true, "errors": [], "messages": [], "result": result})
    }

    fn rules(f: &[Finding]) -> Vec<(String, String)> {
        f.iter()
            .map(|f| (f.rule.clone(), f.pointer.clone()))
            .collect()
    }

    #[test]
    fn the_project_schemas_compile_and_accept_a_good_answer() {
        let s = project_schemas();
        for name in [
            "failure",
            "single.account",
            "single.zone",
            "list.account",
            "list.zone",
            "delete",
            "create-request",
        ] {
            assert!(s.has(name), "{name} missing");
        }
        assert_eq!(s.check("single.zone", &single(csr())), vec![]);
        // A field a create may leave out may come back as null; a required one may not.
        let mut unsent = csr();
        for f in ["organizational_unit", "name", "description", "account_tag"] {
            unsent[f] = Value::Null;
        }
        assert_eq!(s.check("single.account", &single(unsent.clone())), vec![]);
        unsent["key_type"] = Value::Null;
        assert_eq!(
            rules(&s.check("single.account", &single(unsent))),
            vec![("schema.enum".to_string(), "/result/key_type".to_string())]
        );
    }

    #[test]
    fn constraints_are_enforced_with_pointers() {
        let s = project_schemas();
        let mut bad = csr();
        bad["id"] = json!("x".repeat(37));
        bad["key_type"] = json!("rsa4096");
        bad["created_at"] = json!("yesterday");
        bad["country"] = json!("XX");
        bad["common_name"] = json!("c".repeat(65));
        let mut got = rules(&s.check("single.account", &single(bad)));
        got.sort();
        assert_eq!(
            got,
            vec![
                ("schema.enum".into(), "/result/key_type".into()),
                ("schema.format".into(), "/result/country".into()),
                ("schema.format".into(), "/result/created_at".into()),
                ("schema.maxLength".into(), "/result/common_name".into()),
                ("schema.maxLength".into(), "/result/id".into()),
            ]
        );
    }

    #[test]
    fn failure_envelope_rules() {
        let s = project_schemas();
        let good = json!({"success": false, "errors": [{"code": 1419, "message": "m"}], "messages": [], "result": null});
        assert_eq!(s.check("failure", &good), vec![]);
        let bad = json!({"success": true, "errors": [{"code": 99, "message": 5}], "result": {}});
        let mut got = rules(&s.check("failure", &bad));
        got.sort();
        assert_eq!(
            got,
            vec![
                ("schema.const".into(), "/success".into()),
                ("schema.minimum".into(), "/errors/0/code".into()),
                ("schema.type".into(), "/errors/0/message".into()),
                ("schema.type".into(), "/result".into()),
            ]
        );
    }

    #[test]
    fn bad_schema_files_are_named() {
        let dir = std::env::temp_dir().join(format!("csr-schemas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.json"), "{\n  \"type\": \"object\",\n  oops\n}").unwrap();
        let e = Schemas::load_dir(&dir).unwrap_err();
        assert_eq!(e[0].line, 3, "{}", e[0]);
        std::fs::write(dir.join("a.json"), "{\"$ref\": \"missing.json\"}").unwrap();
        let e = Schemas::load_dir(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            e[0].to_string().contains("a.json") || e[0].message.contains("missing.json"),
            "{}",
            e[0]
        );
    }
}
