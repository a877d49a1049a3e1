use durable::{durable_client, DurableClient};

async fn start(#[durable_client] _client: DurableClient) {}

fn main() {}
