use durable::{activity_trigger, Failure};

struct Greeter;

impl Greeter {
    #[activity_trigger]
    async fn say_hello(&self, city: String) -> Result<String, Failure> {
        Ok(format!("Hello {city}!"))
    }
}

fn main() {}
