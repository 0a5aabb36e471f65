//! `${name}` templates in case files. Parsing and substitution are pure; what a name means
//! (a capture, a fixture, a generator) is decided by the resolver the caller passes in.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {template:?}"))?;
        let name = after[..end].trim();
        if name.is_empty() {
            return Err(format!("empty ${{}} in {template:?}"));
        }
        out.push(Piece::Var(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// The names a template refers to, for checks at load time.
pub fn names(template: &str) -> Result<Vec<String>, String> {
    Ok(pieces(template)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(n) => Some(n.to_string()),
            Piece::Text(_) => None,
        })
        .collect())
}

/// Every name used anywhere inside a JSON value's strings.
pub fn names_in_value(v: &Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    match v {
        Value::String(s) => out.extend(names(s)?),
        Value::Array(a) => {
            for x in a {
                out.extend(names_in_value(x)?);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                out.extend(names(k)?);
                out.extend(names_in_value(x)?);
            }
        }
        _ => {}
    }
    Ok(out)
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Substitutes into text.
pub fn render(
    template: &str,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<String, String> {
    substitute(template, resolve, &|_, text| text)
}

/// Percent-encodes text as one path segment (RFC 3986 unreserved characters stay).
pub fn encode_segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Substitutes into a path: substituted values are percent-encoded as one segment, except the
/// scope placeholders, which stand for whole path prefixes.
pub fn render_path(
    template: &str,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<String, String> {
    substitute(template, resolve, &|name, text| {
        if name.ends_with("scope") {
            text
        } else {
            encode_segment(&text)
        }
    })
}

fn substitute(
    template: &str,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
    encode: &dyn Fn(&str, String) -> String,
) -> Result<String, String> {
    let mut out = String::new();
    for p in pieces(template)? {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(n) => out.push_str(&encode(n, as_text(&resolve(n)?))),
        }
    }
    Ok(out)
}

/// Substitutes into a JSON value. A string that is exactly one `${name}` takes the resolved
/// value as it is (an object, a number, ...); other strings get text substitution.
pub fn render_value(
    v: &Value,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => {
            let ps = pieces(s)?;
            match ps.as_slice() {
                [Piece::Var(n)] => resolve(n)?,
                _ => Value::String(render(s, resolve)?),
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_value(x, resolve))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let mut m = serde_json::Map::new();
            for (k, x) in o {
                m.insert(render(k, resolve)?, render_value(x, resolve)?);
            }
            Value::Object(m)
        }
        other => other.clone(),
    })
}

/// Generators any case may use: `repeat:N:TEXT` (TEXT N times, N up to 16 MiB of output).
pub fn generate(name: &str) -> Option<Result<Value, String>> {
    let rest = name.strip_prefix("repeat:")?;
    let Some((n, text)) = rest.split_once(':') else {
        return Some(Err(format!("{name:?}: write repeat:COUNT:TEXT")));
    };
    Some(match n.parse::<usize>() {
        Ok(n) if n.saturating_mul(text.len().max(1)) <= 16 << 20 => {
            Ok(Value::String(text.repeat(n)))
        }
        _ => Err(format!(
            "{name:?}: COUNT must be a number giving at most 16 MiB"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolver(name: &str) -> Result<Value, String> {
        match name {
            "id" => Ok(json!("a/b c")),
            "scope" => Ok(json!("/zones/z1")),
            "obj" => Ok(json!({"k": 1})),
            "n" => Ok(json!(5)),
            other => generate(other).unwrap_or_else(|| Err(format!("unknown ${{{other}}}"))),
        }
    }

    #[test]
    fn text_substitution() {
        assert_eq!(render("x-${id}-${n}", &mut resolver).unwrap(), "x-a/b c-5");
        assert_eq!(render("plain", &mut resolver).unwrap(), "plain");
        assert!(
            render("${nope}", &mut resolver)
                .unwrap_err()
                .contains("unknown")
        );
        assert!(
            render("${id", &mut resolver)
                .unwrap_err()
                .contains("unclosed")
        );
    }

    #[test]
    fn paths_encode_values_but_not_scopes() {
        assert_eq!(
            render_path("${scope}/custom_csrs/${id}", &mut resolver).unwrap(),
            "/zones/z1/custom_csrs/a%2Fb%20c"
        );
    }

    #[test]
    fn whole_value_substitution_keeps_types() {
        let v = render_value(
            &json!({"a": "${obj}", "b": ["${n}", "n=${n}"]}),
            &mut resolver,
        )
        .unwrap();
        assert_eq!(v, json!({"a": {"k": 1}, "b": [5, "n=5"]}));
    }

    #[test]
    fn repeat_generator() {
        assert_eq!(render("${repeat:3:ab}", &mut resolver).unwrap(), "ababab");
        assert!(render("${repeat:x:a}", &mut resolver).is_err());
        assert!(render("${repeat:999999999:a}", &mut resolver).is_err());
    }

    #[test]
    fn names_are_listed() {
        assert_eq!(names("${a}/${b.c}").unwrap(), vec!["a", "b.c"]);
        assert_eq!(names_in_value(&json!({"x": ["${q}"]})).unwrap(), vec!["q"]);
    }
}
