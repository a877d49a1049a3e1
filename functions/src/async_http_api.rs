//! Async HTTP API ("call for speakers"): `POST /api/submissions` starts a review chain and
//! answers 202 at once; `GET /api/submissions/{id}` reports the minimal status while it runs.

use std::time::Duration;

use durable::client::{InstanceAccepted, InstanceSummary};
use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{
    activity_trigger, durable_client, http_trigger, orchestration_trigger, DurableClient, Failure,
    OrchestrationContext,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A talk proposal.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Submission {
    /// Talk title (not blank).
    #[schemars(pattern(r"\S"))]
    pub title: String,
    /// Who gives the talk (not blank).
    #[schemars(pattern(r"\S"))]
    pub speaker: String,
}

/// The review stages, in order.
pub const STAGES: [&str; 3] = ["screening", "technical review", "program committee"];

/// One review stage (here: a short pause standing in for reviewers).
#[activity_trigger]
pub async fn review_stage(stage: (Submission, String)) -> Result<String, Failure> {
    let (submission, stage) = stage;
    tokio::time::sleep(Duration::from_millis(300)).await;
    tracing::info!(title = %submission.title, %stage, "stage passed");
    Ok(format!("{stage}: passed"))
}

/// Runs the stages one after another, publishing the current stage as custom status.
#[orchestration_trigger]
pub async fn process_submission(
    ctx: OrchestrationContext,
    submission: Submission,
) -> Result<serde_json::Value, Failure> {
    let mut notes = Vec::new();
    for (i, stage) in STAGES.iter().enumerate() {
        ctx.set_custom_status(&json!({ "stage": stage, "completedStages": i }));
        notes.push(
            ctx.call_activity(review_stage, (submission.clone(), stage.to_string()))
                .await?,
        );
    }
    ctx.set_custom_status(&json!({ "stage": "done", "completedStages": STAGES.len() }));
    Ok(json!({ "title": submission.title, "decision": "accepted", "notes": notes }))
}

/// `POST /api/submissions`: validates the proposal and starts its review; the answer points
/// at `GET /api/submissions/{id}`.
#[http_trigger(
    methods = ["post"],
    route = "submissions",
    auth_level = anonymous,
    operation_id = "submitTalk",
    summary = "Submits a talk proposal for review",
    tags = ["submissions"],
    request_body = Submission,
    responses = [(202, InstanceAccepted), 400],
)]
pub async fn submit_talk(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> HttpResponse {
    let submission: Submission = match req.json() {
        Ok(s) => s,
        Err(e) => return HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    if submission.title.trim().is_empty() || submission.speaker.trim().is_empty() {
        return HttpResponse::error(StatusCode::BAD_REQUEST, "title and speaker are required");
    }
    match client.start(process_submission, submission).await {
        // The status URL is this app's own route and carries no key (a check-status response
        // would hand every caller the system key).
        Ok(id) => client.accepted_at(&req, &id, "/api/submissions/{id}"),
        Err(e) => HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `GET /api/submissions/{id}`: the minimal status, without management URLs or keys: 200
/// once the review has ended, 202 while it runs.
#[http_trigger(
    methods = ["get"],
    route = "submissions/{id}",
    auth_level = anonymous,
    operation_id = "getSubmission",
    summary = "Reports a submission's review status",
    tags = ["submissions"],
    responses = [(200, InstanceSummary), (202, InstanceSummary), 404, 503],
)]
pub async fn submission_status(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> HttpResponse {
    let id = req.param("id").unwrap_or_default().to_string();
    client.status_at(&req, &id).await
}
