use durable::{orchestration_trigger, Failure};

#[orchestration_trigger]
async fn hello() -> Result<(), Failure> {
    Ok(())
}

fn main() {}
