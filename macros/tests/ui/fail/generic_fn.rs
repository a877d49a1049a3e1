use durable::{activity_trigger, Failure};

#[activity_trigger]
async fn echo<T: serde::Serialize>(value: T) -> Result<T, Failure> {
    Ok(value)
}

fn main() {}
