use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
}

#[activity_trigger]
async fn ship(order: Order) -> Result<u64, Failure> {
    Ok(order.id)
}

#[orchestration_trigger]
async fn caller(ctx: OrchestrationContext) -> Result<u64, Failure> {
    let shipped = ctx.call_activity(ship, "order 7").await?;
    Ok(shipped)
}

fn main() {}
