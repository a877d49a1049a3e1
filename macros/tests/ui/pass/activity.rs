//! Every `#[activity_trigger]` form, and typed calls against the generated structs.
#![deny(warnings)]

use durable::{
    activity_trigger, orchestration_trigger, Activity, ActivityContext, Failure,
    OrchestrationContext,
};

/// Input only.
#[activity_trigger]
pub async fn say_hello(city: String) -> Result<String, Failure> {
    Ok(format!("Hello {city}!"))
}

/// Context and input, renamed.
#[activity_trigger(name = "Double")]
async fn double(ctx: durable::ActivityContext, n: i64) -> Result<i64, Failure> {
    let _ = ctx.dequeue_count;
    Ok(n * 2)
}

/// Context only: the input is `()`.
#[activity_trigger]
async fn whoami(ctx: ActivityContext) -> Result<String, Failure> {
    Ok(ctx.instance_id)
}

/// Nothing at all.
#[activity_trigger]
async fn ping() -> Result<(), std::io::Error> {
    Ok(())
}

/// A tuple input, destructured.
#[activity_trigger]
async fn add(ctx: ActivityContext, (a, b): (i32, i32)) -> Result<i32, Failure> {
    let _ = ctx;
    Ok(a + b)
}

/// Limited on each host: at most 5 at once, one started every two seconds.
#[activity_trigger(max_concurrent = 5, max_per_second = 0.5)]
async fn charge(order: String) -> Result<String, Failure> {
    Ok(order)
}

#[orchestration_trigger]
async fn calls(ctx: OrchestrationContext) -> Result<String, Failure> {
    let greeting = ctx.call_activity(say_hello, "Tokyo").await?;
    let n: i64 = ctx.call_activity(double, 21).await?;
    let _: String = ctx.call_activity(whoami, ()).await?;
    ctx.call_activity(ping, ()).await?;
    let _: i32 = ctx.call_activity(add, (1, 2)).await?;
    let _: String = ctx.call_activity(charge, "order-1").await?;
    Ok(format!("{greeting} {n}"))
}

fn main() {
    assert_eq!(<say_hello as Activity>::NAME, "say_hello");
    assert_eq!(<double as Activity>::NAME, "Double");
}
