//! One OpenAPI operation of an HTTP function: what its attribute says (ids, summary, tags,
//! query, body, answers) and what the host adds, since the host answers them itself: 401 for
//! a missing key, 404 for a path parameter that breaks its constraint, 413 for a body over
//! the limit, and the 202 check-status response of an orchestration starter.

use http::StatusCode;
use serde_json::{json, Map, Value};

use super::paths::PathForm;
use super::schemas::{without_null, Schemas};
use crate::app::{AuthLevel, HttpFunction, OperationResponse, ResponseBody};
use crate::keys::{KEY_HEADER, KEY_QUERY};

/// The security schemes an operation of each auth level takes (either one is enough).
pub(super) fn security_schemes(level: AuthLevel) -> &'static [&'static str] {
    match level {
        AuthLevel::Anonymous => &[],
        AuthLevel::Function => &["functionKeyHeader", "functionKeyQuery"],
        AuthLevel::Admin => &["masterKeyHeader", "masterKeyQuery"],
    }
}

/// The definition of a security scheme [`security_schemes`] names.
pub(super) fn security_scheme(name: &str) -> Value {
    let (location, key_name) = if name.ends_with("Header") {
        ("header", KEY_HEADER)
    } else {
        ("query", KEY_QUERY)
    };
    let who = if name.starts_with("master") {
        "The master key"
    } else {
        "A function key or the master key"
    };
    json!({
        "type": "apiKey",
        "in": location,
        "name": key_name,
        "description": format!("{who}, in the `{key_name}` {location}."),
    })
}

/// The operation object of function `name` on one path form.
pub(super) fn operation(
    name: &str,
    f: &HttpFunction,
    form: &PathForm,
    operation_id: String,
    schemas: &mut Schemas,
) -> Value {
    let doc = &f.operation;
    let mut op = Map::new();
    op.insert("operationId".into(), operation_id.into());
    if let Some(summary) = &doc.summary {
        op.insert("summary".into(), summary.as_str().into());
    }
    if let Some(description) = &doc.description {
        op.insert("description".into(), description.as_str().into());
    }
    if !doc.tags.is_empty() {
        op.insert("tags".into(), json!(doc.tags));
    }
    let mut parameters = form.parameters.clone();
    if let Some(query) = doc.query {
        parameters.extend(query_parameters(schemas.request(query)));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = &doc.request_body {
        op.insert(
            "requestBody".into(),
            json!({
                "required": body.required,
                "content": { "application/json": { "schema": schemas.request(body.schema) } },
            }),
        );
    }
    op.insert(
        "responses".into(),
        Value::Object(responses(f, form, schemas)),
    );
    let schemes = security_schemes(f.auth_level);
    if !schemes.is_empty() {
        let either: Vec<Value> = schemes.iter().map(|s| json!({ *s: [] })).collect();
        op.insert("security".into(), Value::Array(either));
    }
    op.insert("x-function-name".into(), name.into());
    Value::Object(op)
}

/// The answers, by status.
fn responses(f: &HttpFunction, form: &PathForm, schemas: &mut Schemas) -> Map<String, Value> {
    let doc = &f.operation;
    let mut out = Map::new();
    for r in &doc.responses {
        out.insert(r.status.to_string(), response(r, schemas));
    }
    if doc.starts_orchestration {
        out.entry("202").or_insert_with(|| check_status(schemas));
    }
    if out.is_empty() {
        out.insert(
            "default".into(),
            json!({ "description": "The function's answer (not described)." }),
        );
    }
    let mut host = |status: StatusCode, why: &str| {
        let error = error_response(why, schemas);
        out.entry(status.as_str()).or_insert(error);
    };
    if form.constrained {
        host(
            StatusCode::NOT_FOUND,
            "A path parameter breaks its constraint, so no route matches.",
        );
    }
    if f.auth_level != AuthLevel::Anonymous {
        host(StatusCode::UNAUTHORIZED, "The key is missing or wrong.");
    }
    if doc.request_body.is_some() {
        host(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The body is larger than the host accepts.",
        );
    }
    out
}

fn response(r: &OperationResponse, schemas: &mut Schemas) -> Value {
    let description = reason(r.status);
    match r.body {
        ResponseBody::Empty => json!({ "description": description }),
        ResponseBody::Error => {
            let schema = schemas.error();
            json!({
                "description": description,
                "content": { "application/json": { "schema": schema } },
            })
        }
        ResponseBody::Json(schema) => json!({
            "description": description,
            "content": { "application/json": { "schema": schemas.answer(schema) } },
        }),
    }
}

fn error_response(why: &str, schemas: &mut Schemas) -> Value {
    json!({
        "description": why,
        "content": { "application/json": { "schema": schemas.error() } },
    })
}

/// The check-status response of `DurableClient::create_check_status_response`.
fn check_status(schemas: &mut Schemas) -> Value {
    let schema = schemas.answer(crate::app::schema_of::<durable_client::HttpManagementPayload>);
    json!({
        "description": "The orchestration started (or is still running): the check-status \
                        response, with the instance id and its management URLs.",
        "headers": {
            "Location": {
                "description": "The instance's status URL (`statusQueryGetUri`).",
                "required": true,
                "schema": { "type": "string" },
            },
            "Retry-After": {
                "description": "Seconds to wait before asking for the status.",
                "required": true,
                "schema": { "type": "string", "pattern": "^[0-9]+$" },
            },
        },
        "content": { "application/json": { "schema": schema } },
    })
}

/// The status's reason phrase, as a response's description.
fn reason(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Answer")
        .to_string()
}

/// The properties of a query type's schema as query parameters.
fn query_parameters(schema: Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        tracing::warn!(
            "a query type of an HTTP function is not a struct; its query is not described"
        );
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = without_null(property.clone());
            let description = property
                .as_object_mut()
                .and_then(|p| p.remove("description"));
            let mut p = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if let Some(d) = description {
                p["description"] = d;
            }
            p
        })
        .collect()
}
