//! The loop shared by both dispatchers: lock a batch within the concurrency limit, run each
//! work item on its own task, and sleep when idle until signalled, until the next delayed
//! message is due, or until the idle poll interval passes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};

use super::Shared;
use durable_store::{Batch, StoreResult, WorkSignals};

/// What one dispatcher does; the loop is the same for orchestrations and activities.
pub(crate) struct Dispatcher<L, W> {
    /// For logs.
    pub what: &'static str,
    /// Work items run at once: the permits of `permits` (which others may also take).
    pub limit: usize,
    /// One permit per running work item.
    pub permits: Arc<Semaphore>,
    /// The signal local commits raise for this kind of work.
    pub signal: fn(&WorkSignals) -> &Notify,
    /// Locks up to `max` work items.
    pub lock: L,
    /// Runs one work item to its commit.
    pub work: W,
}

impl<T, L, LF, W, WF> Dispatcher<L, W>
where
    T: Send + 'static,
    L: Fn(Arc<Shared>, usize) -> LF,
    LF: Future<Output = StoreResult<Batch<T>>>,
    W: Fn(Arc<Shared>, T) -> WF,
    WF: Future<Output = ()> + Send + 'static,
{
    /// Runs until `shutdown` turns true, then waits for in-flight work (up to the deadline).
    pub async fn run(self, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
        let total = self.limit.max(1);
        let sem = Arc::clone(&self.permits);
        let signal = (self.signal)(shared.store.signals());
        while !*shutdown.borrow() {
            let free = sem.available_permits();
            if free == 0 {
                tokio::select! {
                    p = sem.clone().acquire_owned() => drop(p),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let max = free.min(shared.options.batch_size);
            let batch = match (self.lock)(shared.clone(), max).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "locking {} work failed", self.what);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.items.is_empty() {
                let wait = idle_wait(batch.next_due, shared.options.idle_poll_interval);
                tokio::select! {
                    _ = signal.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            shared.metrics.batch(self.what, batch.items.len());
            for item in batch.items {
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    break;
                };
                let fut = (self.work)(shared.clone(), item);
                tokio::spawn(async move {
                    fut.await;
                    drop(permit);
                });
            }
        }
        let all = u32::try_from(total).unwrap_or(u32::MAX);
        let deadline = shared.options.shutdown_deadline;
        if tokio::time::timeout(deadline, sem.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(
                "shutdown deadline passed with {} work in flight; it will be recovered",
                self.what
            );
        }
    }
}

/// How long to sleep when idle: until the next due message, at most the idle poll interval.
fn idle_wait(next_due: Option<chrono::DateTime<chrono::Utc>>, max: Duration) -> Duration {
    match next_due {
        Some(due) => (due - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(max),
        None => max,
    }
}
