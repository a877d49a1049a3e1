use durable::queue_trigger;

#[queue_trigger(queue_name = "Orders_Queue")]
async fn orders(_msg: String) {}

fn main() {}
