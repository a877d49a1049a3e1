use durable::{activity_trigger, Failure};

#[activity_trigger]
async fn say_hello(city: &str) -> Result<String, Failure> {
    Ok(format!("Hello {city}!"))
}

fn main() {}
