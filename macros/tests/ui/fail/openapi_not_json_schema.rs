use durable::http::HttpRequest;
use durable::http_trigger;

pub struct Order {
    pub sku: String,
}

#[http_trigger(request_body = Order)]
async fn place(_req: HttpRequest) -> String {
    String::new()
}

fn main() {}
