//! The app of the Durable Task worker tests (`tests/tests/grpc_workers.rs`): Rust functions
//! that call, and are called by, functions of a Python worker connected over the protocol.
//!
//! - `RustGreet(name)`: an activity answering `"Hello {name} from Rust"`;
//! - `RustCallsPython(text)`: an orchestration that calls the Python activity `py_shout` and
//!   returns its answer;
//! - `RustCallsPythonEntity(key)`: an orchestration that adds 7 to the Python worker's entity
//!   `py_tally@{key}` and returns its total;
//! - `counter`: an entity whose state is an integer (`add(n)`, `get`, `reset`, `delete`),
//!   signalled, read, listed and cleaned up by the Python SDK's client.

use durable::{
    activity_trigger, entity_trigger, orchestration_trigger, EntityContext, Failure,
    OrchestrationContext,
};

/// Greets from Rust.
#[activity_trigger(name = "RustGreet")]
async fn rust_greet(name: String) -> Result<String, Failure> {
    Ok(format!("Hello {name} from Rust"))
}

/// Calls an activity a Python worker serves.
#[orchestration_trigger(name = "RustCallsPython")]
async fn rust_calls_python(ctx: OrchestrationContext, text: String) -> Result<String, Failure> {
    Ok(ctx.call_activity_by_name("py_shout", &text).await?)
}

/// Adds 7 to the Python worker's entity `py_tally@{key}` and reads it back.
#[orchestration_trigger(name = "RustCallsPythonEntity")]
async fn rust_calls_python_entity(ctx: OrchestrationContext, key: String) -> Result<i64, Failure> {
    let tally = durable::EntityId::new("py_tally", &key)
        .map_err(|e| Failure::new("InvalidEntityId", e.to_string()))?;
    let _: i64 = ctx.call_entity(&tally, "add", &7).await?;
    Ok(ctx.call_entity(&tally, "get", &()).await?)
}

/// A counter: the state is an integer, missing until the first `add` or `reset`.
#[entity_trigger]
fn counter(ctx: &mut EntityContext) -> Result<(), Failure> {
    let value: i64 = ctx.get_state(|| 0)?;
    match ctx.operation_name() {
        "add" => {
            let amount: i64 = ctx.get_input()?;
            ctx.set_state(&(value + amount))
        }
        "get" => ctx.set_result(&value),
        "reset" => ctx.set_state(&0),
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

fn main() -> std::process::ExitCode {
    durable::host::main()
}
