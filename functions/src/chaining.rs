//! Function chaining: `hello_cities` greets three cities, one activity after another.

use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext};

/// Greets one city.
#[activity_trigger]
pub async fn say_hello(city: String) -> Result<String, Failure> {
    Ok(format!("Hello {city}!"))
}

/// Greets Tokyo, Seattle and London in turn.
#[orchestration_trigger]
pub async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, Failure> {
    let mut greetings = Vec::new();
    for city in ["Tokyo", "Seattle", "London"] {
        greetings.push(ctx.call_activity(say_hello, city).await?);
    }
    Ok(greetings)
}
