use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger(get)]
async fn hello(_req: HttpRequest) -> String {
    String::new()
}

fn main() {}
