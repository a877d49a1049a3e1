//! The function app of the scale-endpoint test: orchestrations whose one activity takes a
//! while, so that with one activity at a time a backlog builds up.

use std::time::Duration;

use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext};

/// Sleeps for the given milliseconds.
#[activity_trigger]
async fn slow_step(ms: u64) -> Result<u64, Failure> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

/// One slow step.
#[orchestration_trigger]
async fn slow_work(ctx: OrchestrationContext, ms: u64) -> Result<u64, Failure> {
    Ok(ctx.call_activity(slow_step, ms).await?)
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
