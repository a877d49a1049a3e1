use durable::{entity_trigger, Failure};

#[entity_trigger]
fn counter(value: i64) -> Result<(), Failure> {
    let _ = value;
    Ok(())
}

fn main() {}
