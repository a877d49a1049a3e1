//! The activity dispatcher: lock a batch of requests, run each activity (at least once), and
//! answer its orchestration with `TaskCompleted` or `TaskFailed`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::{watch, Semaphore};

use super::{drain, idle_wait, Shared};
use crate::engine::failure::Failure;
use crate::engine::function::ActivityContext;
use crate::engine::history::{EventKind, HistoryEvent};
use crate::engine::message::TaskMessage;
use crate::store::ActivityWorkItem;

pub(crate) async fn dispatch(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let total = shared.options.max_concurrent_activities.max(1);
    let sem = Arc::new(Semaphore::new(total));
    let signals = shared.store.signals();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = sem.available_permits();
        if free == 0 {
            tokio::select! {
                p = sem.clone().acquire_owned() => drop(p),
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let max = free.min(shared.options.batch_size);
        let batch = match shared
            .store
            .lock_activities(max, shared.options.activity_lock)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "locking activity work failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.items.is_empty() {
            let wait = idle_wait(batch.next_due, shared.options.idle_poll_interval);
            tokio::select! {
                _ = signals.activities.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        for item in batch.items {
            let Ok(permit) = sem.clone().acquire_owned().await else {
                break;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                run(&shared, item).await;
                drop(permit);
            });
        }
    }
    drain(&sem, total, shared.options.shutdown_deadline).await;
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
