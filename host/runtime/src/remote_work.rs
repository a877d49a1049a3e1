//! Running work on connected workers ([`crate::remote`]): the orchestration episodes and the
//! activity runs of names this host has no Rust function for.
//!
//! The work item stays locked by this runtime while the worker runs it; what the worker
//! answers is committed by the same code as a Rust function's answer. A worker that does not
//! answer (disconnected, or it gave the item up) gets nothing committed: the item goes back to
//! the task hub and runs again, on this worker or another.

use std::sync::Arc;
use std::time::Duration;

use durable_engine::entity::executor::BatchOutput;
use durable_engine::entity::remote::{plan_batch, run_remote_batch, RemoteBatch};
use durable_engine::entity::{EntityId, SchedulerState};
use durable_engine::failure::Failure;
use durable_engine::function::ActivityContext;
use durable_engine::history::{EventKind, FailureDetails, HistoryEvent};
use durable_engine::message::TaskMessage;
use durable_engine::replay::remote::Decision;
use durable_engine::replay::{EpisodeOutput, Execution, Outcome};
use durable_store::{ActivityWorkItem, OrchestrationWorkItem};

use crate::remote::{ActivityRequest, EntityRequest, OrchestratorRequest, RemoteError, Workers};
use crate::Shared;

/// How soon work a worker did not answer is offered again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How many generations one work item may run through continue-as-new on a worker.
const MAX_GENERATIONS: usize = 1000;

/// The workers, if a connected one serves the orchestrator `name` at `version`.
pub(crate) fn orchestration_workers(
    shared: &Shared,
    name: &str,
    version: Option<&str>,
) -> Option<Workers> {
    let workers = shared.options.workers.as_ref()?;
    workers
        .0
        .serves_orchestrator(name, version)
        .then(|| workers.clone())
}

/// The workers, if a connected one serves the activity `name`.
pub(crate) fn activity_workers(shared: &Shared, name: &str) -> Option<Workers> {
    let workers = shared.options.workers.as_ref()?;
    workers.0.serves_activity(name).then(|| workers.clone())
}

/// The stored history of `item`'s instance when `replay`, else none; `None` when it could not
/// be read (the item was given back).
pub(crate) async fn history_of(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    replay: bool,
) -> Option<Vec<HistoryEvent>> {
    if !replay {
        return Some(Vec::new());
    }
    match shared.store.get_history(&item.instance_id).await {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!(instance_id = %item.instance_id, error = %e, "loading history failed");
            super::release::orchestration(shared, item, &e).await;
            None
        }
    }
}

/// The workers, if a connected one serves the entity `name`.
pub(crate) fn entity_workers(shared: &Shared, name: &str) -> Option<Workers> {
    let workers = shared.options.workers.as_ref()?;
    workers.0.serves_entity(name).then(|| workers.clone())
}

/// Runs one batch of an entity's operations on a worker: what the batch produced, or `None`
/// when nothing is to be committed (the item was given back).
pub(crate) async fn entity_batch(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    workers: &Workers,
    id: &EntityId,
    state: SchedulerState,
    events: Vec<HistoryEvent>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<BatchOutput> {
    let env = &shared.env;
    let operations = plan_batch(id, &state, events.clone(), now, &env.entities, &*env.ids);
    tracing::debug!(operations = operations.len(), "executing on a worker");
    let answer = if operations.is_empty() {
        RemoteBatch::default()
    } else {
        let request = EntityRequest {
            instance_id: item.instance_id.clone(),
            state: state.state.clone(),
            operations,
        };
        let answer = tokio::time::timeout(
            shared.options.orchestration_lock,
            workers.0.run_entity(request),
        )
        .await
        .unwrap_or_else(|_| {
            Err(RemoteError::Abandoned(
                "no answer within the orchestration lock".to_string(),
            ))
        });
        match answer {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(entity = %id, error = %e, "the worker did not run the batch; it is offered again");
                if let Err(e) = shared.store.abandon_orchestration(item, RETRY_AFTER).await {
                    tracing::warn!(entity = %id, error = %e, "could not give the entity back; its lock runs out instead");
                }
                return None;
            }
        }
    };
    Some(run_remote_batch(
        id,
        state,
        events,
        answer,
        now,
        &env.entities,
        &*env.ids,
    ))
}

/// Runs one episode of `item` on a worker after `history`: the execution after it and what it
/// produced, or `None` when nothing is to be committed (the item was given back).
pub(crate) async fn episode(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    workers: &Workers,
    (name, version): (&str, Option<&str>),
    history: Vec<HistoryEvent>,
    now: chrono::DateTime<chrono::Utc>,
    messages: Vec<TaskMessage>,
) -> Option<(Execution, EpisodeOutput)> {
    // The worker is sent the whole history each episode; the live cache is for Rust code.
    shared.cache.lock().take(&item.instance_id);
    let mut exec = Execution::from_history(shared.env.remote(), &history);
    let recorded = exec.begin_remote_episode(now, messages);
    let request = request_for(item, &exec, (name, version), history, &recorded);
    let Ok((decision, carried)) = decide(shared, item, workers, request).await else {
        return None;
    };
    let mut new_version = decision.new_version.clone();
    let mut out = exec.finish_remote_episode(now, recorded, decision);
    let mut carried = carried;
    let mut generations = 0;
    while let Some(Outcome::ContinuedAsNew(_)) = exec.outcome() {
        generations += 1;
        let (mut next, start) =
            exec.next_generation(now, std::mem::take(&mut carried), new_version.take());
        let recorded = next.begin_remote_episode(now, start);
        let request = request_for(item, &next, (name, version), Vec::new(), &recorded);
        let Ok((mut decision, more)) = decide(shared, item, workers, request).await else {
            return None;
        };
        if generations >= MAX_GENERATIONS
            && matches!(decision.end, Some(Outcome::ContinuedAsNew(_)))
        {
            decision.actions.clear();
            decision.end = Some(Outcome::Failed(FailureDetails::new(
                "ContinueAsNewLoopError",
                format!(
                    "the orchestrator continued as new {MAX_GENERATIONS} times in one episode \
                     without awaiting anything"
                ),
            )));
        }
        carried = more;
        new_version = decision.new_version.clone();
        let next_out = next.finish_remote_episode(now, recorded, decision);
        out = out.then(next_out);
        exec = next;
    }
    Some((exec, out))
}

/// Asks a worker for the decision of an episode whose new events are `recorded` (none needed
/// when those ended the execution); gives the item back when it gets none.
async fn decide(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    workers: &Workers,
    request: Option<OrchestratorRequest>,
) -> Result<(Decision, Vec<(String, Option<String>)>), ()> {
    let Some(request) = request else {
        return Ok((Decision::default(), Vec::new()));
    };
    let name = request.name.clone();
    let answer = tokio::time::timeout(
        shared.options.orchestration_lock,
        workers.0.run_orchestrator(request),
    )
    .await
    .unwrap_or_else(|_| {
        Err(RemoteError::Abandoned(
            "no answer within the orchestration lock".to_string(),
        ))
    });
    match answer {
        Ok(mut decision) => {
            let carried = std::mem::take(&mut decision.carried);
            Ok((decision, carried))
        }
        Err(e) => {
            tracing::warn!(instance_id = %item.instance_id, orchestration = %name, error = %e, "the worker did not run the episode; it is offered again");
            if let Err(e) = shared.store.abandon_orchestration(item, RETRY_AFTER).await {
                tracing::warn!(instance_id = %item.instance_id, error = %e, "could not give the instance back; its lock runs out instead");
            }
            Err(())
        }
    }
}

/// What the worker is asked for an episode of `exec` whose new events are `recorded`; `None`
/// when those ended the execution and there is nothing to decide.
fn request_for(
    item: &OrchestrationWorkItem,
    exec: &Execution,
    (name, version): (&str, Option<&str>),
    past: Vec<HistoryEvent>,
    recorded: &[HistoryEvent],
) -> Option<OrchestratorRequest> {
    if !exec.needs_decision() {
        return None;
    }
    let started = exec.started();
    Some(OrchestratorRequest {
        instance_id: item.instance_id.clone(),
        execution_id: exec.execution_id().unwrap_or_default(),
        name: started.map_or(name, |s| s.name.as_str()).to_string(),
        version: started
            .map_or(version, |s| s.version.as_deref())
            .map(str::to_string),
        past,
        new: recorded.to_vec(),
    })
}

/// Runs one activity call on a worker, renewing its lock meanwhile: its result, or `None` when
/// the call was given back to the task hub.
pub(crate) async fn run_activity(
    shared: &Arc<Shared>,
    item: &ActivityWorkItem,
    workers: &Workers,
    ctx: &ActivityContext,
) -> Option<Result<Option<String>, Failure>> {
    let request = &item.message;
    let EventKind::TaskScheduled {
        name,
        version,
        input,
        parent_trace_context,
        ..
    } = &request.event.kind
    else {
        return None;
    };
    let call = ActivityRequest {
        instance: request.orchestration_instance.clone(),
        name: name.clone(),
        version: version.clone(),
        input: input.clone(),
        task_id: ctx.task_scheduled_id,
        trace_context: parent_trace_context.clone(),
    };
    let answer =
        super::activities::renewing_lock(shared, item, name, workers.0.run_activity(call)).await;
    match answer {
        Ok(answer) => Some(answer.map_err(Failure)),
        Err(e) => {
            tracing::warn!(activity = %name, instance_id = %ctx.instance_id, error = %e, "the worker did not run the activity; it is offered again");
            if let Err(e) = shared.store.abandon_activity(item, RETRY_AFTER).await {
                tracing::warn!(activity = %name, error = %e, "could not give the activity call back; its lock runs out instead");
            }
            None
        }
    }
}
