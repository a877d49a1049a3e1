use durable::queue_trigger;

#[queue_trigger(queue_name = "orders")]
async fn orders(_msg: String, _other: Vec<u8>) {}

fn main() {}
