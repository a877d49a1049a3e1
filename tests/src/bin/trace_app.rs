//! The function app of the tracing test (`tests/tests/traces.rs`): Hello cities started from
//! an HTTP function, with a pause for an external event (so the test can restart the host in
//! the middle), a durable timer and a sub-orchestration.

use std::time::Duration;

use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{
    activity_trigger, durable_client, http_trigger, orchestration_trigger, DurableClient, Failure,
    OrchestrationContext,
};

/// Greets one city.
#[activity_trigger]
async fn say_hello(city: String) -> Result<String, Failure> {
    Ok(format!("Hello {city}!"))
}

/// Says goodbye to London, as a sub-orchestration.
#[orchestration_trigger]
async fn farewell(ctx: OrchestrationContext) -> Result<String, Failure> {
    Ok(ctx.call_activity(say_hello, "London").await?)
}

/// Greets Tokyo, waits for `continue`, sleeps a durable half second, greets Seattle and has
/// [`farewell`] greet London.
#[orchestration_trigger]
async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, Failure> {
    let mut greetings = vec![ctx.call_activity(say_hello, "Tokyo").await?];
    let _: () = ctx.wait_for_external_event("continue").await?;
    let at = ctx.current_utc_datetime() + Duration::from_millis(500);
    ctx.create_timer(at).await;
    greetings.push(ctx.call_activity(say_hello, "Seattle").await?);
    greetings.push(ctx.call_sub_orchestrator(farewell, ()).await?);
    Ok(greetings)
}

/// Starts [`hello_cities`] and answers with the check-status response.
#[http_trigger(methods = ["post"], route = "cities", auth_level = anonymous)]
async fn start_cities(req: HttpRequest, #[durable_client] client: DurableClient) -> HttpResponse {
    match client.start(hello_cities, ()).await {
        Ok(id) => client.create_check_status_response(&req, &id),
        Err(e) => HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
