use durable::http::HttpRequest;
use durable::http_trigger;

#[http_trigger(responses = [404, "409"])]
async fn a(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(responses = [(200, Vec<u8>), (200, ())])]
async fn b(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(response_body = String, responses = [(200, ())])]
async fn c(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(starts_orchestration = true, responses = [(202, String)])]
async fn d(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(responses = [600])]
async fn e(_req: HttpRequest) -> String {
    String::new()
}

#[http_trigger(responses = 404)]
async fn f(_req: HttpRequest) -> String {
    String::new()
}

fn main() {}
