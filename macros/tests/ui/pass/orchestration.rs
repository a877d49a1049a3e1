//! Every `#[orchestration_trigger]` form, and typed calls against the generated structs.
#![deny(warnings)]

use durable::{
    activity_trigger, orchestration_trigger, Failure, Orchestration, OrchestrationContext,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub lines: Vec<String>,
}

#[derive(Debug)]
pub struct OutOfStock;

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of stock")
    }
}

impl std::error::Error for OutOfStock {}

#[activity_trigger]
async fn reserve(line: String) -> Result<bool, Failure> {
    Ok(!line.is_empty())
}

/// Context only: the input is `()`.
#[orchestration_trigger]
pub async fn no_input(ctx: OrchestrationContext) -> Result<String, Failure> {
    Ok(ctx.instance_id().to_string())
}

/// Context and a struct input; an error type of the user's own (any `std::error::Error`).
#[orchestration_trigger]
pub(crate) async fn place_order(ctx: OrchestrationContext, order: Order) -> Result<u64, OutOfStock> {
    for line in order.lines {
        if !ctx.call_activity(reserve, line).await.unwrap_or(false) {
            return Err(OutOfStock);
        }
    }
    Ok(order.id)
}

/// Renamed, with a pattern for the context, and a one-parameter `Result` alias.
#[orchestration_trigger(name = "ProcessBatch")]
async fn process_batch(_: OrchestrationContext, sizes: Vec<u32>) -> std::io::Result<u32> {
    Ok(sizes.iter().sum())
}

/// Calls the others by value, typed: inputs convert with `Into`, outputs are checked.
#[orchestration_trigger]
async fn parent(ctx: OrchestrationContext, _: ()) -> Result<(u64, u32), Failure> {
    let id: u64 = ctx
        .call_sub_orchestrator(
            place_order,
            Order {
                id: 7,
                lines: vec!["apple".into()],
            },
        )
        .await?;
    let total: u32 = ctx.call_sub_orchestrator(process_batch, vec![1, 2]).await?;
    let _: String = ctx.call_sub_orchestrator(no_input, ()).await?;
    // Recursion by name works too: the struct is in scope inside the body.
    if id == 0 {
        ctx.call_sub_orchestrator(parent, ()).await?;
    }
    Ok((id, total))
}

/// The same name in two versions: each a struct of its own, both registered as "ProcessBatch".
#[orchestration_trigger(name = "ProcessBatch", version = "2.0")]
async fn process_batch_v2(ctx: OrchestrationContext, sizes: Vec<u32>) -> Result<u32, Failure> {
    let _ = ctx.version();
    Ok(sizes.iter().sum::<u32>() * 2)
}

#[orchestration_trigger(name = "ProcessBatch", version = "3.0")]
async fn process_batch_v3(_: OrchestrationContext, sizes: Vec<u32>) -> Result<u32, Failure> {
    Ok(sizes.len() as u32)
}

#[cfg(any())]
#[orchestration_trigger]
async fn compiled_out(ctx: OrchestrationContext) -> Result<(), Failure> {
    Ok(())
}

fn main() {
    assert_eq!(<no_input as Orchestration>::NAME, "no_input");
    assert_eq!(<process_batch as Orchestration>::NAME, "ProcessBatch");
    let _: <place_order as Orchestration>::Input = Order {
        id: 1,
        lines: Vec::new(),
    };
    let _: <parent as Orchestration>::Output = (1, 2);
    assert_eq!(<process_batch as Orchestration>::VERSION, None);
    assert_eq!(<process_batch_v2 as Orchestration>::NAME, "ProcessBatch");
    assert_eq!(<process_batch_v2 as Orchestration>::VERSION, Some("2.0"));
    assert_eq!(<process_batch_v3 as Orchestration>::VERSION, Some("3.0"));
}
