// Two implementations of orchestration "order" for one version (versions compare ignoring
// ASCII case); a third for another version, and one without a version, are fine.
use durable::{orchestration_trigger, Failure, OrchestrationContext};

#[orchestration_trigger(name = "order", version = "v2")]
async fn order_v2(_ctx: OrchestrationContext) -> Result<(), Failure> {
    Ok(())
}

#[orchestration_trigger(name = "order", version = "V2")]
async fn order_v2_again(_ctx: OrchestrationContext) -> Result<(), Failure> {
    Ok(())
}

#[orchestration_trigger(name = "order", version = "1")]
async fn order_v1(_ctx: OrchestrationContext) -> Result<(), Failure> {
    Ok(())
}

#[orchestration_trigger]
async fn order(_ctx: OrchestrationContext) -> Result<(), Failure> {
    Ok(())
}

fn main() {}
