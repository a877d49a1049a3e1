//! The JSON Schemas of the document: one `schemars` generator for what callers send (query
//! and request bodies, described as the function deserializes them) and one for what the
//! functions answer (described as they serialize), merged into `components/schemas` at the
//! end.
//!
//! Two generators because a type may read differently in each direction (a field with
//! `#[serde(default)]` is optional in a request but always present in an answer). Each names
//! its definitions by type; when both hold a definition of one name that differs, the
//! answer's copy is renamed (`NameResponse`) and the references to it follow.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

use crate::app::SchemaFn;

/// Where the schemas of requests are kept, and where everything ends up.
const COMPONENTS: &str = "#/components/schemas/";
/// Where the answers' generator keeps its schemas until [`Schemas::finish`] moves them.
const ANSWERS: &str = "#/components/x-answer-schemas/";

/// The body of `HttpResponse::error`.
#[derive(JsonSchema)]
#[schemars(rename = "ErrorMessage")]
#[allow(dead_code)] // only its schema is used
struct ErrorMessage {
    /// What went wrong.
    #[serde(rename = "Message")]
    message: String,
}

/// The two generators.
pub(super) struct Schemas {
    requests: SchemaGenerator,
    answers: SchemaGenerator,
}

impl Schemas {
    /// Empty generators.
    pub(super) fn new() -> Self {
        let settings = |path: &str| {
            SchemaSettings::draft2020_12().with(|s| {
                s.definitions_path = path.trim_start_matches('#').to_string().into();
                s.meta_schema = None;
            })
        };
        Self {
            requests: settings(COMPONENTS).for_deserialize().into_generator(),
            answers: settings(ANSWERS).for_serialize().into_generator(),
        }
    }

    /// The schema of something a caller sends.
    pub(super) fn request(&mut self, schema: SchemaFn) -> Value {
        schema(&mut self.requests).to_value()
    }

    /// The schema of an answer's body.
    pub(super) fn answer(&mut self, schema: SchemaFn) -> Value {
        schema(&mut self.answers).to_value()
    }

    /// The schema of the host's error body, `{"Message": "..."}`.
    pub(super) fn error(&mut self) -> Value {
        self.answer(crate::app::schema_of::<ErrorMessage>)
    }

    /// Puts every definition into `components/schemas` and points the references of
    /// `document` at them.
    pub(super) fn finish(mut self, document: &mut Value) -> Map<String, Value> {
        let mut components = self.requests.take_definitions(true);
        let answers = self.answers.take_definitions(true);
        let names = final_names(&components, &answers);
        for (name, mut schema) in answers {
            rename_refs(&mut schema, &names);
            let target = names.get(&name).and_then(Value::as_str).unwrap_or(&name);
            components.entry(target.to_string()).or_insert(schema);
        }
        rename_refs(document, &names);
        components
    }
}

/// The final name of each answer definition: its own when no request definition of that name
/// differs from it, else the first free `{name}Response`, `{name}Response2`, ...
///
/// Whether two definitions differ depends on the names of those they refer to, so the
/// renaming repeats until nothing changes.
fn final_names(requests: &Map<String, Value>, answers: &Map<String, Value>) -> Map<String, Value> {
    let mut names: std::collections::BTreeMap<String, String> =
        answers.keys().map(|k| (k.clone(), k.clone())).collect();
    loop {
        let map = as_map(&names);
        let mut changed = false;
        for (name, schema) in answers {
            if names[name] != *name {
                continue;
            }
            let Some(theirs) = requests.get(name) else {
                continue;
            };
            let mut ours = schema.clone();
            rename_refs(&mut ours, &map);
            if ours != *theirs {
                let taken = |n: &String| requests.contains_key(n) || answers.contains_key(n);
                let mut candidate = format!("{name}Response");
                let mut i = 2;
                while taken(&candidate) || names.values().any(|v| *v == candidate) {
                    candidate = format!("{name}Response{i}");
                    i += 1;
                }
                names.insert(name.clone(), candidate);
                changed = true;
            }
        }
        if !changed {
            return map;
        }
    }
}

fn as_map(names: &std::collections::BTreeMap<String, String>) -> Map<String, Value> {
    names
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// Rewrites every `$ref` to an answer definition into a reference to its final name.
fn rename_refs(value: &mut Value, names: &Map<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix(ANSWERS)) {
                        let target = names.get(name).and_then(Value::as_str).unwrap_or(name);
                        *v = Value::String(format!("{COMPONENTS}{target}"));
                    }
                } else {
                    rename_refs(v, names);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, names)),
        _ => {}
    }
}

/// `schema` without `null` among its types: a query parameter that is not sent has no value,
/// so an `Option<T>` field is simply an optional `T`.
pub(super) fn without_null(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    if let Some(Value::Array(types)) = map.get("type") {
        let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        let rest = match rest.len() {
            1 => rest.into_iter().next().unwrap_or_default(),
            _ => Value::Array(rest),
        };
        map.insert("type".into(), rest);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get(key) {
            let rest: Vec<Value> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .cloned()
                .collect();
            if rest.len() == 1 && map.len() == 1 {
                return rest.into_iter().next().unwrap_or_default();
            }
            map.insert(key.into(), Value::Array(rest));
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::schema_of;
    use serde_json::json;

    #[derive(JsonSchema, serde::Deserialize, serde::Serialize)]
    #[allow(dead_code)]
    struct Order {
        #[serde(default)]
        lines: Vec<Line>,
    }

    #[derive(JsonSchema, serde::Deserialize, serde::Serialize)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
    }

    #[test]
    fn a_type_read_differently_each_way_gets_two_names() {
        let mut schemas = Schemas::new();
        let mut document = json!({
            "in": schemas.request(schema_of::<Order>),
            "out": schemas.answer(schema_of::<Order>),
            "line": schemas.answer(schema_of::<Line>),
        });
        let components = schemas.finish(&mut document);
        assert_eq!(document["in"]["$ref"], "#/components/schemas/Order");
        assert_eq!(
            document["out"]["$ref"],
            "#/components/schemas/OrderResponse"
        );
        assert_eq!(document["line"]["$ref"], "#/components/schemas/Line");
        assert!(components["Order"]["required"].is_null(), "{components:#?}");
        assert_eq!(components["OrderResponse"]["required"], json!(["lines"]));
        assert_eq!(
            components["OrderResponse"]["properties"]["lines"]["items"]["$ref"],
            "#/components/schemas/Line"
        );
        assert!(!serde_json::to_string(&components)
            .unwrap()
            .contains("x-answer"));
    }

    #[test]
    fn null_is_dropped_from_query_types() {
        assert_eq!(
            without_null(json!({"type": ["integer", "null"], "minimum": 0})),
            json!({"type": "integer", "minimum": 0})
        );
        assert_eq!(
            without_null(json!({"anyOf": [{"$ref": "#/x"}, {"type": "null"}]})),
            json!({"$ref": "#/x"})
        );
        assert_eq!(without_null(json!(true)), json!(true));
    }
}
