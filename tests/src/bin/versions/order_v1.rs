//! Version 1 of `order`, in both binaries of the rolling-deploy tests: the old binary has only
//! this, the new one keeps it beside version 2.

use std::time::Duration;

use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext, TaskError};

/// Ships an approved order.
#[activity_trigger]
pub async fn ship(what: String) -> Result<String, Failure> {
    Ok(format!("shipped {what}"))
}

/// Waits for approval (at most `wait_seconds`, if given: then it ships "unapproved"), then
/// ships.
#[orchestration_trigger(name = "order", version = "1")]
pub async fn order_v1(
    ctx: OrchestrationContext,
    wait_seconds: Option<u64>,
) -> Result<String, Failure> {
    let approved = match wait_seconds {
        None => ctx.wait_for_external_event::<String>("approve").await?,
        Some(s) => {
            match ctx
                .wait_for_external_event_with_timeout::<String>("approve", Duration::from_secs(s))
                .await
            {
                Err(TaskError::TimedOut(_)) => "unapproved".to_string(),
                other => other?,
            }
        }
    };
    let label = ctx.call_activity(ship, approved).await?;
    Ok(format!(
        "v1 {label} under {}",
        ctx.version().unwrap_or_default()
    ))
}
