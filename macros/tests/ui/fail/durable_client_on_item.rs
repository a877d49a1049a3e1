use durable::{durable_client, DurableClient};

#[durable_client]
async fn start(_client: DurableClient) {}

fn main() {}
