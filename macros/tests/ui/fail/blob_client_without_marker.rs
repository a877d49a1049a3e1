use durable::{blob_trigger, DurableClient};

#[blob_trigger(path = "uploads/{name}")]
async fn uploaded(_content: Vec<u8>, _client: DurableClient) {}

fn main() {}
