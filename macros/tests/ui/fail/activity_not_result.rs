use durable::activity_trigger;

#[activity_trigger]
async fn say_hello(city: String) -> String {
    format!("Hello {city}!")
}

fn main() {}
