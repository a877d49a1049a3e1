//! Every `#[http_trigger]` form. The functions stay callable as written.
#![deny(warnings)]

use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{durable_client, http_trigger, DurableClient};

/// All arguments, the client marker imported.
#[http_trigger(methods = ["get", "POST"], route = "weather-results/{requestId}", auth_level = anonymous)]
pub async fn weather_results(req: HttpRequest, #[durable_client] client: DurableClient) -> HttpResponse {
    let id = req.param("requestId").unwrap_or_default();
    match client.get_status(id).await {
        Ok(Some(status)) => HttpResponse::text(StatusCode::OK, status.runtime_status.name()),
        Ok(None) => HttpResponse::error(StatusCode::NOT_FOUND, "no such request"),
        Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// No arguments at all: any method, route = the function name, `function` auth level.
#[http_trigger]
async fn hello(_req: HttpRequest) -> &'static str {
    "hello"
}

/// Client first, by full path; a `Result` response; renamed; auth level as a string.
#[http_trigger(name = "StartIt", auth_level = "admin", methods = ["post"])]
async fn start_it(
    #[durable::durable_client] client: DurableClient,
    req: durable::http::HttpRequest,
) -> Result<String, durable::ClientError> {
    let name = req.text().unwrap_or("hello_cities").to_string();
    client.start_new(&name, None, &()).await
}

/// A JSON response and the `function` level written out.
#[http_trigger(auth_level = function, route = "items/{id:int?}")]
async fn item(req: HttpRequest) -> serde_json::Value {
    serde_json::json!({ "id": req.param("id") })
}

fn main() {
    // Still ordinary functions.
    let _ = hello(HttpRequest::new(durable::http::Method::GET, "/api/hello".parse().unwrap()));
    let _ = item;
}
