// Limits are a whole number of at least 1, and a positive number of runs per second.
use durable::{activity_trigger, Failure};

#[activity_trigger(max_concurrent = 0)]
async fn none_at_once(city: String) -> Result<String, Failure> {
    Ok(city)
}

#[activity_trigger(max_per_second = "fast")]
async fn fast(city: String) -> Result<String, Failure> {
    Ok(city)
}

fn main() {}
