use durable::queue_trigger;

#[queue_trigger(connection = "AzureWebJobsStorage")]
async fn orders(_msg: String) {}

fn main() {}
