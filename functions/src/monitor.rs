//! Monitor: poll a job's status on a durable timer until it reports "Completed" or the monitor
//! expires, then send an alert. Jobs live on an in-memory job board that an HTTP function
//! updates, standing in for an external system.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{
    activity_trigger, http_trigger, orchestration_trigger, Failure, OrchestrationContext,
};
use serde::{Deserialize, Serialize};

/// What to watch and for how long.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorRequest {
    /// The job to watch.
    pub job_id: String,
    /// Seconds between checks (default 5).
    #[serde(default)]
    pub polling_interval_seconds: Option<u64>,
    /// Seconds until the monitor gives up (default 3600).
    #[serde(default)]
    pub expiry_seconds: Option<u64>,
}

fn job_board() -> &'static Mutex<HashMap<String, String>> {
    static BOARD: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    BOARD.get_or_init(Default::default)
}

/// Reads a job's status from the job board ("Running" until marked otherwise).
#[activity_trigger]
pub async fn get_job_status(job_id: String) -> Result<String, Failure> {
    let board = job_board()
        .lock()
        .map_err(|_| Failure::msg("job board poisoned"))?;
    Ok(board
        .get(&job_id)
        .cloned()
        .unwrap_or_else(|| "Running".into()))
}

/// Sends the completion alert (here: a log line).
#[activity_trigger]
pub async fn send_alert(message: String) -> Result<(), Failure> {
    tracing::info!(%message, "alert sent");
    Ok(())
}

/// Watches a job; returns `{"job_id", "outcome": "completed" | "expired", "checks"}`.
#[orchestration_trigger]
pub async fn monitor_job(
    ctx: OrchestrationContext,
    request: MonitorRequest,
) -> Result<serde_json::Value, Failure> {
    let interval = Duration::from_secs(request.polling_interval_seconds.unwrap_or(5));
    let expires = ctx.current_utc_datetime()
        + chrono::Duration::seconds(request.expiry_seconds.unwrap_or(3600) as i64);
    let mut checks = 0;
    while ctx.current_utc_datetime() < expires {
        checks += 1;
        let status = ctx
            .call_activity(get_job_status, request.job_id.clone())
            .await?;
        if status == "Completed" {
            ctx.call_activity(send_alert, format!("job {} completed", request.job_id))
                .await?;
            return Ok(
                serde_json::json!({ "job_id": request.job_id, "outcome": "completed", "checks": checks }),
            );
        }
        ctx.sleep(interval).await;
    }
    Ok(serde_json::json!({ "job_id": request.job_id, "outcome": "expired", "checks": checks }))
}

/// `POST /api/jobs/{jobId}/status` with a JSON string body such as `"Completed"`: updates the
/// job board, as the external system would.
#[http_trigger(
    methods = ["post"],
    route = "jobs/{jobId}/status",
    auth_level = anonymous,
    operation_id = "setJobStatus",
    summary = "Sets a job's status on the job board",
    tags = ["monitor"],
    request_body = String,
    responses = [(204, ()), 400],
)]
pub async fn set_job_status(req: HttpRequest) -> HttpResponse {
    let status: String = match req.json() {
        Ok(s) => s,
        Err(e) => return HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let id = req.param("jobId").unwrap_or_default().to_string();
    match job_board().lock() {
        Ok(mut board) => {
            board.insert(id, status);
            HttpResponse::new(StatusCode::NO_CONTENT)
        }
        Err(_) => HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, "job board poisoned"),
    }
}
