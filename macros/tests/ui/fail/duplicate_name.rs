// Two functions registered as "hello" (names compare case-insensitively), in two modules.
mod greetings {
    use durable::{activity_trigger, Failure};

    #[activity_trigger]
    pub async fn hello(city: String) -> Result<String, Failure> {
        Ok(city)
    }
}

mod web {
    use durable::http::HttpRequest;
    use durable::http_trigger;

    #[http_trigger(name = "Hello")]
    pub async fn hello_page(_req: HttpRequest) -> String {
        String::new()
    }
}

fn main() {}
