use durable::queue_trigger;

#[queue_trigger(queue_name = "orders")]
async fn orders(_msg: &str) {}

fn main() {}
