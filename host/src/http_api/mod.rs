//! The built-in Durable Functions HTTP API under `/runtime/webhooks/durabletask/` (spec §4).

use std::sync::Arc;

use http::StatusCode;

use crate::app::FunctionApp;
use crate::client::DurableClient;
use crate::http::{HttpRequest, HttpResponse};

/// Everything the management API needs.
#[derive(Clone)]
pub struct DurableApi {
    /// The client (its management config gives hub name, connection and system key).
    pub client: DurableClient,
    /// The app's functions (to reject unknown orchestrators).
    pub app: Arc<FunctionApp>,
}

/// The webhook path prefix.
pub const WEBHOOK_PATH: &str = "/runtime/webhooks/durabletask";

/// Handles one request; `path` is the part after [`WEBHOOK_PATH`] (e.g. `/instances/abc`).
/// Authorization has been checked by the server.
pub async fn handle(api: &DurableApi, path: &str, req: HttpRequest) -> HttpResponse {
    let _ = (api, path, req);
    HttpResponse::new(StatusCode::NOT_FOUND)
}
