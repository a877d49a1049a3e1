use durable::{orchestration_trigger, OrchestrationContext};

#[orchestration_trigger]
async fn hello(_ctx: OrchestrationContext) {}

fn main() {}
