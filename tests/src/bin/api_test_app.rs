//! The function app the management-API end-to-end tests run (`tests/tests/durable_api.rs`,
//! `tests/tests/python_client.rs`): a few orchestrators and activities registered by hand
//! (no trigger attributes), served by the real host.
//!
//! - `echo`: returns its input;
//! - `wait_event`: waits for the event `Go` and returns its value;
//! - `flaky_chain(n)` (`n` a number or a JSON string of one): `add_one(n)`, then `flaky`, then `add_one`; `flaky` fails the first
//!   time it runs for an instance (a marker file under `./markers/` remembers), so the
//!   instance fails and a rewind completes it with `(n + 1) * 10 + 1`;
//! - `always_fails`: fails in its activity every time;
//! - `tree(depth)`: two sub-orchestrations `tree(depth - 1)` named `{id}-0` and `{id}-1`, or,
//!   at depth 0, a wait for `Go`; returns how many instances the tree has;
//! - `slow`: sleeps a minute; a run dropped before it ends (a timeout, a terminate) writes
//!   `./markers/cancelled-{instance}`; `call_slow(timeout_ms)` calls it with that timeout (0:
//!   none) and returns `"timed out"` when the call times out;
//! - `typed_approval(n: u32)`: waits for the event `Approve`, a `bool`, and returns both, typed
//!   (the Python client sends inputs and payloads encoded twice; they are read leniently).

use std::path::PathBuf;
use std::process::ExitCode;

use durable::app::{FunctionKind, FunctionRegistration};
use durable::engine::function::{activity_fn, orchestrator_fn, ActivityContext};
use durable::{Failure, OrchestrationContext};
use serde_json::Value;

fn echo() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "echo",
        |_ctx: OrchestrationContext, input: Value| async move { Ok(input) },
    ))
}

fn wait_event() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "wait_event",
        |ctx: OrchestrationContext, _: Value| async move {
            let v: Value = ctx.wait_for_external_event("Go").await?;
            Ok(v)
        },
    ))
}

/// Writes the cancellation marker of a run of `slow` that is dropped before it ends.
struct CancelMarker(String);

impl Drop for CancelMarker {
    fn drop(&mut self) {
        let path = marker(&format!("cancelled-{}", self.0));
        let _ =
            std::fs::create_dir_all("markers").and_then(|()| std::fs::write(path, b"cancelled"));
    }
}

fn slow() -> FunctionKind {
    FunctionKind::Activity(activity_fn(
        "slow",
        |ctx: ActivityContext, _: Value| async move {
            let guard = CancelMarker(ctx.instance_id.clone());
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            std::mem::forget(guard);
            Ok(())
        },
    ))
}

fn call_slow() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "call_slow",
        |ctx: OrchestrationContext, timeout_ms: u64| async move {
            let mut options = durable::engine::activity_options::ActivityOptions::new();
            if timeout_ms > 0 {
                options = options.with_timeout(std::time::Duration::from_millis(timeout_ms));
            }
            match ctx
                .call_activity_by_name_with::<_, ()>("slow", &options, &())
                .await
            {
                Err(durable::TaskError::TimedOut(_)) => Ok("timed out".to_string()),
                Err(e) => Err(e.into()),
                Ok(()) => Ok("finished".to_string()),
            }
        },
    ))
}

fn tree() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "tree",
        |ctx: OrchestrationContext, depth: u32| async move {
            if depth == 0 {
                let _: Value = ctx.wait_for_external_event("Go").await?;
                return Ok(1u32);
            }
            let me = ctx.instance_id();
            let children: Vec<_> = (0..2)
                .map(|i| {
                    let id = format!("{me}-{i}");
                    ctx.call_sub_orchestrator_by_name::<_, u32>("tree", Some(&id), &(depth - 1))
                })
                .collect();
            let mut total = 1;
            for child in durable::when_all(children).await {
                total += child?;
            }
            Ok(total)
        },
    ))
}

fn typed_approval() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "typed_approval",
        |ctx: OrchestrationContext, n: u32| async move {
            let approved: bool = ctx.wait_for_external_event("Approve").await?;
            Ok(format!("{n} {approved}"))
        },
    ))
}

fn flaky_chain() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "flaky_chain",
        |ctx: OrchestrationContext, input: Value| async move {
            let n = number(&input)?;
            let a: i64 = ctx.call_activity_by_name("add_one", &n).await?;
            let b: i64 = ctx.call_activity_by_name("flaky", &a).await?;
            let c: i64 = ctx.call_activity_by_name("add_one", &b).await?;
            Ok(c)
        },
    ))
}

/// A number, or a JSON string holding one: the Python client double-encodes inputs (its
/// orchestrators `json.loads` string inputs; this does the same).
fn number(input: &Value) -> Result<i64, Failure> {
    let parsed = match input {
        Value::String(text) => serde_json::from_str::<Value>(text).ok(),
        other => Some(other.clone()),
    };
    parsed
        .and_then(|v| v.as_i64())
        .ok_or_else(|| Failure::new("InputError", format!("expected a number, got {input}")))
}

fn always_fails() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "always_fails",
        |ctx: OrchestrationContext, _: Value| async move {
            let v: Value = ctx.call_activity_by_name("broken", &()).await?;
            Ok(v)
        },
    ))
}

fn add_one() -> FunctionKind {
    FunctionKind::Activity(activity_fn(
        "add_one",
        |_ctx: ActivityContext, n: i64| async move { Ok(n + 1) },
    ))
}

/// The marker file that says `flaky` already failed for an instance.
fn marker(instance_id: &str) -> PathBuf {
    let safe: String = instance_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    PathBuf::from("markers").join(safe)
}

fn flaky() -> FunctionKind {
    FunctionKind::Activity(activity_fn(
        "flaky",
        |ctx: ActivityContext, n: i64| async move {
            let marker = marker(&ctx.instance_id);
            if !marker.exists() {
                std::fs::create_dir_all("markers")
                    .and_then(|()| std::fs::write(&marker, b"failed once"))
                    .map_err(|e| Failure::new("MarkerError", e.to_string()))?;
                return Err(Failure::new("FlakyError", "the first attempt fails"));
            }
            Ok(n * 10)
        },
    ))
}

fn broken() -> FunctionKind {
    FunctionKind::Activity(activity_fn(
        "broken",
        |_ctx: ActivityContext, _: Value| async move {
            Err::<Value, _>(Failure::new("BrokenError", "this activity always fails"))
        },
    ))
}

durable::__private::inventory::submit! { FunctionRegistration { name: "echo", make: echo } }
durable::__private::inventory::submit! { FunctionRegistration { name: "wait_event", make: wait_event } }
durable::__private::inventory::submit! { FunctionRegistration { name: "typed_approval", make: typed_approval } }
durable::__private::inventory::submit! { FunctionRegistration { name: "tree", make: tree } }
durable::__private::inventory::submit! { FunctionRegistration { name: "slow", make: slow } }
durable::__private::inventory::submit! { FunctionRegistration { name: "call_slow", make: call_slow } }
durable::__private::inventory::submit! { FunctionRegistration { name: "flaky_chain", make: flaky_chain } }
durable::__private::inventory::submit! { FunctionRegistration { name: "always_fails", make: always_fails } }
durable::__private::inventory::submit! { FunctionRegistration { name: "add_one", make: add_one } }
durable::__private::inventory::submit! { FunctionRegistration { name: "flaky", make: flaky } }
durable::__private::inventory::submit! { FunctionRegistration { name: "broken", make: broken } }

fn main() -> ExitCode {
    durable::host::main()
}
