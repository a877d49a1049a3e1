use durable::{orchestration_trigger, Failure, OrchestrationContext};

#[orchestration_trigger]
async fn hello(_ctx: OrchestrationContext, city: String, country: String) -> Result<String, Failure> {
    Ok(format!("{city}, {country}"))
}

fn main() {}
