//! `POST /instances/{id}/...`: raise an event, terminate, suspend, resume, rewind, restart.

use http::StatusCode;

use super::params::{bool_param, is_json_content};
use super::start::{respond_started, Wait};
use super::{bad_request, error, lookup, DurableApi};
use durable_client::ClientError;
use durable_engine::history::OrchestrationStatus;
use durable_http::{HttpRequest, HttpResponse};

/// The operations under `/instances/{id}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    Terminate,
    Suspend,
    Resume,
    Rewind,
    Restart,
}

impl Operation {
    /// The operation named by a path segment (case-insensitive).
    pub(super) fn parse(segment: &str) -> Option<Self> {
        [
            ("terminate", Self::Terminate),
            ("suspend", Self::Suspend),
            ("resume", Self::Resume),
            ("rewind", Self::Rewind),
            ("restart", Self::Restart),
        ]
        .into_iter()
        .find(|(name, _)| segment.eq_ignore_ascii_case(name))
        .map(|(_, op)| op)
    }
}

fn gone(instance_id: &str, status: OrchestrationStatus) -> HttpResponse {
    error(
        StatusCode::GONE,
        &format!(
            "The instance {instance_id:?} is {}; the operation needs a running instance.",
            status.name()
        ),
        None,
    )
}

/// `POST /instances/{id}/raiseEvent/{event}` with a JSON body.
pub(super) async fn raise_event(
    api: &DurableApi,
    req: &HttpRequest,
    segment: &str,
    event_name: &str,
) -> Result<HttpResponse, ClientError> {
    let Some(found) = lookup(api, segment).await? else {
        return Ok(HttpResponse::new(StatusCode::NOT_FOUND));
    };
    if found.status.is_terminal() {
        return Ok(gone(&found.instance_id, found.status));
    }
    if !is_json_content(req) {
        return Ok(bad_request(
            "Only application/json request content is supported",
        ));
    }
    let value: serde_json::Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return Ok(invalid_json(&e)),
    };
    api.client
        .raise_event(&found.instance_id, event_name, &value)
        .await?;
    Ok(HttpResponse::new(StatusCode::ACCEPTED))
}

/// 400 for a body that is not JSON.
pub(super) fn invalid_json(e: &serde_json::Error) -> HttpResponse {
    error(
        StatusCode::BAD_REQUEST,
        "Invalid JSON content",
        Some((&e.to_string(), "Newtonsoft.Json.JsonReaderException")),
    )
}

/// Terminate, suspend, resume, rewind or restart.
pub(super) async fn run(
    api: &DurableApi,
    req: &HttpRequest,
    segment: &str,
    op: Operation,
) -> Result<HttpResponse, ClientError> {
    // Checked first: a bad parameter is the caller's error whatever the instance's state.
    let recursive = match bool_param(req, "recursive", false) {
        Ok(r) => r,
        Err(message) => return Ok(bad_request(&message)),
    };
    let Some(found) = lookup(api, segment).await? else {
        return Ok(if op == Operation::Restart {
            bad_request("InstanceId does not match a valid orchestration instance.")
        } else {
            HttpResponse::new(StatusCode::NOT_FOUND)
        });
    };
    let id = found.instance_id.as_str();
    let reason = req.query_param("reason").unwrap_or("");
    match op {
        Operation::Restart => {
            let wait = match Wait::of(req) {
                Ok(wait) => wait,
                Err(message) => return Ok(bad_request(&message)),
            };
            let new_id = match bool_param(req, "restartWithNewInstanceId", true) {
                Ok(b) => b,
                Err(message) => return Ok(bad_request(&message)),
            };
            let started = api.client.restart(id, new_id).await?;
            return respond_started(api, req, &started, wait).await;
        }
        Operation::Rewind => {
            // Running/Pending/Suspended are refused by the client (500); only these are gone.
            if matches!(
                found.status,
                OrchestrationStatus::Completed
                    | OrchestrationStatus::Canceled
                    | OrchestrationStatus::Terminated
            ) {
                return Ok(gone(id, found.status));
            }
            api.client.rewind(id, reason).await?;
        }
        Operation::Terminate | Operation::Suspend | Operation::Resume => {
            if found.status.is_terminal() {
                return Ok(gone(id, found.status));
            }
            match op {
                Operation::Terminate if recursive => {
                    api.client.terminate_recursive(id, reason).await?;
                }
                Operation::Terminate => api.client.terminate(id, reason).await?,
                Operation::Suspend => api.client.suspend(id, reason).await?,
                _ => api.client.resume(id, reason).await?,
            }
        }
    }
    Ok(HttpResponse::new(StatusCode::ACCEPTED))
}
