//! Management URLs and the responses built from them: check-status responses and
//! wait-for-completion-or-check-status.

use std::time::Duration;

use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ClientError, DurableClient};
use durable_engine::history::OrchestrationStatus;
use durable_http::{HttpRequest, HttpResponse};
use durable_store::InstanceState;

use super::status::DurableOrchestrationStatus;

/// The longest wait the clock is asked to represent (about 30 years): longer timeouts wait
/// this long instead of overflowing.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// Where the built-in management API is served, below the host's origin.
pub const WEBHOOK_PATH: &str = "/runtime/webhooks/durabletask";

/// The management URLs of one instance (`HttpManagementPayload`), the body of a check-status
/// response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpManagementPayload {
    /// The instance id.
    pub id: String,
    /// GET: the status.
    pub status_query_get_uri: String,
    /// POST: raise an event (`{eventName}` is a placeholder).
    pub send_event_post_uri: String,
    /// POST: terminate (`{text}` is a placeholder for the reason).
    pub terminate_post_uri: String,
    /// POST: rewind; absent from check-status responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind_post_uri: Option<String>,
    /// DELETE: purge the history.
    pub purge_history_delete_uri: String,
    /// POST: restart.
    pub restart_post_uri: String,
    /// POST: suspend.
    pub suspend_post_uri: String,
    /// POST: resume.
    pub resume_post_uri: String,
}

/// Where the management URLs point: the webhook base URL (scheme, authority and
/// [`WEBHOOK_PATH`]), taken from an incoming request or given as text.
pub trait WebhookBase {
    /// The base URL without a trailing slash, e.g.
    /// `http://localhost:7071/runtime/webhooks/durabletask`.
    fn webhook_base(&self) -> String;
}

impl WebhookBase for HttpRequest {
    fn webhook_base(&self) -> String {
        format!("{}{WEBHOOK_PATH}", request_origin(self))
    }
}

impl WebhookBase for &HttpRequest {
    fn webhook_base(&self) -> String {
        (*self).webhook_base()
    }
}

impl WebhookBase for str {
    /// Text is the base URL itself; a bare origin (`http://host:port`) gets [`WEBHOOK_PATH`].
    fn webhook_base(&self) -> String {
        let base = self.trim_end_matches('/');
        let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
        if after_scheme.contains('/') {
            base.to_string()
        } else {
            format!("{base}{WEBHOOK_PATH}")
        }
    }
}

impl WebhookBase for &str {
    fn webhook_base(&self) -> String {
        (**self).webhook_base()
    }
}

impl WebhookBase for String {
    fn webhook_base(&self) -> String {
        self.as_str().webhook_base()
    }
}

/// `scheme://authority` of a request: the URI's own if it is absolute, else `http` and the
/// `Host` header (`localhost` if there is none).
pub fn request_origin(req: &HttpRequest) -> String {
    let scheme = req.uri.scheme_str().unwrap_or("http");
    let authority = req
        .uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| req.header("host").map(str::to_string))
        .unwrap_or_else(|| "localhost".to_string());
    format!("{scheme}://{authority}")
}

/// The full URL of a request (origin + path and query).
pub fn request_url(req: &HttpRequest) -> String {
    let path = req.uri.path_and_query().map_or("/", |p| p.as_str());
    format!("{}{path}", request_origin(req))
}

/// `application/x-www-form-urlencoded` encoding as .NET's `WebUtility.UrlEncode` does it:
/// ASCII letters, digits and `-_.!*()` stay, space becomes `+`, the rest is `%XX` (UTF-8).
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl DurableClient {
    /// `taskHub=..&connection=..[&code=..]`, appended to every management URL.
    fn required_query(&self) -> String {
        let m = self.management();
        let mut q = format!(
            "taskHub={}&connection={}",
            form_encode(&m.hub_name),
            form_encode(&m.connection)
        );
        if let Some(key) = &m.system_key {
            q.push_str("&code=");
            q.push_str(&form_encode(key));
        }
        q
    }

    /// The management URLs of an instance, rooted at `base` (an incoming request or a base
    /// URL). Includes `rewindPostUri`.
    pub fn create_http_management_payload(
        &self,
        base: &(impl WebhookBase + ?Sized),
        instance_id: &str,
    ) -> HttpManagementPayload {
        let base = base.webhook_base();
        let common = self.required_query();
        let instance = format!("{base}/instances/{}", form_encode(instance_id));
        HttpManagementPayload {
            id: instance_id.to_string(),
            status_query_get_uri: format!("{instance}?{common}"),
            send_event_post_uri: format!("{instance}/raiseEvent/{{eventName}}?{common}"),
            terminate_post_uri: format!("{instance}/terminate?reason={{text}}&{common}"),
            rewind_post_uri: Some(format!("{instance}/rewind?reason={{text}}&{common}")),
            purge_history_delete_uri: format!("{instance}?{common}"),
            restart_post_uri: format!("{instance}/restart?{common}"),
            suspend_post_uri: format!("{instance}/suspend?reason={{text}}&{common}"),
            resume_post_uri: format!("{instance}/resume?reason={{text}}&{common}"),
        }
    }

    /// The 202 check-status response for an instance: management URLs rooted at the
    /// request's origin (no `rewindPostUri`), `Location` = the status URL, `Retry-After: 10`.
    pub fn create_check_status_response(
        &self,
        req: &HttpRequest,
        instance_id: &str,
    ) -> HttpResponse {
        self.check_status_response(req, instance_id, false)
    }

    /// As [`Self::create_check_status_response`]; with `fail_on_failure` the status URL
    /// carries `returnInternalServerErrorOnFailure=true`.
    pub fn check_status_response(
        &self,
        req: &HttpRequest,
        instance_id: &str,
        fail_on_failure: bool,
    ) -> HttpResponse {
        let mut payload = self.create_http_management_payload(req, instance_id);
        payload.rewind_post_uri = None;
        if fail_on_failure {
            payload
                .status_query_get_uri
                .push_str("&returnInternalServerErrorOnFailure=true");
        }
        let location = payload.status_query_get_uri.clone();
        HttpResponse::json(StatusCode::ACCEPTED, &payload)
            .with_header(LOCATION, &location)
            .with_header(RETRY_AFTER, "10")
    }

    /// Waits up to `timeout` for the instance to finish, then answers like the extension:
    /// Completed → 200 with the output as body; Failed/Canceled/Terminated → 200
    /// with the status object (Failed → 500 when the request asks for
    /// `returnInternalServerErrorOnFailure`); still running or unknown → the 202
    /// check-status response.
    ///
    /// Completions on this host wake the wait at once; `retry_interval` (at least 1 s) is
    /// only the fallback poll that notices completions made by other hosts.
    pub async fn wait_for_completion_or_create_check_status_response(
        &self,
        req: &HttpRequest,
        instance_id: &str,
        timeout: Duration,
        retry_interval: Duration,
    ) -> Result<HttpResponse, ClientError> {
        if retry_interval > timeout {
            return Err(ClientError::InvalidArgument(format!(
                "the total timeout {} s must not be shorter than the retry interval {} s",
                timeout.as_secs_f64(),
                retry_interval.as_secs_f64()
            )));
        }
        let fail_on_failure = req
            .query_param("returnInternalServerErrorOnFailure")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let fallback = retry_interval.max(Duration::from_secs(1));
        match self.wait_terminal(instance_id, timeout, fallback).await? {
            Some(state) => Ok(finished_response(&state, fail_on_failure)),
            None => Ok(self.check_status_response(req, instance_id, fail_on_failure)),
        }
    }

    /// Waits for a terminal status: woken by this host's completion notifications, polling
    /// the store every `fallback_poll` for completions elsewhere. `None` on timeout.
    pub(crate) async fn wait_terminal(
        &self,
        instance_id: &str,
        timeout: Duration,
        fallback_poll: Duration,
    ) -> Result<Option<InstanceState>, ClientError> {
        // A timeout too long to add to the clock waits as long as the clock can say.
        let start = tokio::time::Instant::now();
        let deadline = start
            .checked_add(timeout)
            .unwrap_or_else(|| start + FAR_FUTURE);
        let watch = self.completions.watch(instance_id);
        loop {
            let woken = watch.notify().notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(inst) = self.store.get_instance(instance_id).await? {
                if inst.status.is_terminal() {
                    return Ok(Some(inst));
                }
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let poll_at = now
                .checked_add(fallback_poll)
                .map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep_until(poll_at) => {}
            }
        }
    }
}

/// The response for a finished instance (§4.5).
fn finished_response(state: &InstanceState, fail_on_failure: bool) -> HttpResponse {
    match state.status {
        OrchestrationStatus::Completed => HttpResponse::new(StatusCode::OK)
            .with_header(CONTENT_TYPE, "application/json; charset=utf-8")
            .with_body(state.output.clone().unwrap_or_else(|| "null".to_string())),
        status => {
            let code = if status == OrchestrationStatus::Failed && fail_on_failure {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            };
            HttpResponse::json(code, &DurableOrchestrationStatus::from_state(state, true))
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[test]
    fn form_encoding_matches_webutility() {
        assert_eq!(form_encode("a b/c?d=é"), "a+b%2Fc%3Fd%3D%C3%A9");
        assert_eq!(form_encode("x-_.!*()9"), "x-_.!*()9");
    }

    #[test]
    fn bases_from_text_and_requests() {
        assert_eq!(
            "http://h:1".webhook_base(),
            "http://h:1/runtime/webhooks/durabletask"
        );
        assert_eq!(
            "http://h:1/runtime/webhooks/durabletask/".webhook_base(),
            "http://h:1/runtime/webhooks/durabletask"
        );
        let mut req = HttpRequest::new(Method::GET, "/api/start".parse().unwrap());
        req.headers
            .insert("host", "example.org:8080".parse().unwrap());
        assert_eq!(
            req.webhook_base(),
            "http://example.org:8080/runtime/webhooks/durabletask"
        );
        let abs = HttpRequest::new(Method::GET, "https://a.b/x?y=1".parse().unwrap());
        assert_eq!(request_url(&abs), "https://a.b/x?y=1");
    }
}
