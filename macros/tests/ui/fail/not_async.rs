use durable::{orchestration_trigger, Failure, OrchestrationContext};

#[orchestration_trigger]
fn hello(_ctx: OrchestrationContext) -> Result<(), Failure> {
    Ok(())
}

fn main() {}
