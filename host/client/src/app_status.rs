//! Status answers on an app's own routes, without management URLs or keys.
//!
//! A check-status response ([`DurableClient::create_check_status_response`]) carries the
//! durabletask system key in its management URLs, as Durable Functions does: whoever gets one
//! can list, terminate and purge every instance of the task hub. An anonymous HTTP function
//! should not hand that to its callers. These two answers point callers at a status route of
//! the app itself instead, and tell them only the instance's status.

use http::header::{LOCATION, RETRY_AFTER};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::management::{request_origin, request_url};
use super::DurableClient;
use durable_http::{HttpRequest, HttpResponse};

/// The body of [`DurableClient::accepted_at`]: the instance and where its status is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAccepted {
    /// The instance id.
    pub id: String,
    /// The app's own status URL of the instance (also the `Location` header).
    pub status_uri: String,
}

/// The body of [`DurableClient::status_at`]: an instance's status without management URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSummary {
    /// The instance id.
    pub id: String,
    /// `Pending`, `Running`, `Completed`, `ContinuedAsNew`, `Failed`, `Canceled`,
    /// `Terminated` or `Suspended`.
    pub runtime_status: String,
    /// What the orchestrator last set with `set_custom_status` (`null` if nothing).
    pub custom_status: Value,
    /// The output once it has finished (`null` before).
    pub output: Value,
}

/// How soon a caller should ask again while an instance runs, in seconds.
const RETRY_AFTER_SECONDS: &str = "1";

impl DurableClient {
    /// 202 Accepted for a started instance whose status is served by the app's own route
    /// `status_route`, a path with `{id}` where the (URL-encoded) instance id goes, e.g.
    /// `/api/submissions/{id}`. The URL is absolute on the request's origin and carries no
    /// key: body `{"id", "statusUri"}`, headers `Location` and `Retry-After`.
    pub fn accepted_at(
        &self,
        req: &HttpRequest,
        instance_id: &str,
        status_route: &str,
    ) -> HttpResponse {
        let path = status_route.replace("{id}", &path_segment(instance_id));
        let url = format!("{}/{}", request_origin(req), path.trim_start_matches('/'));
        let body = InstanceAccepted {
            id: instance_id.to_string(),
            status_uri: url.clone(),
        };
        HttpResponse::json(StatusCode::ACCEPTED, &body)
            .with_header(LOCATION, &url)
            .with_header(RETRY_AFTER, RETRY_AFTER_SECONDS)
    }

    /// The answer of an app's own status route for `instance_id`: 404 when there is no such
    /// instance; `{"id", "runtimeStatus", "customStatus", "output"}` with 200 once it has
    /// finished, or with 202, `Location` (this request's URL) and `Retry-After` while it
    /// runs; 503 when the task hub cannot be read.
    pub async fn status_at(&self, req: &HttpRequest, instance_id: &str) -> HttpResponse {
        let status = match self.get_status(instance_id).await {
            Ok(Some(status)) => status,
            Ok(None) => return HttpResponse::error(StatusCode::NOT_FOUND, "no such instance"),
            Err(e) => {
                return HttpResponse::error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
                    .with_header(RETRY_AFTER, RETRY_AFTER_SECONDS)
            }
        };
        let body = InstanceSummary {
            id: status.instance_id,
            runtime_status: status.runtime_status.name().to_string(),
            custom_status: status.custom_status,
            output: status.output,
        };
        if status.runtime_status.is_terminal() {
            HttpResponse::ok_json(&body)
        } else {
            HttpResponse::json(StatusCode::ACCEPTED, &body)
                .with_header(LOCATION, &request_url(req))
                .with_header(RETRY_AFTER, RETRY_AFTER_SECONDS)
        }
    }
}

/// `text` as one URL path segment: unreserved characters (RFC 3986) stay, the rest is `%XX`
/// of its UTF-8 bytes.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn ids_become_one_path_segment() {
        assert_eq!(path_segment("a1-b_c.d~e"), "a1-b_c.d~e");
        assert_eq!(path_segment("a b/c?é"), "a%20b%2Fc%3F%C3%A9");
    }
}
