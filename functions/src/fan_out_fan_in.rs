//! Fan-out/fan-in: F1 lists the work, F2 runs on every item in parallel, F3 gets the total.

use durable::{activity_trigger, orchestration_trigger, when_all, Failure, OrchestrationContext};

/// F1: the work items `1..=n`.
#[activity_trigger]
pub async fn f1_get_work_items(n: u64) -> Result<Vec<u64>, Failure> {
    Ok((1..=n).collect())
}

/// F2: doubles one item.
#[activity_trigger]
pub async fn f2_double(item: u64) -> Result<u64, Failure> {
    Ok(item * 2)
}

/// F3: receives the sum.
#[activity_trigger]
pub async fn f3_report_sum(sum: u64) -> Result<u64, Failure> {
    tracing::info!(sum, "fan-out/fan-in finished");
    Ok(sum)
}

/// Doubles `1..=n` in parallel (n defaults to 10) and returns the sum, n·(n+1).
#[orchestration_trigger]
pub async fn fan_out_fan_in(ctx: OrchestrationContext, n: Option<u64>) -> Result<u64, Failure> {
    let items = ctx
        .call_activity(f1_get_work_items, n.unwrap_or(10))
        .await?;
    let doubled = when_all(items.into_iter().map(|i| ctx.call_activity(f2_double, i))).await;
    let mut sum = 0;
    for d in doubled {
        sum += d?;
    }
    Ok(ctx.call_activity(f3_report_sum, sum).await?)
}
