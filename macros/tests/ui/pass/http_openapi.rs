//! The OpenAPI arguments of `#[http_trigger]`: ids, summary, tags, query and body types, the
//! answers, and orchestration starters.
#![deny(warnings)]

use std::collections::HashMap;

use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::schemars::JsonSchema;
use durable::{durable_client, http_trigger, DurableClient};
use serde::{Deserialize, Serialize};

/// An order, as callers send it.
#[derive(Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "durable::schemars")]
pub struct Order {
    /// What is ordered.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// The query of the order list.
#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "durable::schemars")]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// At most this many.
    pub page_size: Option<u32>,
}

/// Places an order.
///
/// The order starts an orchestration; the answer is its check-status response.
#[http_trigger(
    methods = ["post"],
    route = "orders",
    auth_level = function,
    operation_id = "placeOrder",
    summary = "Places an order",
    tags = ["orders"],
    request_body = Order,
    responses = [400, 409],
    starts_orchestration = true,
)]
pub async fn place_order(req: HttpRequest, #[durable_client] client: DurableClient) -> HttpResponse {
    let order: Order = match req.json() {
        Ok(o) => o,
        Err(e) => return HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match client.start_new("fulfil", None, &order).await {
        Ok(id) => client.create_check_status_response(&req, &id),
        Err(e) => HttpResponse::error(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// Generic and unit types, an optional body, statuses with and without bodies.
#[http_trigger(
    methods = ["get", "put"],
    route = "orders/{page:int}",
    query = ListQuery,
    request_body = Option<Vec<Order>>,
    response_body = HashMap<String, Vec<Order>>,
    responses = [(201, Vec<Order>), (204, ()), 404, (409, serde_json::Value)],
)]
async fn list_orders(_req: HttpRequest) -> serde_json::Value {
    serde_json::json!({})
}

/// A starter with nothing else said: the 202 is described, nothing more.
#[http_trigger(starts_orchestration = false, tags = [])]
async fn quiet(_req: HttpRequest) -> &'static str {
    "quiet"
}

fn main() {
    let _ = list_orders;
    let _ = quiet;
}
