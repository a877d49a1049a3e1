//! `GET /instances[/{id}]` and `DELETE /instances[/{id}]`: status, query and purge.

use http::header::{HeaderName, LOCATION, RETRY_AFTER};
use http::StatusCode;
use serde_json::Value;

use super::params::{bool_param, page_size_param, statuses_param, tags_param, time_range};
use super::{bad_request, lookup, DurableApi};
use durable_client::management::request_url;
use durable_client::{ClientError, StatusOptions};
use durable_engine::history::OrchestrationStatus;
use durable_http::{HttpRequest, HttpResponse};
use durable_store::{InstanceOrder, InstanceQuery, PurgeFilter};

/// The continuation header, in requests and responses.
pub const CONTINUATION_HEADER: &str = "x-ms-continuation-token";

/// `GET /instances/{id}`.
pub(super) async fn status(
    api: &DurableApi,
    req: &HttpRequest,
    segment: &str,
) -> Result<HttpResponse, ClientError> {
    let flags = || -> Result<(StatusOptions, bool), String> {
        let options = StatusOptions {
            show_history: bool_param(req, "showHistory", false)?,
            show_history_output: bool_param(req, "showHistoryOutput", false)?,
            show_input: bool_param(req, "showInput", true)?,
        };
        Ok((
            options,
            bool_param(req, "returnInternalServerErrorOnFailure", false)?,
        ))
    };
    let (options, fail_on_failure) = match flags() {
        Ok(f) => f,
        Err(message) => return Ok(bad_request(&message)),
    };
    let Some(found) = lookup(api, segment).await? else {
        return Ok(HttpResponse::new(StatusCode::NOT_FOUND));
    };
    let Some(status) = api
        .client
        .get_status_with(&found.instance_id, options)
        .await?
    else {
        return Ok(HttpResponse::new(StatusCode::NOT_FOUND));
    };
    Ok(match status.runtime_status {
        OrchestrationStatus::Running
        | OrchestrationStatus::Pending
        | OrchestrationStatus::ContinuedAsNew
        | OrchestrationStatus::Suspended => HttpResponse::json(StatusCode::ACCEPTED, &status)
            .with_header(LOCATION, &request_url(req))
            .with_header(RETRY_AFTER, "5"),
        OrchestrationStatus::Failed if fail_on_failure => {
            HttpResponse::json(StatusCode::INTERNAL_SERVER_ERROR, &status)
        }
        OrchestrationStatus::Completed
        | OrchestrationStatus::Canceled
        | OrchestrationStatus::Terminated
        | OrchestrationStatus::Failed => HttpResponse::json(StatusCode::OK, &status),
    })
}

/// `GET /instances`: one page of status objects, the next page's token in
/// `x-ms-continuation-token` (empty on the last page).
pub(super) async fn query(
    api: &DurableApi,
    req: &HttpRequest,
) -> Result<HttpResponse, ClientError> {
    let query = match instance_query(req) {
        Ok(q) => q,
        Err(response) => return Ok(*response),
    };
    let page = api.client.list_instances(&query).await?;
    Ok(HttpResponse::ok_json(&page.statuses).with_header(
        HeaderName::from_static(CONTINUATION_HEADER),
        page.continuation.as_deref().unwrap_or(""),
    ))
}

/// The filter of an instance listing: `runtimeStatus`, `createdTimeFrom`, `createdTimeTo`,
/// `instanceIdPrefix`, and, extensions of this host, `name` (the orchestrator's, exactly) and
/// `order` (`instanceId`, the default, or `newest`: created most recently first, where the
/// store can), `top`, `showInput`, `tag.<key>=<value>` (repeated: instances with every one of
/// these tags), and the `x-ms-continuation-token` header; a 400 for an unknown status or
/// order.
pub fn instance_query(req: &HttpRequest) -> Result<InstanceQuery, Box<HttpResponse>> {
    let statuses = statuses_param(req).map_err(|name| Box::new(bad_status(&name)))?;
    let continuation = req
        .header(CONTINUATION_HEADER)
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "null")
        .map(str::to_string);
    let text = |name: &str| {
        req.query_param(name)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    };
    let bad = |message: String| Box::new(bad_request(&message));
    let (created_from, created_to) =
        time_range(req, "createdTimeFrom", "createdTimeTo").map_err(bad)?;
    Ok(InstanceQuery {
        statuses,
        created_from,
        created_to,
        instance_id_prefix: text("instanceIdPrefix"),
        name: text("name"),
        order: match text("order").as_deref() {
            Some("newest") => InstanceOrder::NewestFirst,
            Some("instanceId") | None => InstanceOrder::InstanceId,
            Some(other) => {
                return Err(Box::new(bad_request(&format!(
                    "order must be newest or instanceId, not {other:?}"
                ))))
            }
        },
        exclude_entities: false,
        page_size: page_size_param(req, "top").map_err(bad)?.unwrap_or(100),
        continuation,
        skip_inputs: !bool_param(req, "showInput", true).map_err(bad)?,
        tags: tags_param(req).map_err(bad)?,
    })
}

/// `DELETE /instances/{id}[?recursive=true]`: with `recursive`, its sub-orchestrations too.
pub(super) async fn purge(
    api: &DurableApi,
    req: &HttpRequest,
    segment: &str,
) -> Result<HttpResponse, ClientError> {
    let recursive = match bool_param(req, "recursive", false) {
        Ok(r) => r,
        Err(message) => return Ok(bad_request(&message)),
    };
    let Some(found) = lookup(api, segment).await? else {
        return Ok(HttpResponse::new(StatusCode::NOT_FOUND));
    };
    let id = &found.instance_id;
    let result = if recursive {
        api.client.purge_instance_history_recursive(id).await?
    } else {
        api.client.purge_instance_history(id).await?
    };
    if result.instances_deleted == 0 {
        return Ok(HttpResponse::new(StatusCode::NOT_FOUND));
    }
    Ok(HttpResponse::ok_json(&result))
}

/// `DELETE /instances`: purge terminal instances created in a range.
pub(super) async fn purge_by_filter(
    api: &DurableApi,
    req: &HttpRequest,
) -> Result<HttpResponse, ClientError> {
    let (created_from, created_to) = match time_range(req, "createdTimeFrom", "createdTimeTo") {
        Ok(range) => range,
        Err(message) => return Ok(bad_request(&message)),
    };
    let Some(created_from) = created_from else {
        return Ok(HttpResponse::json(
            StatusCode::BAD_REQUEST,
            &Value::String("Please provide value for 'createdTimeFrom' parameter.".into()),
        ));
    };
    let statuses = match statuses_param(req) {
        Ok(s) => s,
        Err(name) => return Ok(bad_status(&name)),
    };
    let filter = PurgeFilter {
        created_from: Some(created_from),
        created_to: Some(created_to.unwrap_or_else(chrono::Utc::now)),
        statuses,
    };
    let result = api.client.purge_instance_history_by(&filter).await?;
    if result.instances_deleted == 0 {
        return Ok(HttpResponse::new(StatusCode::NOT_FOUND));
    }
    Ok(HttpResponse::ok_json(&result))
}

fn bad_status(name: &str) -> HttpResponse {
    bad_request(&format!(
        "Requested value '{name}' was not found: runtimeStatus must be one of Running, \
         Completed, ContinuedAsNew, Failed, Canceled, Terminated, Pending, Suspended."
    ))
}
