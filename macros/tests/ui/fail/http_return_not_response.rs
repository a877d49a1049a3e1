use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger]
async fn count(req: HttpRequest) -> usize {
    req.body.len()
}

fn main() {}
