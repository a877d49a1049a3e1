//! The activity dispatcher: lock a batch of requests, run each activity (at least once), and
//! answer its orchestration with `TaskCompleted` or `TaskFailed`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use tokio::sync::{watch, OwnedSemaphorePermit};
use tracing::Instrument;

use super::direct::Direct;
use super::dispatch::Dispatcher;
use super::execution_log;
use super::waiting::{activity_key, Verdict};
use super::Shared;
use durable_engine::activity_options::timeout_of;
use durable_engine::failure::{Failure, ACTIVITY_TIMEOUT};
use durable_engine::function::{activity_answer, ActivityContext};
use durable_engine::history::{EventKind, FailureDetails, HistoryEvent};
use durable_engine::message::TaskMessage;
use durable_engine::trace::{self, span_id_from, SpanContext, SpanKind, SpanRecord};
use durable_store::clock;
use durable_store::ActivityWorkItem;

/// The failure type of an activity call that no host had a function for in time.
pub const ACTIVITY_NOT_FOUND: &str = "ActivityNotFound";

/// The failure type of an activity run cancelled because its orchestration ended (terminated,
/// failed, or completed without awaiting it).
pub const CANCELED: &str = "Canceled";

/// The failure of a run cancelled at its timeout.
fn timed_out(timeout: std::time::Duration) -> Failure {
    Failure::new(
        ACTIVITY_TIMEOUT,
        format!(
            "the activity ran longer than its timeout of {} ms and was cancelled",
            timeout.as_millis()
        ),
    )
}

/// The activity dispatcher.
pub(crate) async fn dispatch(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let dispatcher = Dispatcher {
        what: "activity",
        limit: shared.options.max_concurrent_activities,
        permits: Arc::clone(&shared.activity_slots),
        signal: |s| &s.activities,
        lock: |shared: Arc<Shared>, max| async move {
            let lock_for = shared.options.activity_lock;
            shared.store.lock_activities(max, lock_for).await
        },
        work: |shared: Arc<Shared>, item| async move { run(&shared, item).await },
    };
    dispatcher.run(shared, shutdown).await;
}

/// Runs activity requests a commit handed back locked, each in the slot reserved for it
/// (unused slots are released).
pub(super) fn spawn_locked(
    shared: &Arc<Shared>,
    items: Vec<ActivityWorkItem>,
    permits: Vec<OwnedSemaphorePermit>,
) {
    for (item, permit) in items.into_iter().zip(permits) {
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            run(&shared, item).await;
            drop(permit);
        });
    }
}

/// Runs one activity and commits its answer, in the span of its execution.
async fn run(shared: &Arc<Shared>, item: ActivityWorkItem) {
    let request = &item.message;
    let EventKind::TaskScheduled {
        name,
        parent_trace_context,
        ..
    } = &request.event.kind
    else {
        tracing::error!(
            id = %item.id,
            "activity queue holds a message that is not TaskScheduled"
        );
        return;
    };
    let span = execution_log::span(
        "activity",
        name,
        &request.orchestration_instance.instance_id,
    );
    // The orchestration's call to this activity: the parent of its span.
    let call = SpanContext::from_history(parent_trace_context.as_ref());
    execution_log::trace(&span, call.as_ref().map(|c| c.trace_id));
    execute(shared, &item, call).instrument(span).await
}

/// Runs one activity request (called as `call`) and commits its answer.
async fn execute(shared: &Arc<Shared>, item: &ActivityWorkItem, call: Option<SpanContext>) {
    let request = &item.message;
    let EventKind::TaskScheduled {
        name, input, tags, ..
    } = &request.event.kind
    else {
        return;
    };
    let started = std::time::Instant::now();
    let started_at = clock::now();
    tracing::debug!(
        task_scheduled_id = request.event.event_id,
        attempt = item.dequeue_count,
        "executing"
    );
    let ctx = ActivityContext {
        instance_id: request.orchestration_instance.instance_id.clone(),
        name: name.clone(),
        task_scheduled_id: request.event.event_id,
        dequeue_count: item.dequeue_count,
    };
    let key = || {
        let target = &request.orchestration_instance;
        let execution = target.execution_id.as_deref();
        activity_key(&target.instance_id, execution, request.event.event_id)
    };
    let function = shared.registry.activity_by_name(name);
    let remote = match &function {
        Some(_) => None,
        None => super::remote_work::activity_workers(shared, name),
    };
    match (&function, &remote) {
        (Some(_), _) | (None, Some(_)) => shared.waiting.release_with(key),
        (None, None) => {
            if hold_back(shared, item, name, &key()).await {
                return;
            }
        }
    }
    let (result, started) = match function {
        None if remote.is_some() => {
            let workers = remote.expect("checked above");
            match super::remote_work::run_activity(shared, item, &workers, &ctx).await {
                Some(result) => (result, started),
                None => return,
            }
        }
        None => (
            Err(Failure(FailureDetails {
                is_non_retriable: true,
                ..FailureDetails::new(
                    ACTIVITY_NOT_FOUND,
                    format!(
                        "no activity named {name:?} is registered on this host, and no host that \
                     has it took the call within missingFunctionTimeout ({} s)",
                        shared.options.missing_function_timeout.as_secs()
                    ),
                )
            })),
            started,
        ),
        Some(f) => {
            let gate = shared.gates.get(name);
            let waiter = match gate.map(|g| (g, g.enter())) {
                None => None,
                Some((_, Some(waiter))) => Some(waiter),
                Some((gate, None)) => {
                    give_back(shared, item, name, gate.defer()).await;
                    return;
                }
            };
            let timeout =
                timeout_of(tags.as_ref()).or_else(|| shared.options.activity_timeout(name));
            // The instance ending on this host (terminated, failed, or done without awaiting
            // this call) cancels the run: nobody would read its answer.
            let ended = shared.completions.watch(&ctx.instance_id);
            let cancelled = ended.notify().notified();
            let run = async move {
                // Its turn under the activity's limits; the timeout counts from here.
                let _pass = match waiter {
                    Some(w) => Some(w.pass().await),
                    None => None,
                };
                let running = std::time::Instant::now();
                let fut = AssertUnwindSafe(f(ctx, input.clone())).catch_unwind();
                let finished = async {
                    fut.await.unwrap_or_else(|_| {
                        Err(Failure::new("Panic", format!("activity {name} panicked")))
                    })
                };
                let result = match timeout {
                    Some(t) => tokio::time::timeout(t, finished)
                        .await
                        .unwrap_or_else(|_| Err(timed_out(t))),
                    None => finished.await,
                };
                (result, running)
            };
            let run = async {
                tokio::select! {
                    r = run => r,
                    () = cancelled => (Err(Failure::new(
                        CANCELED,
                        "the orchestration ended; the activity was cancelled",
                    )), started),
                }
            };
            renewing_lock(shared, item, name, run).await
        }
    };
    let took = started.elapsed();
    shared.metrics.activity(name, result.is_ok(), took);
    let duration_ms = execution_log::millis(took);
    match &result {
        Ok(_) => tracing::debug!(outcome = "Succeeded", duration_ms, "executed"),
        Err(Failure(details)) if details.error_type == CANCELED => {
            tracing::info!(duration_ms, "activity cancelled: its orchestration ended")
        }
        Err(Failure(details)) => tracing::warn!(
            outcome = "Failed",
            duration_ms,
            error_type = %details.error_type,
            error = %details.error_message,
            "activity failed"
        ),
    }
    let task_scheduled_id = request.event.event_id;
    if let Some(call) = call {
        let error = result.as_ref().err().map(|f| f.0.error_message.clone());
        report_span(shared, request, name, call, started_at, error);
    }
    let event = activity_answer(task_scheduled_id, result);
    let response = TaskMessage::new(
        request.orchestration_instance.clone(),
        HistoryEvent::new(clock::now(), event),
    );
    match super::direct::complete(shared, item, &response).await {
        Direct::Committed { locked, permits } => {
            spawn_locked(shared, locked, permits);
            shared.stats.activities.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Direct::Duplicate => {
            shared.stats.activities.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Direct::Fallback => {}
    }
    let committing = std::time::Instant::now();
    let completed = shared.store.complete_activity(item, response).await;
    shared.metrics.commit("activity", committing.elapsed());
    match completed {
        Ok(_) => {
            shared.stats.activities.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            tracing::error!(activity = %name, error = %e, retryable = e.is_retryable(), "completing the activity failed; it will run again");
            super::release::activity(shared, item, &e).await;
        }
    }
}

/// Awaits `work`, renewing the activity's lock every half lock period meanwhile.
pub(crate) async fn renewing_lock<T>(
    shared: &Shared,
    item: &ActivityWorkItem,
    name: &str,
    work: impl std::future::Future<Output = T>,
) -> T {
    let renew_every = shared.options.activity_lock / 2;
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = tokio::time::sleep(renew_every) => {
                if let Err(e) = shared.store.renew_activity_lock(item, shared.options.activity_lock).await {
                    tracing::warn!(activity = %name, error = %e, "could not renew the activity lock");
                }
            }
        }
    }
}

/// Gives a run of a limited activity back to the task hub, to be tried again `after`, when
/// as many runs as its backlog already wait on this host.
async fn give_back(shared: &Shared, item: &ActivityWorkItem, name: &str, after: Duration) {
    tracing::debug!(
        activity = name,
        retry_after_ms = execution_log::millis(after),
        "the activity's limit is reached and its backlog here is full; giving the run back"
    );
    shared.metrics.limited(name);
    shared.stats.deferred_runs.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = shared.store.abandon_activity(item, after).await {
        tracing::warn!(activity = name, error = %e, "could not give the activity call back; its lock runs out instead");
    }
}

/// Gives back an activity call this host has no function for, so that a host that has it
/// runs it; false once this host has held it back for the missing-function timeout (the call
/// then fails).
async fn hold_back(shared: &Shared, item: &ActivityWorkItem, name: &str, key: &str) -> bool {
    let instance_id = &item.message.orchestration_instance.instance_id;
    match shared
        .waiting
        .hold(key, shared.options.missing_function_timeout)
    {
        Verdict::GiveUp { waited } => {
            tracing::error!(activity = name, %instance_id, waited_s = waited.as_secs(), "failing the activity call: no activity of this name is registered on this host, and no host that has it took the call in time");
            false
        }
        Verdict::Wait { delay, first } => {
            if first {
                tracing::warn!(activity = name, %instance_id, "leaving the activity call for another host: no activity of this name is registered on this host");
            }
            if let Err(e) = shared.store.abandon_activity(item, delay).await {
                tracing::warn!(activity = name, error = %e, "could not give the activity call back; its lock runs out instead");
            }
            true
        }
    }
}

/// Reports the span of one run of an activity (server side), under the orchestration's call.
fn report_span(
    shared: &Shared,
    request: &TaskMessage,
    name: &str,
    call: SpanContext,
    started_at: chrono::DateTime<chrono::Utc>,
    error: Option<String>,
) {
    if !shared.options.tracer.is_on() {
        return;
    }
    let own = call.child(span_id_from(shared.env.ids.new_id().as_u128()));
    let mut span = SpanRecord::new(
        ["activity:", name].concat(),
        SpanKind::Server,
        own,
        Some(call.span_id),
        started_at,
        clock::now(),
    )
    .attr(trace::TYPE, "activity")
    .attr(trace::TASK_NAME, name.to_owned())
    .attr(
        trace::INSTANCE_ID,
        request.orchestration_instance.instance_id.clone(),
    )
    .attr(trace::TASK_ID, i64::from(request.event.event_id));
    span.error = error;
    shared.options.tracer.record(span);
}
