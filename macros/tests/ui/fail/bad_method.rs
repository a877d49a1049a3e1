use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger(methods = ["get", "fetch"])]
async fn hello(_req: HttpRequest) -> String {
    String::new()
}

fn main() {}
