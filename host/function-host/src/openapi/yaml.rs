//! The document as YAML, written from the JSON value by a small emitter of our own (see
//! docs/decisions/0023-openapi.md): block mappings and sequences, every string value
//! double-quoted with JSON's escapes (which YAML's double-quoted style shares), and the few
//! characters YAML does not allow unescaped escaped as well. Keys are plain when they read
//! as a plain string in both YAML 1.1 and 1.2, quoted otherwise (`"200"`, `"$ref"`, `"/api"`).

use serde_json::Value;

/// `value` as a YAML document.
pub(super) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => mapping(map, 0, false, &mut out),
        Value::Array(items) if !items.is_empty() => sequence(items, 0, &mut out),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

/// `after_dash`: the mapping is a sequence item, its first key follows the `- `.
fn mapping(
    map: &serde_json::Map<String, Value>,
    indent: usize,
    after_dash: bool,
    out: &mut String,
) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !after_dash {
            push_indent(indent, out);
        }
        out.push_str(&key_text(key));
        out.push(':');
        nested(value, indent, out);
    }
}

fn sequence(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        push_indent(indent, out);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push(' ');
                mapping(map, indent + 2, true, out)
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                sequence(inner, indent + 2, out);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// What follows `key:`: a scalar on the same line, a collection on the next ones.
fn nested(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(map, indent + 2, false, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(items, indent, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn push_indent(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A scalar or an empty collection on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A double-quoted YAML string.
fn quoted(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // Allowed in JSON strings, but not printable (or a line break in YAML 1.1).
        if matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        ) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn key_text(key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !SPECIAL.contains(&key.to_ascii_lowercase().as_str());
    if plain {
        key.to_string()
    } else {
        quoted(key)
    }
}

/// Words YAML 1.1 or 1.2 reads as something other than a string.
const SPECIAL: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_with_quoted_strings_and_keys() {
        let doc = json!({
            "openapi": "3.1.0",
            "paths": {
                "/api/x": { "get": { "responses": { "200": { "description": "OK" } } } }
            },
            "tags": ["a", "b"],
            "list": [{ "name": "id", "in": "path" }, [1, 2]],
            "empty": {},
            "none": [],
            "on": true,
            "n": null,
            "text": "line\nbreak \"quoted\" \u{85}",
        });
        let expected = r#"empty: {}
list:
- in: "path"
  name: "id"
-
  - 1
  - 2
"n": null
none: []
"on": true
openapi: "3.1.0"
paths:
  "/api/x":
    get:
      responses:
        "200":
          description: "OK"
tags:
- "a"
- "b"
text: "line\nbreak \"quoted\" \u0085"
"#;
        assert_eq!(to_yaml(&doc), expected);
    }
}
