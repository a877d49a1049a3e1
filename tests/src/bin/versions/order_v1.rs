//! Version 1 of `order`, in both binaries of the rolling-deploy test: the old binary has only
//! this, the new one keeps it beside version 2.

use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext};

/// Ships an approved order.
#[activity_trigger]
pub async fn ship(what: String) -> Result<String, Failure> {
    Ok(format!("shipped {what}"))
}

/// Waits for approval, then ships.
#[orchestration_trigger(name = "order", version = "1")]
pub async fn order_v1(ctx: OrchestrationContext) -> Result<String, Failure> {
    let approved: String = ctx.wait_for_external_event("approve").await?;
    let label = ctx.call_activity(ship, approved).await?;
    Ok(format!(
        "v1 {label} under {}",
        ctx.version().unwrap_or_default()
    ))
}
