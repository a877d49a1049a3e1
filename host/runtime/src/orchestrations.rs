//! The orchestration dispatcher: lock a batch of instances, run one episode each (from the live
//! cache when possible), commit each episode atomically.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

use tracing::Instrument;

use super::dispatch::Dispatcher;
use super::execution_log;
use super::Shared;
use durable_engine::history::{
    EventKind, FailureDetails, HistoryEvent, OrchestrationStatus, ParentInstance,
};
use durable_engine::message::TaskMessage;
use durable_engine::replay::{Execution, Outbound};
use durable_store::clock;
use durable_store::{HistoryUpdate, OrchestrationCommit, OrchestrationWorkItem, StoreError};

mod gate;
mod replay_check;
mod rewind;

use gate::Gate;
pub use gate::{ORCHESTRATOR_NOT_FOUND, VERSION_MISMATCH};

/// The orchestration dispatcher.
pub(crate) async fn dispatch(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let dispatcher = Dispatcher {
        what: "orchestration",
        limit: shared.options.max_concurrent_orchestrations,
        permits: Arc::new(Semaphore::new(
            shared.options.max_concurrent_orchestrations.max(1),
        )),
        signal: |s| &s.orchestrations,
        lock: |shared: Arc<Shared>, max| async move {
            let lock_for = shared.options.orchestration_lock;
            shared.store.lock_orchestrations(max, lock_for).await
        },
        work: |shared: Arc<Shared>, item| async move { process(&shared, item).await },
    };
    dispatcher.run(shared, shutdown).await;
}

/// Runs one work item to its commit, in the span of its execution.
async fn process(shared: &Arc<Shared>, item: OrchestrationWorkItem) {
    if durable_engine::entity::is_entity_instance(&item.instance_id) {
        return super::entities::process(shared, item).await;
    }
    let name = item
        .messages
        .iter()
        .find_map(|m| match &m.message.event.kind {
            EventKind::ExecutionStarted(s) => Some(s.name.as_str()),
            _ => None,
        })
        .or_else(|| item.instance.as_ref().map(|i| i.name.as_str()))
        .unwrap_or_default();
    let span = execution_log::span("orchestration", name, &item.instance_id);
    run_episode(shared, item).instrument(span).await
}

/// Runs one orchestration episode to its commit.
async fn run_episode(shared: &Arc<Shared>, item: OrchestrationWorkItem) {
    if rewind::is_rewind(&item) {
        return rewind::rewind(shared, item).await;
    }
    let instance_id = item.instance_id.clone();
    let stored = item.instance.as_ref();
    let start = item
        .messages
        .iter()
        .find_map(|m| match &m.message.event.kind {
            EventKind::ExecutionStarted(s) => Some(s.as_ref()),
            _ => None,
        });
    let has_history = stored.is_some_and(|i| i.history_len > 0);
    let episode_started = std::time::Instant::now();
    if tracing::enabled!(tracing::Level::DEBUG) {
        let reason = execution_log::reason(&item.messages);
        tracing::debug!(%reason, "executing");
    }
    let finished = has_history && stored.is_some_and(|i| i.status.is_terminal());
    // A start for another execution than the stored one (e.g. a sub-orchestration reusing an id).
    let foreign_start = start.filter(|s| {
        has_history
            && stored.is_some_and(|i| {
                s.orchestration_instance.execution_id.as_deref() != Some(&*i.execution_id)
            })
    });
    let restart = finished && foreign_start.is_some();
    // Nothing to do for a finished instance unless a new execution starts on its id (a
    // redelivered start of the finished execution is a duplicate).
    if start.is_none() || (finished && !restart) {
        if stored.is_none() || finished {
            tracing::warn!(instance_id = %instance_id, count = item.messages.len(), "dropping messages for an instance that is not running");
            commit(shared, &item, ack_only(), None).await;
            return;
        }
        if !has_history {
            if let Some(row) = stored.and_then(|row| terminated_before_start(row, &item)) {
                // Terminated before its start is visible (scheduled for later, or held back
                // for a host that has its code): it ends without running; the start, when it
                // shows, finds it ended and is dropped.
                tracing::info!(instance_id = %instance_id, "terminated before it started");
                let c = OrchestrationCommit {
                    instance: Some(row),
                    ..ack_only()
                };
                if commit(shared, &item, c, None).await {
                    shared.completions.notify(&item.instance_id);
                }
                return;
            }
            // Created but its (delayed) start is not visible yet: keep the messages for later.
            let _ = shared
                .store
                .abandon_orchestration(&item, std::time::Duration::from_secs(1))
                .await;
            return;
        }
    }
    // The orchestration this work item runs: the one starting, else the stored one.
    let (name, version) = match start.filter(|_| !has_history || restart) {
        Some(s) => (s.name.as_str(), s.version.as_deref()),
        None => stored
            .map(|i| (i.name.as_str(), i.version.as_deref()))
            .unwrap_or_default(),
    };
    let gate = gate::check(shared, &item, name, version).await;
    let check_replay = shared.options.replay_check && matches!(gate, Gate::Run) && !restart;
    let now = clock::now();
    let messages: Vec<_> = item.messages.iter().map(|m| m.message.clone()).collect();
    let cacheable = !matches!(gate, Gate::Remote(_));
    let (mut exec, mut out) = match gate {
        Gate::HeldBack => return,
        Gate::Remote(workers) => {
            let replay = has_history && !restart;
            let Some(history) = crate::remote_work::history_of(shared, &item, replay).await else {
                return;
            };
            let ran = crate::remote_work::episode(
                shared,
                &item,
                &workers,
                (name, version),
                history,
                now,
                messages.clone(),
            )
            .await;
            match ran {
                Some(ran) => ran,
                None => return,
            }
        }
        gate => {
            let exec = match gate {
                Gate::Fail(details) => {
                    let env = shared.env.failing_with(details);
                    replayed_under(shared, &item, has_history && !restart, env).await
                }
                Gate::TerminateWithoutCode => {
                    let env = shared.env.without_code();
                    replayed_under(shared, &item, has_history && !restart, env).await
                }
                _ if restart => Ok(Execution::new(shared.env.clone())),
                _ => execution_for(shared, &item).await,
            };
            let mut exec = match exec {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(instance_id = %instance_id, error = %e, retryable = e.is_retryable(), "loading history failed");
                    super::release::orchestration(shared, &item, &e).await;
                    return;
                }
            };
            let out = exec.run_episode(now, messages.clone());
            (exec, out)
        }
    };
    if check_replay {
        let found =
            replay_check::check(shared, &item, has_history, messages.clone(), now, &out).await;
        if let Some(details) = found {
            exec = match failing_execution(shared, &item, has_history, details).await {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(instance_id = %instance_id, error = %e, "loading history failed");
                    super::release::orchestration(shared, &item, &e).await;
                    return;
                }
            };
            out = exec.run_episode(now, messages);
        }
    }
    execution_log::trace(&tracing::Span::current(), exec.trace_id());
    let spans = std::mem::take(&mut out.spans);
    if restart {
        out.new_execution = true;
    } else if let Some(parent) = foreign_start.and_then(|s| s.parent_instance.as_ref()) {
        tracing::warn!(instance_id = %instance_id, "a sub-orchestration was started with the id of a running instance");
        out.messages.push(reject_child_start(&instance_id, parent));
    }
    let starting = start.is_some() && (!has_history || restart);
    let name = exec.started().map_or("", |s| s.name.as_str());
    let ended = execution_log::Ended::of(name, &out, exec.started_at(), now);
    let terminal = out.status.is_terminal();
    let c = super::commits::build_commit(stored.filter(|_| !restart), &exec, out, now);
    // Logged once the commit holds: a failed one runs the episode again.
    if commit(shared, &item, c, (!terminal && cacheable).then_some(exec)).await {
        if starting {
            let reason = execution_log::reason(&item.messages);
            tracing::info!(%reason, "orchestration started");
        }
        ended.record(&shared.metrics, starting, episode_started.elapsed());
        shared.options.tracer.record_all(spans);
    }
    if terminal {
        shared.completions.notify(&item.instance_id);
    }
}

/// The row of a Pending instance that `item` terminates before its start was seen, if it does.
fn terminated_before_start(
    row: &durable_store::InstanceState,
    item: &OrchestrationWorkItem,
) -> Option<durable_store::InstanceState> {
    let reason = item
        .messages
        .iter()
        .find_map(|m| match &m.message.event.kind {
            EventKind::ExecutionTerminated { input } => Some(input.clone()),
            _ => None,
        })?;
    let now = clock::now();
    Some(durable_store::InstanceState {
        status: OrchestrationStatus::Terminated,
        output: reason,
        last_updated_at: now,
        completed_at: Some(now),
        ..row.clone()
    })
}

/// Tells a parent that its child could not start because the id is taken by a running instance.
fn reject_child_start(instance_id: &str, parent: &ParentInstance) -> Outbound {
    let details = FailureDetails::new(
        "InstanceAlreadyRunning",
        format!("an instance with id {instance_id:?} is already running"),
    );
    Outbound::Orchestration {
        message: TaskMessage::new(
            parent.orchestration_instance.clone(),
            HistoryEvent::new(
                clock::now(),
                EventKind::SubOrchestrationInstanceFailed {
                    task_scheduled_id: parent.task_schedule_id,
                    reason: Some(details.error_message.clone()),
                    details: None,
                    failure_details: Some(details),
                },
            ),
        ),
        visible_at: None,
    }
}

/// The live execution from the cache if it matches the stored state, else a replay.
async fn execution_for(
    shared: &Shared,
    item: &OrchestrationWorkItem,
) -> Result<Execution, StoreError> {
    let cached = shared.cache.lock().take(&item.instance_id);
    let stored = item.instance.as_ref();
    let stored_len = stored.map_or(0, |i| i.history_len);
    if let Some(ex) = cached {
        let same = stored.is_some_and(|i| {
            ex.history_len() == i.history_len
                && ex.execution_id().as_deref() == Some(&*i.execution_id)
        });
        if same {
            shared.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(ex);
        }
    }
    if stored_len == 0 {
        return Ok(Execution::new(shared.env.clone()));
    }
    let history = shared.store.get_history(&item.instance_id).await?;
    shared.stats.replays.fetch_add(1, Ordering::Relaxed);
    Ok(Execution::from_history(shared.env.clone(), &history))
}

/// The execution that ends the instance with `details` (replaying its history, if it has
/// one, without running the orchestrator's code).
async fn failing_execution(
    shared: &Shared,
    item: &OrchestrationWorkItem,
    replay: bool,
    details: FailureDetails,
) -> Result<Execution, StoreError> {
    replayed_under(shared, item, replay, shared.env.failing_with(details)).await
}

/// The instance's execution rebuilt under `env` (from its history when `replay`), never from
/// the cache.
async fn replayed_under(
    shared: &Shared,
    item: &OrchestrationWorkItem,
    replay: bool,
    env: durable_engine::environment::Environment,
) -> Result<Execution, StoreError> {
    shared.cache.lock().take(&item.instance_id);
    if !replay {
        return Ok(Execution::new(env));
    }
    let history = shared.store.get_history(&item.instance_id).await?;
    Ok(Execution::from_history(env, &history))
}

fn ack_only() -> OrchestrationCommit {
    OrchestrationCommit {
        history: HistoryUpdate::Append(Vec::new()),
        instance: None,
        orchestrator_messages: Vec::new(),
        activity_messages: Vec::new(),
    }
}

/// Commits an episode; true if it holds.
async fn commit(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    commit: OrchestrationCommit,
    keep: Option<Execution>,
) -> bool {
    // Cached before the commit: the store wakes the dispatchers as soon as it commits, and the
    // next work item of this instance must find its execution (else it replays everything).
    // An entry is only ever used when its history length matches the stored row, so one left
    // by a failed commit could never be used wrongly; it is removed anyway.
    let cached = keep.is_some();
    if let Some(ex) = keep {
        shared.cache.lock().put(item.instance_id.clone(), ex);
    }
    let permits = super::slots::reserve(shared, commit.activity_messages.len());
    let lock = super::slots::lock_for(shared, &permits);
    let committing = std::time::Instant::now();
    let result = shared
        .store
        .complete_orchestration_locking(item, commit, lock)
        .await;
    shared.metrics.commit("orchestration", committing.elapsed());
    if result.is_err() && cached {
        shared.cache.lock().take(&item.instance_id);
    }
    match result {
        Ok(locked) => {
            shared.stats.episodes.fetch_add(1, Ordering::Relaxed);
            super::activities::spawn_locked(shared, locked, permits);
            true
        }
        Err(StoreError::LockLost(_)) => {
            tracing::warn!(instance_id = %item.instance_id, "lock lost before commit; another worker owns the instance");
            false
        }
        Err(e) => {
            tracing::error!(instance_id = %item.instance_id, error = %e, retryable = e.is_retryable(), "commit failed; the work item will be retried");
            super::release::orchestration(shared, item, &e).await;
            false
        }
    }
}
