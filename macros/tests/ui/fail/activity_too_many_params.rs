use durable::{activity_trigger, ActivityContext, Failure};

#[activity_trigger]
async fn say_hello(_ctx: ActivityContext, city: String, country: String) -> Result<String, Failure> {
    Ok(format!("Hello {city}, {country}!"))
}

fn main() {}
