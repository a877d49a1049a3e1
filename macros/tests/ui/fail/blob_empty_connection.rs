use durable::blob_trigger;

#[blob_trigger(path = "uploads/{name}", connection = "")]
async fn uploaded(_content: Vec<u8>) {}

fn main() {}
