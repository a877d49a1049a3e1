use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger(route = "orders/{id")]
async fn order(_req: HttpRequest) -> String {
    String::new()
}

fn main() {}
