use durable::{activity_trigger, Failure};

#[activity_trigger]
async fn say_hello(city: String, country: String) -> Result<String, Failure> {
    Ok(format!("Hello {city}, {country}!"))
}

fn main() {}
