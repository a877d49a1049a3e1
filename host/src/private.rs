//! What the trigger attributes' expansions refer to; not part of the public API.
//!
//! The parameter checks are trait bounds, not type names: a parameter is accepted when its
//! type *is* the expected one, so type aliases and re-exports work, and a wrong type gets a
//! message that says what was expected.

pub use crate::http::{HttpRequest, HttpResponse, IntoHttpResponse, Method};
pub use durable_engine::entity::{entity_fn, EntityContext};
pub use durable_engine::function::{erase_activity, erase_orchestration, ActivityParam};
pub use durable_host::app::{
    body, inline_schema_of, schema_of, AuthLevel, BlobFunction, BlobInput, FunctionContext,
    FunctionKind, FunctionRegistration, HttpFunction, HttpOperation, OperationResponse,
    QueueFunction, QueueMessage, RequestBody, ResponseBody, SchemaFn, TimerFunction, TimerInfo,
};
pub use durable_runtime::ActivityLimits;
pub use futures;
pub use inventory;
pub use serde_json;

use crate::{ActivityContext, DurableClient, OrchestrationContext};

/// The first parameter of an orchestrator.
#[diagnostic::on_unimplemented(
    message = "the first parameter of an orchestrator must be the orchestration context, found `{Self}`",
    label = "expected `OrchestrationContext`",
    note = "an orchestrator is `async fn NAME(ctx: OrchestrationContext, input: T) -> Result<O, E>` (the input is optional)"
)]
pub trait OrchestrationContextParam {}
impl OrchestrationContextParam for OrchestrationContext {}

/// The first of two parameters of an activity.
#[diagnostic::on_unimplemented(
    message = "the first of an activity's two parameters must be its context, found `{Self}`",
    label = "expected `ActivityContext`",
    note = "an activity is `async fn NAME(ctx: ActivityContext, input: T)`; pass several values as a tuple or a struct"
)]
pub trait ActivityContextParam {}
impl ActivityContextParam for ActivityContext {}

/// A `#[durable_client]` parameter.
#[diagnostic::on_unimplemented(
    message = "#[durable_client] binds a `DurableClient`, but this parameter's type is `{Self}`",
    label = "expected `DurableClient`"
)]
pub trait DurableClientParam {}
impl DurableClientParam for DurableClient {}

/// The parameter of a function-style entity.
#[diagnostic::on_unimplemented(
    message = "an entity function takes one parameter: `ctx: &mut EntityContext`, found `{Self}`",
    label = "expected `&mut EntityContext`"
)]
pub trait EntityContextParam {}
impl EntityContextParam for &mut EntityContext {}

/// The request parameter of an HTTP function.
#[diagnostic::on_unimplemented(
    message = "an HTTP function takes `req: HttpRequest` and optionally `#[durable_client] client: DurableClient`; found `{Self}`",
    label = "expected `HttpRequest`"
)]
pub trait HttpRequestParam {}
impl HttpRequestParam for HttpRequest {}

/// The timer parameter of a timer function.
#[diagnostic::on_unimplemented(
    message = "a timer function takes `timer: TimerInfo` and optionally `#[durable_client] client: DurableClient`; found `{Self}`",
    label = "expected `TimerInfo`"
)]
pub trait TimerInfoParam {}
impl TimerInfoParam for TimerInfo {}
