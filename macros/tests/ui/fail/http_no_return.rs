use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger]
async fn start(_req: HttpRequest) {}

fn main() {}
