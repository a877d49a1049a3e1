//! The activity side: the work-item queue, locks held in memory, and completion (response to
//! the orchestration's control queue first, then the request is deleted).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::held::{Held, Polled};
use super::hub::{storage, AzureTaskHub};
use durable_engine::message::TaskMessage;
use durable_store::clock;
use durable_store::{ActivityWorkItem, Batch, StoreError, StoreResult, WorkItemId};

fn later(d: Duration) -> DateTime<Utc> {
    clock::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl AzureTaskHub {
    async fn receive_work_items(&self) -> StoreResult<Polled> {
        // Take no more than the workers here will start soon: what is received is hidden
        // from every other process.
        let waiting = self
            .activities
            .lock()
            .iter()
            .filter(|h| h.lock.is_none())
            .count();
        if waiting >= durable_azure_storage::queues::MAX_BATCH {
            return Ok(Polled::Nothing);
        }
        let received = self
            .work_items
            .get(
                durable_azure_storage::queues::MAX_BATCH,
                self.options.work_item_visibility,
            )
            .await
            .map_err(storage)?;
        let polled = Polled::of(received.len());
        for r in received {
            let message = match self.read_message(&r).await {
                Ok((message, _)) => message,
                Err(StoreError::Corrupt(why)) => {
                    tracing::warn!(%why, "discarding an unreadable activity request");
                    let _ = self.work_items.delete_message(&r.id, &r.pop_receipt).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut held = self.activities.lock();
            if let Some(h) = held.iter_mut().find(|h| h.message_id == r.id) {
                h.pop_receipt = r.pop_receipt;
                h.hidden_until = r.next_visible_at;
                continue;
            }
            held.push(Held {
                id: self
                    .next_id
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                queue: 0,
                message_id: r.id,
                pop_receipt: r.pop_receipt,
                message,
                order: (r.inserted_at, 0),
                visible_at: clock::now(),
                hidden_until: r.next_visible_at,
                // Counted up when handed out.
                dequeue_count: r.dequeue_count.saturating_sub(1),
                lock: None,
            });
        }
        Ok(polled)
    }

    /// Deletes the activity requests of a purged instance that are not locked by a worker
    /// (after receiving what is visible in the work-item queue).
    pub(super) async fn drop_pending_activities(&self, instance_id: &str) -> StoreResult<()> {
        self.receive_work_items().await?;
        let now = clock::now();
        let dropped: Vec<Held> = {
            let mut held = self.activities.lock();
            let (dropped, kept) = std::mem::take(&mut *held).into_iter().partition(|h| {
                h.message.instance_id() == instance_id
                    && h.lock.as_ref().is_none_or(|(_, until)| *until <= now)
            });
            *held = kept;
            dropped
        };
        for h in dropped {
            self.work_items
                .delete_message(&h.message_id, &h.pop_receipt)
                .await
                .map_err(storage)?;
        }
        Ok(())
    }

    pub(super) async fn lock_work(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<ActivityWorkItem>> {
        self.keep_hidden().await;
        if self.activity_poll.lock().due() {
            let polled = self.receive_work_items().await?;
            self.activity_poll.lock().record(polled);
        }
        let now = clock::now();
        let expires = later(lock_for);
        let mut held = self.activities.lock();
        let mut items = Vec::new();
        for h in held.iter_mut() {
            if items.len() >= max {
                break;
            }
            let locked = h.lock.as_ref().is_some_and(|(_, until)| *until > now);
            if locked || h.visible_at > now {
                continue;
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            h.lock = Some((token.clone(), expires));
            h.dequeue_count += 1;
            items.push(ActivityWorkItem {
                id: WorkItemId::new(h.id),
                lock_token: token,
                message: h.message.clone(),
                dequeue_count: h.dequeue_count,
            });
        }
        let next_due = if items.is_empty() {
            held.iter()
                .map(|h| match &h.lock {
                    Some((_, until)) if *until > now => *until,
                    _ => h.visible_at,
                })
                .filter(|t| *t > now)
                .min()
        } else {
            None
        };
        Ok(Batch { items, next_due })
    }

    /// Runs `f` on the held request of `item` if `item` still holds its lock.
    fn with_lock<T>(
        &self,
        item: &ActivityWorkItem,
        f: impl FnOnce(&mut Held) -> T,
    ) -> StoreResult<T> {
        let mut held = self.activities.lock();
        match held.iter_mut().find(|h| h.id == item.id.raw()) {
            Some(h) if h.lock.as_ref().is_some_and(|(t, _)| *t == item.lock_token) => Ok(f(h)),
            _ => Err(StoreError::LockLost(format!(
                "activity request {}",
                item.id
            ))),
        }
    }

    pub(super) async fn complete_work(
        &self,
        item: &ActivityWorkItem,
        response: TaskMessage,
    ) -> StoreResult<bool> {
        let queue_ids = {
            let held = self.activities.lock();
            match held.iter().find(|h| h.id == item.id.raw()) {
                None => return Ok(false),
                Some(h) if h.lock.as_ref().is_some_and(|(t, _)| *t == item.lock_token) => {
                    (h.message_id.clone(), h.pop_receipt.clone())
                }
                Some(_) => {
                    return Err(StoreError::LockLost(format!(
                        "activity request {}",
                        item.id
                    )))
                }
            }
        };
        self.send_orchestrator_message(&response, None, None)
            .await?;
        self.activities.lock().retain(|h| h.id != item.id.raw());
        // The answer is sent: a request whose delete fails comes back after its visibility
        // timeout, runs again, and its second answer is ignored as a duplicate.
        if let Err(e) = self
            .work_items
            .delete_message(&queue_ids.0, &queue_ids.1)
            .await
        {
            tracing::warn!(id = %item.id, error = %e, "a completed activity request was not deleted; it will run again");
        }
        Ok(true)
    }

    pub(super) async fn abandon_work(
        &self,
        item: &ActivityWorkItem,
        delay: Duration,
    ) -> StoreResult<()> {
        self.with_lock(item, |h| {
            h.lock = None;
            h.visible_at = later(delay);
        })?;
        self.signals.activities.notify_one();
        Ok(())
    }

    pub(super) async fn renew_work(
        &self,
        item: &ActivityWorkItem,
        lock_for: Duration,
    ) -> StoreResult<()> {
        let until = later(lock_for);
        self.with_lock(item, |h| {
            if let Some((_, expires)) = h.lock.as_mut() {
                *expires = until;
            }
        })
    }
}
