//! The function app of the scale-out test: "Hello cities" (three activities in a chain),
//! run by the real host. Several processes of it share one task hub on Azurite.

use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext};

/// Greets one city.
#[activity_trigger]
async fn say_hello(city: String) -> Result<String, Failure> {
    Ok(format!("Hello {city}!"))
}

/// Greets Tokyo, Seattle and London in turn.
#[orchestration_trigger]
async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, Failure> {
    let mut greetings = Vec::new();
    for city in ["Tokyo", "Seattle", "London"] {
        greetings.push(ctx.call_activity(say_hello, city).await?);
    }
    Ok(greetings)
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
