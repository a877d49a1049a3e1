use durable::{durable_client, timer_trigger, DurableClient};

#[timer_trigger(schedule = "0 */5 * * * *")]
async fn cleanup(#[durable_client] _client: DurableClient) {}

fn main() {}
