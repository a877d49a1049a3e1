//! Sync over async: `GET /api/weather` starts an orchestration that waits for an external
//! event and answers with its payload; the reply arrives by
//! `POST /api/weather-results/{requestId}` or, built with the `azure` (or `s3`) feature, as
//! the blob (or S3 object) `weather-results/{requestId}.txt` written by an outside system. If
//! nothing arrives in time the GET answers 202 with the check-status response, and the
//! orchestration goes on waiting for the reply.

use std::time::Duration;

use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{
    activity_trigger, durable_client, http_trigger, orchestration_trigger, ClientError,
    DurableClient, Failure, OrchestrationContext,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the orchestration asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WeatherRequest {
    /// Correlates the reply with the request (also the instance id).
    pub request_id: String,
    /// The city.
    pub city: String,
}

/// Hands the request to the outside world (here: a log line naming the reply URL).
#[activity_trigger]
pub async fn request_weather_report(request: WeatherRequest) -> Result<(), Failure> {
    tracing::info!(
        request_id = %request.request_id,
        city = %request.city,
        "weather requested; reply with POST /api/weather-results/{} or the blob weather-results/{}.txt",
        request.request_id,
        request.request_id
    );
    Ok(())
}

/// Asks for a report and returns it when it arrives.
#[orchestration_trigger]
pub async fn weather(
    ctx: OrchestrationContext,
    request: WeatherRequest,
) -> Result<serde_json::Value, Failure> {
    ctx.call_activity(request_weather_report, request).await?;
    Ok(ctx.wait_for_external_event("WeatherResult").await?)
}

/// Default wait of `GET /api/weather`, overridden by the `WeatherWaitSeconds` app setting or
/// the `timeout` query parameter.
pub const DEFAULT_WAIT_SECONDS: u64 = 60;

/// The longest a caller may ask the request to wait (an hour).
const MAX_WAIT_SECONDS: u64 = 3600;

/// The query of `GET /api/weather`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
// Describes the query in the OpenAPI document; the function reads it with `query_param`.
#[allow(dead_code)]
pub struct WeatherQuery {
    /// The city (default: Seattle).
    pub city: Option<String>,
    /// Correlates the reply with the request; also the instance id (default: a new id), so
    /// at most 256 characters, none of `/ \ # ?` or control characters, no leading `@`.
    #[schemars(
        length(min = 1, max = 256),
        pattern(r"^[^@/\\#?\x00-\x1f\x7f-\x9f][^/\\#?\x00-\x1f\x7f-\x9f]*$")
    )]
    pub request_id: Option<String>,
    /// Seconds to wait for the reply (default: the `WeatherWaitSeconds` app setting, or 60).
    #[schemars(range(max = 3600))]
    pub timeout: Option<u64>,
}

/// `GET /api/weather?city=...&requestId=...&timeout=...`: starts the request's orchestration
/// and answers with the reply when it arrives in time, else with the check-status response.
#[http_trigger(
    methods = ["get"],
    route = "weather",
    auth_level = anonymous,
    operation_id = "getWeather",
    summary = "Asks for a weather report and waits for the reply",
    tags = ["weather"],
    query = WeatherQuery,
    response_body = serde_json::Value,
    responses = [400, 409, 503],
    starts_orchestration = true,
)]
pub async fn get_weather(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> HttpResponse {
    let request_id = req
        .query_param("requestId")
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let city = req.query_param("city").unwrap_or("Seattle").to_string();
    // Checked before anything starts: a bad timeout is the caller's error.
    let wait = match req.query_param("timeout") {
        Some(t) => match t.parse::<u64>() {
            Ok(s) if s <= MAX_WAIT_SECONDS => s,
            _ => {
                return HttpResponse::error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                    "timeout must be a whole number of seconds up to {MAX_WAIT_SECONDS}, not {t:?}"
                ),
                )
            }
        },
        None => std::env::var("WeatherWaitSeconds")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(DEFAULT_WAIT_SECONDS, |s: u64| s.min(MAX_WAIT_SECONDS)),
    };
    let request = WeatherRequest {
        request_id: request_id.clone(),
        city,
    };
    if let Err(e) = client.start_with_id(weather, &request_id, request).await {
        let status = match e {
            ClientError::InvalidInstanceId { .. } => StatusCode::BAD_REQUEST,
            ClientError::AlreadyExists { .. } => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        return HttpResponse::error(status, &e.to_string());
    }
    // The reply as soon as it arrives; after `wait` the check-status response, and the
    // caller polls for the reply (the orchestration goes on waiting for it).
    let wait = Duration::from_secs(wait);
    match client
        .wait_for_completion_or_create_check_status_response(
            &req,
            &request_id,
            wait,
            wait.min(Duration::from_secs(1)),
        )
        .await
    {
        Ok(response) => response,
        Err(e) => HttpResponse::error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// `POST /api/weather-results/{requestId}` with the report as JSON: raises it on the waiting
/// orchestration.
#[http_trigger(
    methods = ["post"],
    route = "weather-results/{requestId}",
    auth_level = anonymous,
    operation_id = "postWeatherResult",
    summary = "Delivers the weather report a request waits for",
    tags = ["weather"],
    request_body = serde_json::Value,
    responses = [(202, ()), 400, 404, 410],
)]
pub async fn post_weather_result(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> HttpResponse {
    let report: serde_json::Value = match req.json() {
        Ok(r) => r,
        Err(e) => return HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let id = req.param("requestId").unwrap_or_default();
    match client.raise_event(id, "WeatherResult", &report).await {
        Ok(()) => HttpResponse::new(StatusCode::ACCEPTED),
        Err(ClientError::NotFound(_)) => {
            HttpResponse::error(StatusCode::NOT_FOUND, "no such request")
        }
        Err(e @ ClientError::WrongStatus { .. }) => {
            HttpResponse::error(StatusCode::GONE, &e.to_string())
        }
        Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// The blob `weather-results/{requestId}.txt`, written by an outside system: raises its text
/// on the waiting orchestration. Only with the `azure` feature, since it needs a storage
/// account (`AzureWebJobsStorage`); the default build keeps the HTTP reply alone.
#[cfg(feature = "azure")]
#[durable::blob_trigger(path = "weather-results/{requestId}.txt")]
pub async fn weather_result_blob(
    report: String,
    info: durable::app::BlobInfo,
    #[durable_client] client: DurableClient,
) -> Result<(), Failure> {
    deliver_report(report, &info, &client).await
}

/// The same reply as an object `weather-results/{requestId}.txt` in an S3 bucket (Amazon S3
/// or an S3-compatible store), with the `s3` feature: the connection `WeatherResultsS3` is
/// `Provider=S3;...` (docs/host.md). The function is the Azure one with another connection.
#[cfg(feature = "s3")]
#[durable::blob_trigger(
    path = "weather-results/{requestId}.txt",
    connection = "WeatherResultsS3"
)]
pub async fn weather_result_s3(
    report: String,
    info: durable::app::BlobInfo,
    #[durable_client] client: DurableClient,
) -> Result<(), Failure> {
    deliver_report(report, &info, &client).await
}

/// Raises a report that arrived as a blob on the orchestration waiting for it.
#[cfg(any(feature = "azure", feature = "s3"))]
async fn deliver_report(
    report: String,
    info: &durable::app::BlobInfo,
    client: &DurableClient,
) -> Result<(), Failure> {
    let id = info.param("requestId").unwrap_or_default();
    match client.raise_event(id, "WeatherResult", &report).await {
        Ok(()) => Ok(()),
        // Nobody waits for this report (any more): running again would not change that.
        Err(e @ (ClientError::NotFound(_) | ClientError::WrongStatus { .. })) => {
            tracing::warn!(request_id = id, error = %e, "a weather report nobody waits for");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
