use durable::{orchestration_trigger, Failure};

#[orchestration_trigger]
async fn hello(name: String) -> Result<String, Failure> {
    Ok(name)
}

fn main() {}
