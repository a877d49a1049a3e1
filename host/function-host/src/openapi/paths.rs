//! Route templates as OpenAPI paths: `{name}` segments become path parameters (with a schema
//! from their constraint), and a template with optional trailing parameters becomes one path
//! per number of them given, since OpenAPI path parameters are always required.

use serde_json::{json, Value};

use crate::router::{Constraint, RouteTemplate, Segment};

/// One OpenAPI path of a route template.
#[derive(Debug, PartialEq)]
pub(super) struct PathForm {
    /// The path, e.g. `/api/orchestrators/{functionName}`.
    pub path: String,
    /// Its path parameters.
    pub parameters: Vec<Value>,
    /// The first optional parameter this form leaves out (`None` for the full form).
    pub without: Option<String>,
    /// Some parameter has a constraint: a value that breaks it matches no route (404).
    pub constrained: bool,
}

/// The paths of `template` under `prefix` (`api`, or empty), the full form first.
pub(super) fn forms(prefix: &str, template: &RouteTemplate) -> Vec<PathForm> {
    let segments = template.segments();
    let optional = segments
        .iter()
        .filter(|s| matches!(s, Segment::Param { optional: true, .. }))
        .count();
    (0..=optional)
        .map(|left_out| {
            let kept = &segments[..segments.len() - left_out];
            let without = (left_out > 0).then(|| match &segments[segments.len() - left_out] {
                Segment::Param { name, .. } | Segment::CatchAll(name) | Segment::Literal(name) => {
                    name.clone()
                }
            });
            form(prefix, kept, without)
        })
        .collect()
}

fn form(prefix: &str, segments: &[Segment], without: Option<String>) -> PathForm {
    let mut path = String::new();
    if !prefix.is_empty() {
        path.push('/');
        path.push_str(prefix);
    }
    let mut parameters = Vec::new();
    let mut constrained = false;
    for segment in segments {
        path.push('/');
        match segment {
            Segment::Literal(text) => path.push_str(text),
            Segment::Param {
                name, constraints, ..
            } => {
                path.push_str(&format!("{{{name}}}"));
                constrained |= !constraints.is_empty();
                parameters.push(parameter(name, schema(constraints), None));
            }
            Segment::CatchAll(name) => {
                path.push_str(&format!("{{{name}}}"));
                parameters.push(parameter(
                    name,
                    json!({ "type": "string" }),
                    Some("The rest of the path; may contain `/` (sent as `%2F`)."),
                ));
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    PathForm {
        path,
        parameters,
        without,
        constrained,
    }
}

fn parameter(name: &str, schema: Value, description: Option<&str>) -> Value {
    let mut p = json!({ "name": name, "in": "path", "required": true, "schema": schema });
    if let Some(d) = description {
        p["description"] = d.into();
    }
    p
}

/// What a segment may hold: never empty (an empty segment matches no route), and what its
/// constraints ask.
fn schema(constraints: &[Constraint]) -> Value {
    let mut all: Vec<Value> = constraints.iter().map(|c| constraint(*c)).collect();
    match all.len() {
        0 => json!({ "type": "string", "minLength": 1 }),
        1 => all.remove(0),
        _ => json!({ "allOf": all }),
    }
}

fn constraint(c: Constraint) -> Value {
    match c {
        Constraint::Int => json!({ "type": "integer", "format": "int32" }),
        Constraint::Long => json!({ "type": "integer", "format": "int64" }),
        Constraint::Double => json!({ "type": "number" }),
        Constraint::Bool => json!({ "type": "boolean" }),
        Constraint::Guid => json!({ "type": "string", "format": "uuid" }),
        Constraint::Alpha => json!({ "type": "string", "pattern": "^[A-Za-z]+$" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(prefix: &str, template: &str) -> Vec<PathForm> {
        forms(prefix, &RouteTemplate::parse(template).unwrap())
    }

    #[test]
    fn parameters_become_path_parameters_with_their_constraints() {
        let f = of("api", "jobs/{jobId}/runs/{run:int}");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "/api/jobs/{jobId}/runs/{run}");
        assert!(f[0].constrained);
        assert_eq!(
            f[0].parameters[0]["schema"],
            json!({"type": "string", "minLength": 1})
        );
        assert_eq!(f[0].parameters[1]["schema"]["type"], "integer");
        assert_eq!(f[0].parameters[1]["required"], true);
    }

    #[test]
    fn optional_parameters_give_one_path_each() {
        let f = of("", "orchestrators/{name}/{id?}");
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/orchestrators/{name}/{id}", "/orchestrators/{name}"]
        );
        assert_eq!(f[1].without.as_deref(), Some("id"));
        assert_eq!(f[1].parameters.len(), 1);
        assert_eq!(of("api", "")[0].path, "/api");
        assert_eq!(of("", "")[0].path, "/");
    }
}
