use durable::{entity_trigger, orchestration_trigger, Failure, OrchestrationContext};
use serde::{Deserialize, Serialize};

#[derive(Default, Serialize, Deserialize)]
pub struct Counter {
    value: i64,
}

#[entity_trigger]
impl Counter {
    pub fn add(&mut self, amount: i64) {
        self.value += amount;
    }
}

#[orchestration_trigger]
async fn adds_text(ctx: OrchestrationContext) -> Result<(), Failure> {
    Counter::proxy(&ctx, "c").add("five").await?;
    Ok(())
}

fn main() {}
