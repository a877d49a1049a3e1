use durable::{durable_client, http_trigger, DurableClient};

#[http_trigger]
async fn start(#[durable_client] _client: DurableClient) -> String {
    String::new()
}

fn main() {}
