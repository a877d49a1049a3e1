//! Parameters are recognised by their types, not their names: aliases and renamed re-exports
//! of the context, request, timer and client types work, and an alias of `String` is still a
//! text body (not JSON).

use durable::app::{QueueMessageInfo, TimerInfo};
use durable::engine::entity::EntityContext;
use durable::http::HttpRequest;
use durable::{
    activity_trigger, durable_client, entity_trigger, http_trigger, orchestration_trigger, queue_trigger,
    timer_trigger, Activity, ActivityContext as Invocation, DurableClient as Client, Failure,
    OrchestrationContext,
};

type Ctx = OrchestrationContext;
type Request = HttpRequest;
type Tick = TimerInfo;
type Text = String;
type Entity<'a> = &'a mut EntityContext;

#[activity_trigger]
async fn only_context(ctx: Invocation) -> Result<String, Failure> {
    Ok(ctx.name)
}

#[activity_trigger]
async fn context_and_input(ctx: Invocation, n: u32) -> Result<String, Failure> {
    Ok(format!("{} {n}", ctx.name))
}

#[activity_trigger]
async fn only_input(n: u32) -> Result<u32, Failure> {
    Ok(n + 1)
}

#[orchestration_trigger]
async fn aliased_context(ctx: Ctx, n: u32) -> Result<String, Failure> {
    let a = ctx.call_activity(only_context, ()).await?;
    let b = ctx.call_activity(context_and_input, n).await?;
    let c = ctx.call_activity(only_input, n).await?;
    Ok(format!("{a} {b} {c}"))
}

#[http_trigger]
async fn aliased_request(_req: Request, #[durable_client] _client: Client) -> &'static str {
    "ok"
}

#[timer_trigger(schedule = "0 0 * * * *")]
async fn aliased_timer(_timer: Tick, #[durable_client] _client: Client) {}

#[queue_trigger(queue_name = "texts")]
async fn aliased_text(body: Text, _info: QueueMessageInfo) -> Result<(), Failure> {
    let _: String = body;
    Ok(())
}

#[entity_trigger]
fn aliased_entity(ctx: Entity<'_>) -> Result<(), Failure> {
    ctx.set_result(&1)
}

fn input_is<A: Activity<Input = I>, I>(_: A) {}

fn main() {
    input_is::<_, ()>(only_context);
    input_is::<_, u32>(context_and_input);
    input_is::<_, u32>(only_input);
}
