//! The app of the Durable Task worker tests (`tests/tests/grpc_workers.rs`): Rust functions
//! that call, and are called by, functions of a Python worker connected over the protocol.
//!
//! - `RustGreet(name)`: an activity answering `"Hello {name} from Rust"`;
//! - `RustCallsPython(text)`: an orchestration that calls the Python activity `py_shout` and
//!   returns its answer.

use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext};

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

fn main() -> std::process::ExitCode {
    durable::host::main()
}
