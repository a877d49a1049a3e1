use durable::activity_trigger;

pub struct NotAnError;

#[activity_trigger]
async fn say_hello(city: String) -> Result<String, NotAnError> {
    Ok(city)
}

fn main() {}
