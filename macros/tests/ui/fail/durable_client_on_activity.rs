use durable::{activity_trigger, durable_client, DurableClient, Failure};

#[activity_trigger]
async fn hello(#[durable_client] _client: DurableClient) -> Result<(), Failure> {
    Ok(())
}

fn main() {}
