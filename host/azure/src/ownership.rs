//! What this process does with its partition leases: the lease loop, giving back the
//! messages of partitions it no longer owns, keeping held messages hidden from other
//! processes while it still holds them, and letting everything go on shutdown.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::{watch, OnceCell};
use tokio::task::JoinHandle;

use super::held::Held;
use super::hub::{storage, AzureTaskHub};
use super::partitions::Partitions;
use durable_azure_storage::queues::QueueClient;
use durable_store::clock;
use durable_store::{StoreError, StoreResult};

/// The lease loop of one hub, started by its first orchestration poll (clients never lease).
#[derive(Default)]
pub(super) struct Leasing {
    started: OnceCell<()>,
    running: Mutex<Option<(watch::Sender<bool>, JoinHandle<()>)>>,
    last_keep_hidden: Mutex<Option<Instant>>,
}

/// A held message whose queue visibility is to change.
struct Visibility {
    queue: QueueClient,
    message_id: String,
    pop_receipt: String,
}

impl AzureTaskHub {
    /// Who holds which partition now, read from the lease blobs: control queue name → worker
    /// id, for the leases currently held.
    pub async fn partition_owners(&self) -> StoreResult<BTreeMap<String, String>> {
        let owners = self.partitions.owners().await.map_err(storage)?;
        Ok(owners
            .into_iter()
            .map(|(p, owner)| (self.names.control_queue(p as u32), owner))
            .collect())
    }

    /// This process's worker id in the lease blobs.
    pub fn worker_id(&self) -> &str {
        self.partitions.worker()
    }

    /// Starts leasing on the first call: one balance round at once (so that a lone process
    /// owns its partitions before its first receive), then the loop.
    pub(super) async fn ensure_leasing(&self) -> StoreResult<()> {
        self.leasing
            .started
            .get_or_try_init(|| async {
                self.partitions.balance().await.map_err(storage)?;
                let (stop, stopped) = watch::channel(false);
                let run = tokio::spawn(lease_loop(Arc::downgrade(&self.partitions), stopped));
                *self.leasing.running.lock() = Some((stop, run));
                tracing::info!(
                    worker = %self.partitions.worker(),
                    owned = ?self.partitions.owned(),
                    "partition leasing started"
                );
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
    }

    /// Gives back (visible at once) the held control messages of partitions this process does
    /// not own, except those of instances it is working on.
    pub(super) async fn release_unowned(&self) {
        let lost = self.partitions.take_lost();
        let owned = self.partitions.owned();
        let released: Vec<Held> = {
            let mut state = self.orchestrations.lock();
            if !lost.is_empty() {
                let names = &self.names;
                state
                    .checkpoints
                    .retain(|id, _| owned.contains(&(names.partition_of(id) as usize)));
            }
            let now = clock::now();
            let unowned: Vec<String> = state
                .messages
                .iter()
                .filter(|(id, held)| {
                    held.first().is_some_and(|h| !owned.contains(&h.queue))
                        && !state.is_locked(id, now)
                })
                .map(|(id, _)| id.clone())
                .collect();
            unowned
                .into_iter()
                .flat_map(|id| state.messages.remove(&id).unwrap_or_default())
                .collect()
        };
        if !lost.is_empty() || !released.is_empty() {
            tracing::info!(
                lost = ?lost,
                released = released.len(),
                "giving back the messages of partitions this worker no longer owns"
            );
        }
        let updates = released
            .into_iter()
            .map(|h| self.visibility_of(&self.control[h.queue], &h))
            .collect();
        self.set_visibility(updates, Duration::ZERO).await;
    }

    /// Extends the queue visibility of held messages that would soon show again, at most
    /// once a second.
    pub(super) async fn keep_hidden(&self) {
        {
            let mut last = self.leasing.last_keep_hidden.lock();
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                return;
            }
            *last = Some(Instant::now());
        }
        let control = self.options.control_queue_visibility;
        let work = self.options.work_item_visibility;
        let soon = |visibility: Duration| {
            clock::now() + chrono::Duration::from_std(visibility / 3).unwrap_or_default()
        };
        let control_due: Vec<Visibility> = {
            let state = self.orchestrations.lock();
            let limit = soon(control);
            state
                .messages
                .values()
                .flatten()
                .filter(|h| h.hidden_until < limit)
                .map(|h| self.visibility_of(&self.control[h.queue], h))
                .collect()
        };
        let work_due: Vec<Visibility> = {
            let held = self.activities.lock();
            let limit = soon(work);
            held.iter()
                .filter(|h| h.hidden_until < limit)
                .map(|h| self.visibility_of(&self.work_items, h))
                .collect()
        };
        for (receipt, hidden_until) in self.set_visibility(control_due, control).await {
            let mut state = self.orchestrations.lock();
            if let Some(h) = state
                .messages
                .values_mut()
                .flatten()
                .find(|h| h.message_id == receipt.0)
            {
                h.pop_receipt = receipt.1;
                h.hidden_until = hidden_until;
            }
        }
        for (receipt, hidden_until) in self.set_visibility(work_due, work).await {
            let mut held = self.activities.lock();
            if let Some(h) = held.iter_mut().find(|h| h.message_id == receipt.0) {
                h.pop_receipt = receipt.1;
                h.hidden_until = hidden_until;
            }
        }
    }

    fn visibility_of(&self, queue: &QueueClient, h: &Held) -> Visibility {
        Visibility {
            queue: queue.clone(),
            message_id: h.message_id.clone(),
            pop_receipt: h.pop_receipt.clone(),
        }
    }

    /// Sets the visibility of messages; returns ((message id, new pop receipt), hidden
    /// until) for those updated. A message already gone (completed meanwhile) is skipped.
    async fn set_visibility(
        &self,
        messages: Vec<Visibility>,
        visible_in: Duration,
    ) -> Vec<((String, String), DateTime<Utc>)> {
        let updates = messages.into_iter().map(|m| async move {
            let result = m
                .queue
                .update(&m.message_id, &m.pop_receipt, visible_in)
                .await;
            (m.message_id, result)
        });
        let mut updated = Vec::new();
        for (id, result) in futures::future::join_all(updates).await {
            match result {
                Ok((receipt, next)) => updated.push(((id, receipt), next)),
                Err(e) if matches!(e.status(), Some(404) | Some(400)) => {}
                Err(e) => tracing::warn!(error = %e, "could not change a message's visibility"),
            }
        }
        updated
    }

    /// Stops the lease loop, gives back every held message nobody works on, and releases the
    /// partition leases.
    pub(super) async fn stop_leasing(&self) {
        let running = self.leasing.running.lock().take();
        let Some((stop, run)) = running else {
            return;
        };
        let _ = stop.send(true);
        let _ = run.await;
        let now = clock::now();
        let control: Vec<Visibility> = {
            let mut state = self.orchestrations.lock();
            let idle: Vec<String> = state
                .messages
                .keys()
                .filter(|id| !state.is_locked(id, now))
                .cloned()
                .collect();
            idle.into_iter()
                .flat_map(|id| state.messages.remove(&id).unwrap_or_default())
                .map(|h| self.visibility_of(&self.control[h.queue], &h))
                .collect()
        };
        let work: Vec<Visibility> = {
            let mut held = self.activities.lock();
            let (idle, busy): (Vec<Held>, Vec<Held>) = std::mem::take(&mut *held)
                .into_iter()
                .partition(|h| h.lock.as_ref().is_none_or(|(_, until)| *until <= now));
            *held = busy;
            idle.iter()
                .map(|h| self.visibility_of(&self.work_items, h))
                .collect()
        };
        self.set_visibility(control, Duration::ZERO).await;
        self.set_visibility(work, Duration::ZERO).await;
        self.partitions.release_all().await;
        tracing::info!(worker = %self.partitions.worker(), "partition leases released");
    }
}

/// Renews and balances the leases until stopped or until the hub is gone.
async fn lease_loop(partitions: Weak<Partitions>, mut stopped: watch::Receiver<bool>) {
    let Some(settings) = partitions.upgrade().map(|p| p.settings().clone()) else {
        return;
    };
    let mut next_renew = Instant::now() + settings.renew_interval;
    let mut next_balance = Instant::now() + settings.acquire_interval;
    loop {
        let wake = next_renew.min(next_balance);
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = stopped.changed() => return,
        }
        let Some(partitions) = partitions.upgrade() else {
            return;
        };
        let now = Instant::now();
        if now >= next_renew {
            partitions.renew().await;
            next_renew = now + settings.renew_interval;
        }
        if now >= next_balance {
            if let Err(e) = partitions.balance().await {
                tracing::warn!(error = %e, "could not balance the partition leases");
            }
            next_balance = Instant::now() + settings.acquire_interval;
        }
    }
}
