use durable::http::HttpRequest;
use durable::{http_trigger, DurableClient};

#[http_trigger]
async fn start(_req: HttpRequest, _client: DurableClient) -> String {
    String::new()
}

fn main() {}
