use durable::queue_trigger;

pub struct Order;

#[queue_trigger(queue_name = "orders")]
async fn orders(_order: Order) {}

fn main() {}
