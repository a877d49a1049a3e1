//! What an HTTP function says about itself for the OpenAPI document, beyond what the host
//! already knows (route, methods, auth level): an operation id, a summary, tags, and the JSON
//! Schemas of its query, request body and responses.
//!
//! Schemas are not built when a function registers: each is a function pointer that asks a
//! `schemars` generator for the type's schema when the document is made, so named types land
//! once in `components/schemas` and every operation refers to them.

use schemars::{JsonSchema, Schema, SchemaGenerator};

/// Produces one schema with a generator; named types go into the generator's definitions.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` as an operation refers to it: a `$ref` for named types.
pub fn schema_of<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The schema of `T` itself, never a `$ref`: for a query type, whose properties become query
/// parameters.
pub fn inline_schema_of<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// The OpenAPI description of an HTTP function (`#[http_trigger(operation_id = ..,
/// summary = .., tags = [..], query = T, request_body = T, response_body = T,
/// responses = [..], starts_orchestration = true)]`). Everything is optional: a function
/// without any of it is still in the document, with its route, methods and auth level.
#[derive(Clone, Debug, Default)]
pub struct HttpOperation {
    /// The operation id; the function name when not given.
    pub operation_id: Option<String>,
    /// A one-line summary.
    pub summary: Option<String>,
    /// A longer description (the function's doc comment).
    pub description: Option<String>,
    /// Tags that group operations in the document and on the Swagger UI page.
    pub tags: Vec<String>,
    /// A type whose properties are the query parameters the function reads.
    pub query: Option<SchemaFn>,
    /// The JSON request body.
    pub request_body: Option<RequestBody>,
    /// The answers the function gives, by status.
    pub responses: Vec<OperationResponse>,
    /// The function starts an orchestration and may answer with the 202 check-status
    /// response (`DurableClient::create_check_status_response`).
    pub starts_orchestration: bool,
}

/// A JSON request body.
#[derive(Clone, Copy, Debug)]
pub struct RequestBody {
    /// Its schema.
    pub schema: SchemaFn,
    /// False when the function also accepts an empty body (`request_body = Option<T>`).
    pub required: bool,
}

/// One documented answer.
#[derive(Clone, Copy, Debug)]
pub struct OperationResponse {
    /// The status code.
    pub status: u16,
    /// What its body holds.
    pub body: ResponseBody,
}

/// The body of a documented answer.
#[derive(Clone, Copy, Debug)]
pub enum ResponseBody {
    /// No body.
    Empty,
    /// The host's error body, `{"Message": "..."}` (`HttpResponse::error`).
    Error,
    /// JSON of a type.
    Json(SchemaFn),
}
