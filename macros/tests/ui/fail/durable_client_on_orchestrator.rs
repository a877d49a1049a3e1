use durable::{durable_client, orchestration_trigger, DurableClient, Failure, OrchestrationContext};

#[orchestration_trigger]
async fn hello(_ctx: OrchestrationContext, #[durable_client] _client: DurableClient) -> Result<(), Failure> {
    Ok(())
}

fn main() {}
