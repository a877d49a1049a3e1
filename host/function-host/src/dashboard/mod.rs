//! The dashboard at `/dashboard/`: a page of the host's own (embedded, no build step, nothing
//! fetched from elsewhere) that lists instances, shows one with its history as a timeline,
//! lists entities, and acts on them.
//!
//! The page itself holds no data and is served to anyone. What it shows comes from the
//! management API and from `/dashboard/api/`, both protected alike: open in local development
//! mode, otherwise the durabletask system key or the master key, which the page asks for once
//! and sends in the `x-functions-key` header (never in a URL).

mod api;
mod assets;

use http::{Method, StatusCode};

use crate::http_api::DurableApi;
use durable_http::{HttpRequest, HttpResponse};

/// Where the dashboard is served.
pub const DASHBOARD_PATH: &str = "/dashboard";

/// Answers a request below [`DASHBOARD_PATH`] (`rest`: the path after it); `authorized`:
/// whether the request may read and change the task hub.
pub async fn serve(
    api: &DurableApi,
    rest: &str,
    req: &HttpRequest,
    authorized: bool,
) -> HttpResponse {
    if req.method != Method::GET && req.method != Method::HEAD {
        return HttpResponse::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "the dashboard answers GET; its actions go to the management API",
        )
        .with_header(http::header::ALLOW, "GET, HEAD");
    }
    if rest == "/api/access" {
        // Asked first, so that a page without the key finds out without a failed request.
        return HttpResponse::ok_json(&serde_json::json!({
            "authorized": authorized,
            "newestFirst": api.client.store().lists_newest_first(),
        }));
    }
    if let Some(call) = rest.strip_prefix("/api/") {
        if !authorized {
            return HttpResponse::error(
                StatusCode::UNAUTHORIZED,
                "the dashboard's data needs the durabletask system key or the master key, as \
                 the x-functions-key header",
            );
        }
        return api::answer(api, call, req).await;
    }
    match rest {
        // Relative asset paths resolve below /dashboard/ only with the slash.
        "" => HttpResponse::new(StatusCode::PERMANENT_REDIRECT)
            .with_header(http::header::LOCATION, "/dashboard/"),
        "/" => assets::answer("index.html"),
        other => assets::answer(other.trim_start_matches('/')),
    }
}
