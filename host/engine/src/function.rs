//! What user functions look like to the engine: typed traits for compile-time checked calls,
//! and the type-erased forms the registry stores.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::context::OrchestrationContext;
use super::failure::{serde_failure, Failure};

/// An orchestrator function with typed input and output.
///
/// `ctx.call_sub_orchestrator(MyOrchestration, input)` checks `input` and the result type
/// against this at compile time.
pub trait Orchestration: Send + Sync + 'static {
    /// The registered name.
    const NAME: &'static str;
    /// The version this implementation is registered for; `None` serves instances whose
    /// version no other implementation of the name is registered for.
    const VERSION: Option<&'static str> = None;
    /// Input type.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// Output type.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// Runs the orchestrator.
    fn run(
        ctx: OrchestrationContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, Failure>> + Send + 'static;
}

/// An activity function with typed input and output.
///
/// `ctx.call_activity(SayHello, "Tokyo")` checks the input and the result type against this.
pub trait Activity: Send + Sync + 'static {
    /// The registered name.
    const NAME: &'static str;
    /// Input type.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// Output type.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// Runs the activity.
    fn run(
        ctx: ActivityContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, Failure>> + Send + 'static;
}

/// What an activity knows about its invocation.
#[derive(Debug, Clone)]
pub struct ActivityContext {
    /// The orchestration instance that scheduled it.
    pub instance_id: String,
    /// The activity name.
    pub name: String,
    /// The action id of the `TaskScheduled` event.
    pub task_scheduled_id: i32,
    /// How many times this request has been handed out (1 on the first attempt).
    pub dequeue_count: u32,
}

/// A type-erased orchestrator: reads its input from the context, returns serialized output.
pub type OrchestratorFn = Arc<
    dyn Fn(OrchestrationContext) -> BoxFuture<'static, Result<Option<String>, Failure>>
        + Send
        + Sync,
>;

/// A type-erased activity: serialized input in, serialized output out.
pub type ActivityFn = Arc<
    dyn Fn(ActivityContext, Option<String>) -> BoxFuture<'static, Result<Option<String>, Failure>>
        + Send
        + Sync,
>;

/// The event that answers the activity call `task_scheduled_id` with `result`: what an
/// activity function returned becomes `TaskCompleted` or `TaskFailed`.
pub fn activity_answer(
    task_scheduled_id: i32,
    result: Result<Option<String>, Failure>,
) -> crate::history::EventKind {
    use crate::history::EventKind;
    match result {
        Ok(result) => EventKind::TaskCompleted {
            task_scheduled_id,
            result,
        },
        Err(Failure(details)) => EventKind::TaskFailed {
            task_scheduled_id,
            reason: Some(details.error_message.clone()),
            details: None,
            failure_details: Some(details),
        },
    }
}

/// Deserializes a stored JSON input (`None` reads as `null`), leniently ([`from_json`]).
pub fn decode<T: DeserializeOwned>(what: &str, json: Option<&str>) -> Result<T, Failure> {
    from_json(json.unwrap_or("null")).map_err(|e| serde_failure(what, e))
}

/// Reads a payload (an input, an event, a result) as a `T`, forgiving one encoding too many:
/// a JSON string whose content is itself JSON of the expected type is read as that content, as
/// Durable Functions reads it. Some clients encode twice: the Python client
/// (`azure-functions-durable`) sends the boolean `true` as the JSON string `"true"`. When
/// neither reading works, the error is the one of the payload as given.
pub fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    match serde_json::from_str(json) {
        Ok(value) => Ok(value),
        Err(e) if json.trim_start().starts_with('"') => serde_json::from_str::<String>(json)
            .ok()
            .and_then(|inner| serde_json::from_str(&inner).ok())
            .ok_or(e),
        Err(e) => Err(e),
    }
}

/// Serializes a value for storage.
pub fn encode<T: Serialize>(what: &str, value: &T) -> Result<Option<String>, Failure> {
    serde_json::to_string(value)
        .map(Some)
        .map_err(|e| serde_failure(what, e))
}

/// Erases a closure orchestrator `|ctx, input| async { ... }`.
pub fn orchestrator_fn<I, O, F, Fut>(name: &str, f: F) -> OrchestratorFn
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(OrchestrationContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Failure>> + Send + 'static,
{
    let name = name.to_string();
    Arc::new(move |ctx: OrchestrationContext| {
        let input = ctx.raw_input();
        let parsed = decode::<I>(&format!("input of orchestrator {name}"), input.as_deref());
        let fut = parsed.map(|input| f(ctx, input));
        let name = name.clone();
        Box::pin(async move {
            let out = fut?.await?;
            encode(&format!("output of orchestrator {name}"), &out)
        })
    })
}

/// Erases a closure activity `|ctx, input| async { ... }`.
pub fn activity_fn<I, O, F, Fut>(name: &str, f: F) -> ActivityFn
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Failure>> + Send + 'static,
{
    let name = name.to_string();
    Arc::new(move |ctx: ActivityContext, input: Option<String>| {
        let parsed = decode::<I>(&format!("input of activity {name}"), input.as_deref());
        let fut = parsed.map(|input| f(ctx, input));
        let name = name.clone();
        Box::pin(async move {
            let out = fut?.await?;
            encode(&format!("output of activity {name}"), &out)
        })
    })
}

/// Erases a typed orchestration.
pub fn erase_orchestration<O: Orchestration>(_orchestration: O) -> OrchestratorFn {
    orchestrator_fn(O::NAME, |ctx, input: O::Input| O::run(ctx, input))
}

/// Erases a typed activity.
pub fn erase_activity<A: Activity>(_activity: A) -> ActivityFn {
    activity_fn(A::NAME, |ctx, input: A::Input| A::run(ctx, input))
}

/// How the one parameter of an activity function is bound: an `ActivityContext` gets the
/// invocation's context (the activity then takes no input), any other type is the input.
/// Decided by the parameter's type, not its name, so aliases and re-exports work; the
/// `#[activity_trigger]` expansion uses it.
#[doc(hidden)]
pub trait ActivityParam: Sized {
    /// The activity's input type.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The parameter's value.
    fn bind(ctx: ActivityContext, input: Self::Input) -> Self;
}

impl ActivityParam for ActivityContext {
    type Input = ();
    fn bind(ctx: ActivityContext, _input: ()) -> Self {
        ctx
    }
}

impl<T: Serialize + DeserializeOwned + Send + 'static> ActivityParam for T {
    type Input = T;
    fn bind(_ctx: ActivityContext, input: T) -> Self {
        input
    }
}

#[cfg(test)]
mod tests {
    use super::from_json;

    #[test]
    fn a_payload_encoded_twice_reads_as_its_content() {
        assert!(from_json::<bool>("\"true\"").unwrap());
        assert_eq!(from_json::<i64>("\"42\"").unwrap(), 42);
        assert_eq!(from_json::<Vec<u8>>(" \"[1,2]\"").unwrap(), [1, 2]);
        // a string stays the string it is
        assert_eq!(from_json::<String>("\"true\"").unwrap(), "true");
        // neither reading works: the error of the payload as given
        let e = from_json::<bool>("\"yes\"").unwrap_err().to_string();
        assert!(
            e.contains("expected a boolean") || e.contains("invalid type"),
            "{e}"
        );
        assert!(from_json::<bool>("yes").is_err());
    }
}
