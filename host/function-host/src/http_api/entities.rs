//! `/entities/...`: read, list and signal entities.
//!
//! | Method | Path | |
//! |---|---|---|
//! | GET | `/entities/{name}/{key}` | the state (`$` as key = empty key); 404 if none |
//! | GET | `/entities[/{name}]` | list (`lastOperationTimeFrom`, `lastOperationTimeTo`, `top`, `fetchState`) |
//! | POST | `/entities/{name}/{key}?op={operation}` | signal; JSON body = input, other text = a string |
//! | DELETE | `/entities/{name}/{key}` | signal `delete` |

use http::header::HeaderName;
use http::StatusCode;

use super::instances::CONTINUATION_HEADER;
use super::operations::invalid_json;
use super::params::{bool_param, is_json_content, page_size_param, time_range};
use super::{bad_request, DurableApi};
use durable_client::{ClientError, EntityQuery};
use durable_engine::entity::EntityId;
use durable_http::{HttpRequest, HttpResponse};

/// The entity named by path segments; `$` as key is the empty key.
fn entity_id(name: &str, key: &str) -> Result<EntityId, Box<HttpResponse>> {
    let key = if key == "$" { "" } else { key };
    EntityId::new(name, key).map_err(|e| Box::new(bad_request(&e.to_string())))
}

/// `GET /entities/{name}/{key}`.
pub(super) async fn read(
    api: &DurableApi,
    name: &str,
    key: &str,
) -> Result<HttpResponse, ClientError> {
    let id = match entity_id(name, key) {
        Ok(id) => id,
        Err(resp) => return Ok(*resp),
    };
    Ok(match api.client.read_entity_state_raw(&id).await? {
        None => HttpResponse::new(StatusCode::NOT_FOUND),
        Some(json) => HttpResponse::new(StatusCode::OK)
            .with_header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .with_body(json),
    })
}

/// `GET /entities[/{name}]`.
pub(super) async fn list(
    api: &DurableApi,
    req: &HttpRequest,
    name: Option<&str>,
) -> Result<HttpResponse, ClientError> {
    if let Some(name) = name {
        if let Err(resp) = entity_id(name, "") {
            return Ok(*resp);
        }
    }
    let continuation = req
        .header(CONTINUATION_HEADER)
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "null")
        .map(str::to_string);
    let parsed = || -> Result<EntityQuery, String> {
        let (from, to) = time_range(req, "lastOperationTimeFrom", "lastOperationTimeTo")?;
        Ok(EntityQuery {
            name: name.map(str::to_string),
            last_operation_from: from,
            last_operation_to: to,
            fetch_state: bool_param(req, "fetchState", false)?,
            page_size: page_size_param(req, "top")?.unwrap_or(100),
            continuation,
        })
    };
    let query = match parsed() {
        Ok(q) => q,
        Err(message) => return Ok(bad_request(&message)),
    };
    let page = api.client.list_entities(&query).await?;
    Ok(HttpResponse::ok_json(&page.entities).with_header(
        HeaderName::from_static(CONTINUATION_HEADER),
        page.continuation.as_deref().unwrap_or(""),
    ))
}

/// `POST /entities/{name}/{key}?op=...` (or `DELETE`, which signals `delete`).
pub(super) async fn signal(
    api: &DurableApi,
    req: &HttpRequest,
    name: &str,
    key: &str,
    operation: Option<&str>,
) -> Result<HttpResponse, ClientError> {
    let id = match entity_id(name, key) {
        Ok(id) => id,
        Err(resp) => return Ok(*resp),
    };
    let Some(operation) = operation
        .or_else(|| req.query_param("op"))
        .filter(|o| !o.is_empty())
    else {
        return Ok(bad_request(
            "the operation name is missing: use ?op={operation}",
        ));
    };
    let input = if req.body.is_empty() {
        None
    } else if is_json_content(req) {
        match serde_json::from_slice::<serde_json::Value>(&req.body) {
            Ok(v) => Some(v.to_string()),
            Err(e) => return Ok(invalid_json(&e)),
        }
    } else {
        let Ok(text) = std::str::from_utf8(&req.body) else {
            return Ok(super::bad_request(
                "the operation input is not valid UTF-8 text",
            ));
        };
        Some(serde_json::Value::String(text.to_owned()).to_string())
    };
    api.client
        .signal_entity_raw(&id, operation, input, None)
        .await?;
    Ok(HttpResponse::new(StatusCode::ACCEPTED))
}
