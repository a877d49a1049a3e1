use durable::http::HttpRequest;
use durable::{durable_client, http_trigger};

#[http_trigger]
async fn start(_req: HttpRequest, #[durable_client] client: String) -> String {
    client
}

fn main() {}
