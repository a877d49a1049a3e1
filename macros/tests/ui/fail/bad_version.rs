// A version must be printable ASCII without spaces.
use durable::{orchestration_trigger, Failure, OrchestrationContext};

#[orchestration_trigger(version = "version 2")]
async fn order(_ctx: OrchestrationContext) -> Result<(), Failure> {
    Ok(())
}

fn main() {}
