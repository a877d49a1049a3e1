//! The OpenAPI 3.1 document of an app's HTTP functions: one path per route form, one
//! operation per accepted method, the schemas in `components/schemas` and the key schemes the
//! operations use in `components/securitySchemes`. The management API under
//! `/runtime/webhooks/durabletask/` is not in it.

use std::collections::{BTreeSet, HashSet};

use http::Method;
use serde_json::{json, Map, Value};

use super::operation::{operation, security_scheme, security_schemes};
use super::paths::forms;
use super::schemas::Schemas;
use crate::app::FunctionApp;
use crate::requests::route_of;
use crate::router::RouteTemplate;

/// The methods an OpenAPI path item can describe, as its fields name them; a function that
/// accepts any method is described with each.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document's `info`.
#[derive(Debug, Clone)]
pub struct DocumentInfo {
    /// `info.title`.
    pub title: String,
    /// `info.version`: the version of the app's API.
    pub version: String,
}

/// The document of `app`'s HTTP functions under the route prefix `prefix` (`api`, or empty).
pub fn document(app: &FunctionApp, prefix: &str, info: &DocumentInfo) -> Value {
    let mut schemas = Schemas::new();
    let mut paths: Map<String, Value> = Map::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut schemes: BTreeSet<&'static str> = BTreeSet::new();
    for (name, f) in &app.http {
        // Checked when the host starts: a template that does not parse never gets here.
        let Ok(template) = RouteTemplate::parse(&route_of(name, f)) else {
            continue;
        };
        let methods: Vec<&str> = if f.methods.is_empty() {
            METHODS.to_vec()
        } else {
            f.methods.iter().filter_map(method_field).collect()
        };
        let base = f
            .operation
            .operation_id
            .clone()
            .unwrap_or_else(|| name.clone());
        for form in forms(prefix, &template) {
            let item = paths
                .entry(form.path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            for method in &methods {
                if item.get(*method).is_some() {
                    tracing::warn!(
                        function = %name,
                        path = %form.path,
                        method,
                        "another HTTP function already answers this path and method; \
                         the OpenAPI document describes the first"
                    );
                    continue;
                }
                let mut id = base.clone();
                if methods.len() > 1 {
                    id = format!("{id}_{method}");
                }
                if let Some(left_out) = &form.without {
                    id = format!("{id}_without_{left_out}");
                }
                let id = unique(id, &mut ids);
                item[*method] = operation(name, f, &form, id, &mut schemas);
            }
            schemes.extend(security_schemes(f.auth_level));
        }
    }
    paths.retain(|_, item| item.as_object().is_some_and(|m| !m.is_empty()));
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": info.title,
            "version": info.version,
            "description": "The HTTP functions of this function app.",
        },
        "paths": paths,
    });
    let mut components = Map::new();
    components.insert(
        "schemas".into(),
        Value::Object(schemas.finish(&mut document)),
    );
    if !schemes.is_empty() {
        let defined: Map<String, Value> = schemes
            .iter()
            .map(|s| (s.to_string(), security_scheme(s)))
            .collect();
        components.insert("securitySchemes".into(), Value::Object(defined));
    }
    document["components"] = Value::Object(components);
    document
}

/// The path item field of a method, if OpenAPI 3.1 has one (it has none for `CONNECT`).
fn method_field(method: &Method) -> Option<&'static str> {
    let lower = method.as_str().to_ascii_lowercase();
    METHODS.iter().copied().find(|m| *m == lower)
}

/// `id`, or `id_2`, `id_3`, ... if taken (two functions given the same operation id by hand).
fn unique(id: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = id.clone();
    let mut i = 2;
    while taken.contains(&candidate) {
        candidate = format!("{id}_{i}");
        i += 1;
    }
    if candidate != id {
        tracing::warn!(operation_id = %id, renamed = %candidate, "two HTTP functions share an operation id");
    }
    taken.insert(candidate.clone());
    candidate
}
