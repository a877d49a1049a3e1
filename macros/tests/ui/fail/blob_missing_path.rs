use durable::blob_trigger;

#[blob_trigger(connection = "AzureWebJobsStorage")]
async fn uploaded(_content: Vec<u8>) {}

fn main() {}
