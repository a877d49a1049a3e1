use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger(operation_id = "get order")]
async fn a(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(tags = ["x", "x"])]
async fn b(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(request_body = "Order")]
async fn c(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(summary = " ")]
async fn d(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(starts_orchestration = yes)]
async fn e(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(sumary = "typo")]
async fn f(_req: HttpRequest) -> String {
    String::new()
}

fn main() {}
