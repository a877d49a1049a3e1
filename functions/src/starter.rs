//! The generic starter of the Durable Functions docs: `POST /api/orchestrators/{functionName}`
//! starts any orchestrator with the request body as input and answers with the check-status
//! response.

use std::sync::OnceLock;

use durable::app::FunctionApp;
use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{durable_client, http_trigger, DurableClient};

fn is_orchestrator(name: &str) -> bool {
    static APP: OnceLock<Option<FunctionApp>> = OnceLock::new();
    APP.get_or_init(|| FunctionApp::collect().ok())
        .as_ref()
        .is_some_and(|app| app.registry.has_orchestrator(name))
}

/// Starts the orchestrator `functionName` with the JSON body (or `null` when there is none)
/// as its input, and answers with the check-status response.
#[http_trigger(
    methods = ["post"],
    route = "orchestrators/{functionName}",
    auth_level = anonymous,
    operation_id = "startOrchestration",
    summary = "Starts an orchestration",
    tags = ["orchestrations"],
    request_body = Option<serde_json::Value>,
    responses = [400],
    starts_orchestration = true,
)]
pub async fn http_start(req: HttpRequest, #[durable_client] client: DurableClient) -> HttpResponse {
    let name = req.param("functionName").unwrap_or_default().to_string();
    if !is_orchestrator(&name) {
        return HttpResponse::error(
            StatusCode::BAD_REQUEST,
            &format!("no orchestrator named {name:?} is registered"),
        );
    }
    let input: serde_json::Value = if req.body.is_empty() {
        serde_json::Value::Null
    } else {
        match req.json() {
            Ok(v) => v,
            Err(e) => return HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
        }
    };
    match client.start_new(&name, None, &input).await {
        Ok(id) => {
            tracing::info!(instance_id = %id, orchestrator = %name, "started");
            client.create_check_status_response(&req, &id)
        }
        Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}
