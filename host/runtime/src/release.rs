//! Giving work back after a store call failed, so that it is tried again soon on this host.
//!
//! A failed commit leaves its work item locked to this host, and abandoning it makes it
//! visible again after [`retry_after`](crate::retry_after). But the fault that failed the
//! commit (a full disk, a dropped connection, a storage outage) often fails the abandon too,
//! and the item would then wait out its whole lock (60 s for an orchestration, 300 s for an
//! activity) after the fault ended. So a failed abandon is tried again in the background,
//! every [`FIRST_RETRY`] at first and at most every [`MAX_RETRY`], until it succeeds or the
//! lock has run out anyway. An abandon names its lock, so one that comes late changes nothing
//! once another worker has taken the item.

use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_store::{ActivityWorkItem, OrchestrationWorkItem, StoreError};

use super::Shared;

/// The first wait before a failed abandon is tried again.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The longest wait between tries.
const MAX_RETRY: Duration = Duration::from_secs(2);

/// Gives a locked orchestration work item back after `error`.
pub(crate) async fn orchestration(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    error: &StoreError,
) {
    let delay = super::retry_after(error);
    let lock = shared.options.orchestration_lock;
    if shared
        .store
        .abandon_orchestration(item, delay)
        .await
        .is_ok()
    {
        return;
    }
    let (shared, item) = (Arc::clone(shared), item.clone());
    tokio::spawn(async move {
        let instance_id = item.instance_id.clone();
        retry(&instance_id, lock, || {
            shared.store.abandon_orchestration(&item, delay)
        })
        .await;
    });
}

/// Gives a locked activity request back after `error`.
pub(crate) async fn activity(shared: &Arc<Shared>, item: &ActivityWorkItem, error: &StoreError) {
    let delay = super::retry_after(error);
    let lock = shared.options.activity_lock;
    if shared.store.abandon_activity(item, delay).await.is_ok() {
        return;
    }
    let (shared, item) = (Arc::clone(shared), item.clone());
    tokio::spawn(async move {
        let instance_id = item.message.orchestration_instance.instance_id.clone();
        retry(&instance_id, lock, || {
            shared.store.abandon_activity(&item, delay)
        })
        .await;
    });
}

/// Calls `abandon` until it succeeds or `lock` (counted from now, a bound on what is left of
/// the lock) has passed.
async fn retry<F, Fut>(instance_id: &str, lock: Duration, mut abandon: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let give_up = Instant::now() + lock;
    let mut wait = FIRST_RETRY;
    loop {
        tokio::time::sleep(wait).await;
        match abandon().await {
            Ok(()) => {
                tracing::info!(instance_id, "released work left locked by a failed commit");
                return;
            }
            Err(StoreError::LockLost(_)) => return,
            Err(e) if Instant::now() >= give_up => {
                tracing::warn!(instance_id, error = %e, "could not release work; its lock runs out instead");
                return;
            }
            Err(_) => wait = (wait * 2).min(MAX_RETRY),
        }
    }
}
