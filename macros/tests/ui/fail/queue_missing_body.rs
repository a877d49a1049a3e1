use durable::app::QueueMessageInfo;
use durable::queue_trigger;

#[queue_trigger(queue_name = "orders")]
async fn orders(_info: QueueMessageInfo) {}

fn main() {}
