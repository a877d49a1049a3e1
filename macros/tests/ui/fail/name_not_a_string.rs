use durable::{activity_trigger, Failure};

#[activity_trigger(name = SayHello)]
async fn say_hello(city: String) -> Result<String, Failure> {
    Ok(city)
}

fn main() {}
