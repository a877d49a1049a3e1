//! The built-in Durable Functions HTTP API under `/runtime/webhooks/durabletask/`.
//!
//! | Method | Path | |
//! |---|---|---|
//! | POST | `/orchestrators/{name}[/{instanceId}]` | start |
//! | GET | `/instances/{id}` | status |
//! | GET | `/instances` | query, paged with `x-ms-continuation-token` |
//! | DELETE | `/instances/{id}` | purge one |
//! | DELETE | `/instances` | purge by filter |
//! | POST | `/instances/{id}/raiseEvent/{event}` | raise an event |
//! | POST | `/instances/{id}/{terminate,suspend,resume,rewind,restart}` | operations |
//! | GET | `/entities/{name}/{key}` | read an entity's state |
//! | GET | `/entities[/{name}]` | list entities |
//! | POST | `/entities/{name}/{key}?op=...` | signal an entity |
//! | DELETE | `/entities/{name}/{key}` | signal `delete` |
//! | any | `/makeprimary` | 200 |
//!
//! Every response body is empty or JSON; errors carry `{"Message", "ExceptionMessage", ...}`.

pub use durable_client::management::WEBHOOK_PATH;
use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use crate::app::FunctionApp;
use durable_client::{ClientError, DurableClient};
use durable_http::{HttpRequest, HttpResponse};
use durable_store::{InstanceState, StoreError};

mod entities;
mod instances;
pub use instances::instance_query;
mod operations;
pub mod params;
mod start;
#[cfg(test)]
mod tests;

/// Everything the management API needs.
#[derive(Clone)]
pub struct DurableApi {
    /// The client (its management config gives hub name, connection and system key).
    pub client: DurableClient,
    /// The app's functions (to reject unknown orchestrators).
    pub app: Arc<FunctionApp>,
}

/// Handles one request; `path` is the part after [`WEBHOOK_PATH`] (e.g. `/instances/abc`),
/// still percent-encoded. Authorization has been checked by the server.
pub async fn handle(api: &DurableApi, path: &str, req: HttpRequest) -> HttpResponse {
    let segs = match params::segments(path) {
        Ok(segs) if durable_http::query_is_utf8(req.uri.query().unwrap_or("")) => segs,
        Ok(_) => return bad_request("the query string is not valid UTF-8"),
        Err(message) => return bad_request(&message),
    };
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let is = |i: usize, word: &str| seg.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    let method = req.method.clone();
    let result = match (method, seg.len()) {
        (_, 1) if is(0, "makeprimary") => Ok(HttpResponse::new(StatusCode::OK)),
        (Method::GET, 1) if is(0, "entities") => entities::list(api, &req, None).await,
        (Method::GET, 2) if is(0, "entities") => entities::list(api, &req, Some(seg[1])).await,
        (Method::GET, 3) if is(0, "entities") => entities::read(api, seg[1], seg[2]).await,
        (Method::POST, 3) if is(0, "entities") => {
            entities::signal(api, &req, seg[1], seg[2], None).await
        }
        (Method::DELETE, 3) if is(0, "entities") => {
            entities::signal(api, &req, seg[1], seg[2], Some("delete")).await
        }
        (Method::POST, n) if n >= 2 && is(0, "orchestrators") => {
            let id = (n > 2).then(|| seg[2..].join("/"));
            start::start(api, &req, seg[1], id.as_deref()).await
        }
        (Method::GET, 1) if is(0, "instances") => instances::query(api, &req).await,
        (Method::DELETE, 1) if is(0, "instances") => instances::purge_by_filter(api, &req).await,
        (Method::GET, 2) if is(0, "instances") => instances::status(api, &req, seg[1]).await,
        (Method::DELETE, 2) if is(0, "instances") => instances::purge(api, &req, seg[1]).await,
        (Method::POST, 4) if is(0, "instances") && is(2, "raiseEvent") => {
            operations::raise_event(api, &req, seg[1], seg[3]).await
        }
        (Method::POST, 3) if is(0, "instances") => match operations::Operation::parse(seg[2]) {
            Some(op) => operations::run(api, &req, seg[1], op).await,
            None => Ok(HttpResponse::new(StatusCode::NOT_FOUND)),
        },
        _ => Ok(HttpResponse::new(StatusCode::NOT_FOUND)),
    };
    result.unwrap_or_else(|e| client_error(api, e))
}

/// Looks an instance up by a decoded path segment. Generated URLs form-encode ids (space as
/// `+`), so when nothing matches literally and the segment has a `+`, spaces are tried too.
async fn lookup(api: &DurableApi, segment: &str) -> Result<Option<InstanceState>, ClientError> {
    let store = api.client.store();
    if let Some(found) = store.get_instance(segment).await? {
        return Ok(Some(found));
    }
    if segment.contains('+') {
        return Ok(store.get_instance(&segment.replace('+', " ")).await?);
    }
    Ok(None)
}

/// An error response `{"Message", "ExceptionMessage"?, "ExceptionType"?}`.
pub(crate) fn error(
    status: StatusCode,
    message: &str,
    exception: Option<(&str, &str)>,
) -> HttpResponse {
    let body = match exception {
        Some((text, ty)) => json!({
            "Message": message,
            "ExceptionMessage": text,
            "ExceptionType": ty,
            "StackTrace": null,
        }),
        None => json!({ "Message": message }),
    };
    HttpResponse::json(status, &body)
}

const BAD_ARGUMENTS: &str = "One or more of the arguments submitted is incorrect";
const INTERNAL: &str = "Something went wrong while processing your request";

/// 400 as for an `ArgumentException`.
pub(crate) fn bad_request(exception_message: &str) -> HttpResponse {
    error(
        StatusCode::BAD_REQUEST,
        BAD_ARGUMENTS,
        Some((exception_message, "System.ArgumentException")),
    )
}

/// 500 as for an unexpected exception of type `ty`.
pub(crate) fn internal(exception_message: &str, ty: &str) -> HttpResponse {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        INTERNAL,
        Some((exception_message, ty)),
    )
}

/// The response for a client error that no handler turned into something more specific.
fn client_error(api: &DurableApi, e: ClientError) -> HttpResponse {
    let text = e.to_string();
    match e {
        ClientError::NotFound(_) => HttpResponse::new(StatusCode::NOT_FOUND),
        ClientError::InvalidInstanceId { .. }
        | ClientError::InvalidArgument(_)
        | ClientError::Store(StoreError::BadContinuation(_) | StoreError::Unsupported(_)) => {
            bad_request(&text)
        }
        ClientError::AlreadyExists { .. } => internal(
            &text,
            "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
        ),
        ClientError::WrongStatus { .. } => internal(&text, "System.InvalidOperationException"),
        ClientError::Timeout(_) => internal(&text, "System.TimeoutException"),
        ClientError::Serialize(_) => internal(&text, "Newtonsoft.Json.JsonException"),
        // A store that may answer if asked again (a dropped connection, a full disk that may
        // clear, a store failed until the host restarts): 503 with Retry-After, which clients
        // retry, rather than a 500 they take as final.
        ClientError::Store(e)
            if e.is_retryable() || api.client.store().signals().failure.reason().is_some() =>
        {
            tracing::warn!(error = %text, "management API: store unavailable");
            let mut response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The task hub is unavailable; try again",
                Some((&text, "System.Exception")),
            );
            response.headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            response
        }
        ClientError::Store(_) => {
            tracing::error!(error = %text, "management API: store failure");
            internal(&text, "System.Exception")
        }
    }
}
