use durable::queue_trigger;

#[queue_trigger(queue_name = "orders")]
async fn orders(_msg: String) -> String {
    String::new()
}

fn main() {}
