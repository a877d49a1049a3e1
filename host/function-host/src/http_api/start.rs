//! `POST /orchestrators/{name}[/{instanceId}]`: start an orchestration.

use super::operations::invalid_json;
use super::params::{bool_param, checked_seconds, tags_param, time_param};
use super::{bad_request, DurableApi};
use durable_client::{validate_instance_id, ClientError, IfExists, StartOptions};
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
    if !api.app.registry.has_orchestrator(name) {
        return Ok(bad_request(&format!(
            "The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        )));
    }
    if let Some(id) = instance_id {
        validate_instance_id(id)?;
    }
    // Checked before anything starts: a bad wait is the caller's error, not a started
    // instance and then a failure.
    let wait = match Wait::of(req) {
        Ok(wait) => wait,
        Err(message) => return Ok(bad_request(&message)),
    };
    let input = if req.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<serde_json::Value>(&req.body) {
            Ok(v) => Some(serde_json::to_string(&v)?),
            Err(e) => return Ok(invalid_json(&e)),
        }
    };
    let options = match start_options(req, instance_id) {
        Ok(o) => o,
        Err(message) => return Ok(bad_request(&message)),
    };
    let id = api.client.start_with_options(name, input, options).await?;
    respond_started(api, req, &id, wait).await
}

/// `version`, `startAt` (a time: the instance is Pending until then), `ifExists`
/// (`replaceEnded`; `replaceAny`: a running instance of the id is terminated and replaced;
/// `returnExisting`: an existing instance of the id is answered as if just started, and
/// nothing starts; the host's `overridableExistingInstanceStates` when absent), and tags
/// (`tag.<key>=<value>`, repeated).
fn start_options(req: &HttpRequest, instance_id: Option<&str>) -> Result<StartOptions, String> {
    let if_exists = match req.query_param("ifExists").map(str::trim) {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("replaceEnded") => Some(IfExists::ReplaceEnded),
        Some(v) if v.eq_ignore_ascii_case("replaceAny") => Some(IfExists::ReplaceAny),
        Some(v) if v.eq_ignore_ascii_case("returnExisting") => Some(IfExists::ReturnExisting),
        Some(v) => {
            return Err(format!(
                "ifExists must be replaceEnded, replaceAny or returnExisting, not {v:?}"
            ))
        }
    };
    Ok(StartOptions {
        instance_id: instance_id.map(str::to_string),
        version: req
            .query_param("version")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        start_at: time_param(req, "startAt")?,
        if_exists,
        tags: tags_param(req)?,
    })
}

/// `timeout` and `pollingInterval`: when both are given, the start waits for completion;
/// `returnInternalServerErrorOnFailure`: a failed instance is answered with a 500.
pub(super) struct Wait {
    wait: Option<(std::time::Duration, std::time::Duration)>,
    fail_on_failure: bool,
}

impl Wait {
    /// Reads and checks the two parameters; a message for a 400 when one is invalid.
    pub(super) fn of(req: &HttpRequest) -> Result<Self, String> {
        let timeout = checked_seconds(req, "timeout")?;
        let interval = checked_seconds(req, "pollingInterval")?;
        if let (Some(t), Some(i)) = (timeout, interval) {
            if i > t {
                return Err(format!(
                    "the total timeout {} s must not be shorter than the polling interval {} s",
                    t.as_secs_f64(),
                    i.as_secs_f64()
                ));
            }
        }
        Ok(Self {
            wait: timeout.zip(interval),
            fail_on_failure: bool_param(req, "returnInternalServerErrorOnFailure", false)?,
        })
    }
}

/// The answer to a start or restart: the 202 check-status response, or — when both `timeout`
/// and `pollingInterval` are given — wait for completion first.
pub(super) async fn respond_started(
    api: &DurableApi,
    req: &HttpRequest,
    instance_id: &str,
    wait: Wait,
) -> Result<HttpResponse, ClientError> {
    match wait.wait {
        Some((timeout, interval)) => {
            api.client
                .wait_for_completion_or_create_check_status_response(
                    req,
                    instance_id,
                    timeout,
                    interval,
                )
                .await
        }
        None => Ok(api
            .client
            .check_status_response(req, instance_id, wait.fail_on_failure)),
    }
}
