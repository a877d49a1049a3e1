//! The activity dispatcher: lock a batch of requests, run each activity (at least once), and
//! answer its orchestration with `TaskCompleted` or `TaskFailed`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::watch;

use super::dispatch::Dispatcher;
use super::Shared;
use crate::engine::failure::Failure;
use crate::engine::function::ActivityContext;
use crate::engine::history::{EventKind, HistoryEvent};
use crate::engine::message::TaskMessage;
use crate::store::ActivityWorkItem;

/// The activity dispatcher.
pub(crate) async fn dispatch(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let dispatcher = Dispatcher {
        what: "activity",
        limit: shared.options.max_concurrent_activities,
        signal: |s| &s.activities,
        lock: |shared: Arc<Shared>, max| async move {
            let lock_for = shared.options.activity_lock;
            shared.store.lock_activities(max, lock_for).await
        },
        work: |shared: Arc<Shared>, item| async move { run(&shared, item).await },
    };
    dispatcher.run(shared, shutdown).await;
}

/// Runs one activity and commits its answer.
async fn run(shared: &Shared, item: ActivityWorkItem) {
    let request = &item.message;
    let EventKind::TaskScheduled { name, input, .. } = &request.event.kind else {
        tracing::error!(
            id = item.id,
            "activity queue holds a message that is not TaskScheduled"
        );
        return;
    };
    let ctx = ActivityContext {
        instance_id: request.orchestration_instance.instance_id.clone(),
        name: name.clone(),
        task_scheduled_id: request.event.event_id,
        dequeue_count: item.dequeue_count,
    };
    let result = match shared.registry.activity_by_name(name) {
        None => Err(Failure::new(
            "ActivityNotFound",
            format!("no activity named {name:?} is registered on this host"),
        )),
        Some(f) => {
            let fut = AssertUnwindSafe(f(ctx, input.clone())).catch_unwind();
            let renew_every = shared.options.activity_lock / 2;
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    r = &mut fut => break r.unwrap_or_else(|_| Err(Failure::new("Panic", format!("activity {name} panicked")))),
                    _ = tokio::time::sleep(renew_every) => {
                        if let Err(e) = shared.store.renew_activity_lock(&item, shared.options.activity_lock).await {
                            tracing::warn!(activity = %name, error = %e, "could not renew the activity lock");
                        }
                    }
                }
            }
        }
    };
    let task_scheduled_id = request.event.event_id;
    let event = match result {
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
    };
    let response = TaskMessage::new(
        request.orchestration_instance.clone(),
        HistoryEvent::new(event),
    );
    if let super::direct::Direct::Done = super::direct::complete(shared, &item, &response).await {
        shared.stats.activities.fetch_add(1, Ordering::Relaxed);
        return;
    }
    match shared.store.complete_activity(&item, response).await {
        Ok(_) => {
            shared.stats.activities.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            tracing::error!(activity = %name, error = %e, "completing the activity failed; it will run again");
            let _ = shared
                .store
                .abandon_activity(&item, std::time::Duration::from_secs(1))
                .await;
        }
    }
}
