//! `POST /orchestrators/{name}[/{instanceId}]`: start an orchestration.

use super::operations::invalid_json;
use super::params::{bool_param, seconds_param};
use super::{bad_request, DurableApi};
use durable_client::{validate_instance_id, ClientError};
use durable_http::{HttpRequest, HttpResponse};

/// Starts `name` with the request body as input (empty body: no input). The body is parsed
/// as JSON and stored re-serialized, so a JSON string body (what the Python client sends)
/// becomes a string input.
pub(super) async fn start(
    api: &DurableApi,
    req: &HttpRequest,
    name: &str,
    instance_id: Option<&str>,
) -> Result<HttpResponse, ClientError> {
    if api.app.registry.orchestrator(name).is_none() {
        return Ok(bad_request(&format!(
            "The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        )));
    }
    if let Some(id) = instance_id {
        validate_instance_id(id)?;
    }
    let input = if req.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<serde_json::Value>(&req.body) {
            Ok(v) => Some(serde_json::to_string(&v)?),
            Err(e) => return Ok(invalid_json(&e)),
        }
    };
    let version = req
        .query_param("version")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let id = api
        .client
        .start_new_raw(name, instance_id, input, version)
        .await?;
    respond_started(api, req, &id).await
}

/// The answer to a start or restart: the 202 check-status response, or — when both `timeout`
/// and `pollingInterval` are given — wait for completion first.
pub(super) async fn respond_started(
    api: &DurableApi,
    req: &HttpRequest,
    instance_id: &str,
) -> Result<HttpResponse, ClientError> {
    match (
        seconds_param(req, "timeout"),
        seconds_param(req, "pollingInterval"),
    ) {
        (Some(timeout), Some(interval)) => {
            api.client
                .wait_for_completion_or_create_check_status_response(
                    req,
                    instance_id,
                    timeout,
                    interval,
                )
                .await
        }
        _ => {
            let fail_on_failure = bool_param(req, "returnInternalServerErrorOnFailure", false);
            Ok(api
                .client
                .check_status_response(req, instance_id, fail_on_failure))
        }
    }
}
