use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger(operation_id = "getOrder")]
async fn a(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(operation_id = "GetOrder")]
async fn b(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(operation_id = "c")]
async fn d(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger]
async fn c(_req: HttpRequest) -> String {
    String::new()
}

fn main() {}
