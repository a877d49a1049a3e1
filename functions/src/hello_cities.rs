//! Function chaining: `hello_cities` calls `say_hello` for three cities, one after another.

use durable::{Activity, ActivityContext, Failure, Orchestration, OrchestrationContext};

/// Greets a city.
pub struct SayHello;

impl Activity for SayHello {
    const NAME: &'static str = "say_hello";
    type Input = String;
    type Output = String;

    async fn run(_ctx: ActivityContext, city: String) -> Result<String, Failure> {
        Ok(format!("Hello {city}!"))
    }
}

/// Greets Tokyo, Seattle and London in turn.
pub struct HelloCities;

impl Orchestration for HelloCities {
    const NAME: &'static str = "hello_cities";
    type Input = ();
    type Output = Vec<String>;

    async fn run(ctx: OrchestrationContext, _: ()) -> Result<Vec<String>, Failure> {
        let mut greetings = Vec::new();
        for city in ["Tokyo", "Seattle", "London"] {
            greetings.push(ctx.call_activity(SayHello, city).await?);
        }
        Ok(greetings)
    }
}
