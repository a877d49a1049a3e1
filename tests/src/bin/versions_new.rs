//! The new binary of the rolling-deploy test (`tests/tests/versioning.rs`): `order` version 2,
//! which packs and ships express (two activities the old binary does not have), beside the
//! version 1 code it keeps for the instances in flight.

use std::time::Duration;

use durable::{activity_trigger, orchestration_trigger, when_all, Failure, OrchestrationContext};

#[path = "versions/order_v1.rs"]
mod order_v1;

/// Packs an order: an order named `slow ...` takes ten minutes, so that a test can stop the
/// host while it packs, unless the `PACK_QUICKLY` setting is `true`.
#[activity_trigger]
async fn pack(what: String) -> Result<String, Failure> {
    tracing::info!(what, "packing");
    if what.starts_with("slow") && std::env::var("PACK_QUICKLY").as_deref() != Ok("true") {
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
    Ok(format!("packed {what}"))
}

/// Ships an order express.
#[activity_trigger]
async fn ship_express(what: String) -> Result<String, Failure> {
    Ok(format!("express {what}"))
}

/// Waits for approval, then packs and ships express at once.
#[orchestration_trigger(name = "order", version = "2")]
async fn order_v2(ctx: OrchestrationContext) -> Result<String, Failure> {
    let approved: String = ctx.wait_for_external_event("approve").await?;
    let done = when_all(vec![
        ctx.call_activity(pack, approved.clone()),
        ctx.call_activity(ship_express, approved),
    ])
    .await;
    let labels = done.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(format!("v2 {}", labels.join(" and ")))
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
