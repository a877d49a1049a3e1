//! The function app of the execution-log test (`tests/tests/execution_logs.rs`): one
//! orchestration for each way a user's work can go wrong, and one that succeeds with an
//! activity that logs a line of its own.

use std::time::Duration;

use durable::engine::entity::EntityContext;
use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{
    activity_trigger, entity_trigger, http_trigger, orchestration_trigger, EntityId, Failure,
    OrchestrationContext, RetryOptions,
};
use serde::{Deserialize, Serialize};

/// An order, the typed input of [`typed_input`].
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    #[allow(dead_code)]
    id: String,
}

/// Fails on input that is not an [`Order`].
#[orchestration_trigger]
async fn typed_input(_ctx: OrchestrationContext, order: Order) -> Result<String, Failure> {
    Ok(format!("{order:?}"))
}

/// Waits for `amount`, a number; fails on an event payload that is not one.
#[orchestration_trigger]
async fn typed_event(ctx: OrchestrationContext) -> Result<u32, Failure> {
    Ok(ctx.wait_for_external_event::<u32>("amount").await?)
}

/// Awaits a future that is not durable.
#[orchestration_trigger]
async fn non_durable(_ctx: OrchestrationContext) -> Result<(), Failure> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

/// Always fails.
#[activity_trigger]
async fn flaky(_input: ()) -> Result<(), Failure> {
    Err(Failure::new(
        "Unavailable",
        "the downstream service is down",
    ))
}

/// Calls [`flaky`] three times, 100 ms apart.
#[orchestration_trigger]
async fn retrying(ctx: OrchestrationContext) -> Result<(), Failure> {
    let retry = RetryOptions::new(Duration::from_millis(100), 3);
    Ok(ctx.call_activity_with_retry(flaky, &retry, ()).await?)
}

/// Logs a line of its own and greets `name`.
#[activity_trigger]
async fn chatty(name: String) -> Result<String, Failure> {
    tracing::info!(name, "chatty says hello");
    Ok(format!("Hello {name}!"))
}

/// Greets through [`chatty`].
#[orchestration_trigger]
async fn greet(ctx: OrchestrationContext, name: String) -> Result<String, Failure> {
    Ok(ctx.call_activity(chatty, name).await?)
}

/// A counter with one operation, `add`.
#[entity_trigger]
fn tally(ctx: &mut EntityContext) -> Result<(), Failure> {
    match ctx.operation_name() {
        "add" => {
            let value: i64 = ctx.get_state(|| 0)?;
            let amount: i64 = ctx.get_input()?;
            ctx.set_state(&(value + amount))
        }
        other => Err(Failure::new(
            "UnknownOperation",
            format!("tally has no operation {other:?}"),
        )),
    }
}

/// Calls `tally` with a misspelt operation.
#[orchestration_trigger]
async fn misspelt(ctx: OrchestrationContext) -> Result<(), Failure> {
    let id = EntityId::new("tally", "t1")?;
    let () = ctx.call_entity(&id, "ad", &1).await?;
    Ok(())
}

/// Takes three seconds.
#[activity_trigger]
async fn slow(_input: ()) -> Result<(), Failure> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(())
}

/// Waits for `go`, then runs [`slow`] (in flight when the test kills the host).
#[orchestration_trigger]
async fn patient(ctx: OrchestrationContext) -> Result<(), Failure> {
    let () = ctx.wait_for_external_event::<()>("go").await?;
    Ok(ctx.call_activity(slow, ()).await?)
}

/// Greets with the system clock's time: a mistake (orchestrators must read the time from the
/// context), which the replay check catches on the first run.
#[orchestration_trigger]
async fn reads_the_clock(ctx: OrchestrationContext) -> Result<String, Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Failure::new("Clock", e.to_string()))?
        .as_nanos();
    Ok(ctx.call_activity(chatty, format!("at {now}")).await?)
}

/// An HTTP function that logs a line of its own.
#[http_trigger(methods = ["get"], route = "ping", auth_level = anonymous)]
async fn ping(_req: HttpRequest) -> HttpResponse {
    tracing::info!("ping received");
    HttpResponse::new(StatusCode::OK)
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
