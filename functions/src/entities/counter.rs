//! The counter as a function-style entity (`counter`: `add`, `reset`, `get`, `delete`), and
//! `count_with_entity`, an orchestration that adds to a counter of either style and reads it.

use durable::engine::entity::EntityContext;
use durable::{entity_trigger, orchestration_trigger, EntityId, Failure, OrchestrationContext};
use serde::{Deserialize, Serialize};

/// One operation at a time: the state is an integer, missing until the first `add`/`reset`.
#[entity_trigger]
pub fn counter(ctx: &mut EntityContext) -> Result<(), Failure> {
    let value: i64 = ctx.get_state(|| 0)?;
    match ctx.operation_name() {
        "add" => {
            let amount: i64 = ctx.get_input()?;
            ctx.set_state(&(value + amount))
        }
        "reset" => ctx.set_state(&0),
        "get" => ctx.set_result(&value),
        "delete" => {
            ctx.delete_state();
            Ok(())
        }
        other => Err(Failure::new(
            "UnknownOperation",
            format!("the counter has no operation {other:?}"),
        )),
    }
}

/// Input of [`count_with_entity`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CountRequest {
    /// `counter` or `struct_counter`.
    pub entity: String,
    /// The counter's key.
    pub key: String,
    /// Amounts to add: the first ones signalled, the last one called.
    pub amounts: Vec<i64>,
}

/// Adds every amount to a counter (signals, then a call, which waits for all of them since
/// one sender's operations run in order) and returns the counter's value.
#[orchestration_trigger]
pub async fn count_with_entity(
    ctx: OrchestrationContext,
    request: CountRequest,
) -> Result<i64, Failure> {
    let id = EntityId::new(&request.entity, &request.key)?;
    if let Some((last, rest)) = request.amounts.split_last() {
        for amount in rest {
            ctx.signal_entity(&id, "add", amount);
        }
        let () = ctx.call_entity(&id, "add", last).await?;
    }
    Ok(ctx.call_entity(&id, "get", &()).await?)
}
