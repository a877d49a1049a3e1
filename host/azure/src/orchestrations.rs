//! The orchestration side: receiving control-queue messages, locking instances, and the
//! commit protocol DTFx uses (outbound messages, then history with the sentinel's ETag
//! compare-and-swap, then the Instances row, then deleting the consumed messages).

use std::time::Duration;

use super::held::{Checkpoint, Held, InstanceLock, Polled};
use super::history;
use super::hub::{deliverable_at, storage, AzureTaskHub};
use super::instances;
use super::layout::{escape_partition_key, history_row_key, SENTINEL};
use super::AzureError;
use durable_azure_storage::entity::{EdmValue, Entity};
use durable_azure_storage::tables::{IfMatch, UpdateMode};
use durable_azure_storage::transaction::TableOperation;
use durable_engine::history::{EventKind, HistoryEvent, OrchestrationInstance};
use durable_store::clock;
use durable_store::{
    Batch, HistoryUpdate, OrchestrationCommit, OrchestrationWorkItem, QueuedMessage, StoreError,
    StoreResult, WorkItemId,
};

/// History rows per entity-group transaction (plus the sentinel: 100 operations).
const ROWS_PER_BATCH: usize = 99;

impl AzureTaskHub {
    /// Receives visible messages from every owned control queue (or just `only`) into
    /// memory; says what was found.
    pub(super) async fn receive_control(&self, only: Option<&[usize]>) -> StoreResult<Polled> {
        let queues: Vec<usize> = match only {
            Some(q) => q.to_vec(),
            None => self.partitions.owned(),
        };
        let visibility = self.options.control_queue_visibility;
        let gets = queues.iter().map(|&q| async move {
            let got = self.control[q]
                .get(durable_azure_storage::queues::MAX_BATCH, visibility)
                .await;
            (q, got)
        });
        let mut polled = Polled::Nothing;
        for (q, got) in futures::future::join_all(gets).await {
            let got = got.map_err(storage)?;
            polled = polled.and(Polled::of(got.len()));
            for received in got {
                let (message, sequence) = match self.read_message(&received).await {
                    Ok(read) => read,
                    Err(StoreError::Corrupt(why)) => {
                        tracing::warn!(queue = self.control[q].name(), %why, "discarding an unreadable control message");
                        let _ = self.control[q]
                            .delete_message(&received.id, &received.pop_receipt)
                            .await;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let instance_id = message.instance_id().to_owned();
                let mut state = self.orchestrations.lock();
                if state.refresh(
                    &instance_id,
                    &received.id,
                    &received.pop_receipt,
                    received.next_visible_at,
                ) {
                    continue;
                }
                let held = Held {
                    id: self
                        .next_id
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    queue: q,
                    message_id: received.id,
                    pop_receipt: received.pop_receipt,
                    visible_at: deliverable_at(&message),
                    hidden_until: received.next_visible_at,
                    message,
                    order: (received.inserted_at, sequence),
                    dequeue_count: received.dequeue_count,
                    lock: None,
                };
                let list = state.messages.entry(instance_id).or_default();
                list.push(held);
                list.sort_by_key(|h| (h.order, h.id));
            }
        }
        Ok(polled)
    }

    pub(super) async fn lock(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<OrchestrationWorkItem>> {
        self.ensure_leasing().await?;
        self.release_unowned().await;
        self.keep_hidden().await;
        let now = clock::now();
        let (poll_all, sent_to) = {
            let mut state = self.orchestrations.lock();
            let came_due = state.delayed.iter().any(|t| *t <= now);
            state.delayed.retain(|t| *t > now);
            let sent_to = std::mem::take(&mut state.sent_to);
            (came_due || self.orchestration_poll.lock().due(), sent_to)
        };
        if poll_all {
            let polled = self.receive_control(None).await?;
            self.orchestration_poll.lock().record(polled);
        } else if !sent_to.is_empty() {
            // Local hand-off: only the queues this process just sent to (and owns; another
            // process reads the others), leaving the idle back-off of the rest as it is.
            let owned = self.partitions.owned();
            let queues: Vec<usize> = sent_to.into_iter().filter(|q| owned.contains(q)).collect();
            if !queues.is_empty() {
                if let Err(e) = self.receive_control(Some(&queues)).await {
                    self.orchestrations.lock().sent_to.extend(queues);
                    return Err(e);
                }
            }
        }
        let now = clock::now();
        let expires = now + chrono::Duration::from_std(lock_for).unwrap_or(chrono::Duration::MAX);
        let chosen: Vec<(String, String, Vec<QueuedMessage>)> = {
            let mut state = self.orchestrations.lock();
            let mut candidates: Vec<(&String, _)> = state
                .messages
                .iter()
                .filter(|(id, _)| !state.is_locked(id, now))
                .filter_map(|(id, held)| {
                    let first = held
                        .iter()
                        .filter(|h| h.visible_at <= now)
                        .map(|h| h.order)
                        .min()?;
                    Some((id, first))
                })
                .collect();
            candidates.sort_by_key(|(_, first)| *first);
            let ids: Vec<String> = candidates
                .into_iter()
                .take(max)
                .map(|(id, _)| id.clone())
                .collect();
            let mut chosen = Vec::new();
            for id in ids {
                let messages: Vec<QueuedMessage> = state.messages[&id]
                    .iter()
                    .filter(|h| h.visible_at <= now)
                    .map(|h| QueuedMessage {
                        id: WorkItemId::new(h.id),
                        message: h.message.clone(),
                    })
                    .collect();
                let token = uuid::Uuid::new_v4().simple().to_string();
                state.locks.insert(
                    id.clone(),
                    InstanceLock {
                        token: token.clone(),
                        expires,
                        message_ids: messages.iter().map(|m| m.id.raw()).collect(),
                        sentinel_etag: None,
                        history_len: 0,
                        execution_id: None,
                    },
                );
                chosen.push((id, token, messages));
            }
            chosen
        };
        if chosen.is_empty() {
            let next_due = self.orchestrations.lock().next_due(now);
            return Ok(Batch {
                items: Vec::new(),
                next_due,
            });
        }
        let loads = chosen.into_iter().map(|(id, token, messages)| async move {
            let known = self.orchestrations.lock().known_checkpoint(&id, &messages);
            let checkpoint = match known {
                Some(c) => c,
                None => match self.read_checkpoint(&id).await {
                    Ok(c) => c,
                    Err(e) => return Err((id, token, e)),
                },
            };
            let row = checkpoint.row.clone();
            if let Some(lock) = self.orchestrations.lock().locks.get_mut(&id) {
                if lock.token == token {
                    // The lock runs from when the worker gets the item, not from before
                    // the reads above.
                    lock.expires = clock::now()
                        + chrono::Duration::from_std(lock_for).unwrap_or(chrono::Duration::MAX);
                    lock.sentinel_etag = checkpoint.sentinel_etag;
                    lock.execution_id = checkpoint.execution_id;
                    lock.history_len = checkpoint.history_len;
                }
            }
            Ok(OrchestrationWorkItem {
                instance_id: id,
                lock_token: token,
                messages,
                instance: row,
            })
        });
        // An instance whose state could not be read is unlocked at once, not left locked
        // for the whole lock duration; the others go ahead.
        let mut items = Vec::new();
        let mut failure = None;
        for loaded in futures::future::join_all(loads).await {
            match loaded {
                Ok(item) => items.push(item),
                Err((id, token, e)) => {
                    let mut state = self.orchestrations.lock();
                    if state.locks.get(&id).is_some_and(|l| l.token == token) {
                        state.locks.remove(&id);
                    }
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) if items.is_empty() => Err(e),
            _ => Ok(Batch {
                items,
                next_due: None,
            }),
        }
    }

    /// The sentinel and the Instances row of an instance, as stored.
    async fn read_checkpoint(&self, instance_id: &str) -> StoreResult<Checkpoint> {
        let pk = escape_partition_key(instance_id);
        let (sentinel, row) = futures::try_join!(
            async { self.history.get(&pk, SENTINEL).await.map_err(storage) },
            self.get_row(instance_id)
        )?;
        Ok(match sentinel {
            Some(s) => {
                let execution_id = s.str("ExecutionId").map(str::to_owned);
                let history_len = s
                    .get("HistoryEventCount")
                    .and_then(EdmValue::as_i64)
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0);
                let row = super::held::row_as_history_says(
                    instance_id,
                    row,
                    execution_id.as_deref(),
                    history_len,
                );
                Checkpoint {
                    sentinel_etag: s.etag.clone(),
                    execution_id,
                    history_len,
                    row,
                }
            }
            None => Checkpoint {
                sentinel_etag: None,
                execution_id: None,
                history_len: 0,
                row,
            },
        })
    }

    /// The lock of `item` if it is still the current one.
    fn current_lock(&self, item: &OrchestrationWorkItem) -> StoreResult<InstanceLock> {
        match self.orchestrations.lock().locks.get(&item.instance_id) {
            Some(lock) if lock.token == item.lock_token => Ok(lock.clone()),
            _ => Err(StoreError::LockLost(item.instance_id.clone())),
        }
    }

    pub(super) async fn complete(
        &self,
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
    ) -> StoreResult<()> {
        let result = self.checkpoint(item, commit).await;
        if let Err(e) = &result {
            let mut state = self.orchestrations.lock();
            state.checkpoints.remove(&item.instance_id);
            if matches!(e, StoreError::LockLost(_)) {
                // Another process wrote first: let go of the messages at once, so that they
                // are processed again on the history as it now is.
                if state
                    .locks
                    .get(&item.instance_id)
                    .is_some_and(|l| l.token == item.lock_token)
                {
                    state.locks.remove(&item.instance_id);
                    drop(state);
                    self.signals.orchestrations.notify_one();
                }
            }
        }
        result
    }

    async fn checkpoint(
        &self,
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
    ) -> StoreResult<()> {
        let lock = self.current_lock(item)?;
        let sender = OrchestrationInstance {
            instance_id: item.instance_id.clone(),
            execution_id: item.instance.as_ref().map(|r| r.execution_id.clone()),
        };
        // (a) Outbound messages first: a crash later only duplicates them.
        for m in &commit.orchestrator_messages {
            self.send_orchestrator_message(&m.message, m.visible_at, Some(&sender))
                .await?;
        }
        for m in &commit.activity_messages {
            self.send_activity_message(m, Some(&sender)).await?;
        }
        // (b) History with the sentinel compare-and-swap, then the Instances row.
        let (events, start, new_execution) = match &commit.history {
            HistoryUpdate::Append(events) => (events, lock.history_len, false),
            HistoryUpdate::NewExecution(events) => (events, 0, true),
        };
        let execution_id = execution_of(events)
            .filter(|_| new_execution)
            .or(lock.execution_id.clone())
            .or_else(|| commit.instance.as_ref().map(|r| r.execution_id.clone()))
            .or_else(|| execution_of(events))
            .unwrap_or_default();
        let history_len = start + events.len() as u64;
        let mut sentinel_etag = lock.sentinel_etag.clone();
        if !events.is_empty() {
            sentinel_etag = self
                .write_history(item, &lock, events, start, &execution_id)
                .await?;
        }
        let pk = escape_partition_key(&item.instance_id);
        let mut row_written = item.instance.clone().map(|mut r| {
            r.history_len = history_len;
            r
        });
        if let Some(state) = &commit.instance {
            let mut state = state.clone();
            state.history_len = history_len;
            let mut row = instances::to_entity(&self.names.hub, &state);
            self.offload_instance_row(&mut row, history_len).await?;
            self.instances
                .update(&row, UpdateMode::Replace, IfMatch::Upsert)
                .await
                .map_err(storage)?;
            row_written = Some(state);
        } else if !events.is_empty() {
            let count = Entity::new(pk, "").with(
                "HistoryEventCount",
                EdmValue::Int64(i64::try_from(history_len).unwrap_or(i64::MAX)),
            );
            match self
                .instances
                .update(&count, UpdateMode::Merge, IfMatch::Exists)
                .await
            {
                Ok(_) => {}
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(storage(e)),
            }
        }
        // (c) The consumed messages go last: a crash before only redelivers them.
        let (consumed, more) = {
            let mut state = self.orchestrations.lock();
            state.remember(
                &item.instance_id,
                Checkpoint {
                    sentinel_etag,
                    history_len,
                    execution_id: Some(execution_id.clone()).filter(|e| !e.is_empty()),
                    row: row_written,
                },
            );
            let consumed = state.take(&item.instance_id, &lock.message_ids);
            if state
                .locks
                .get(&item.instance_id)
                .is_some_and(|l| l.token == lock.token)
            {
                state.locks.remove(&item.instance_id);
            }
            (consumed, state.messages.contains_key(&item.instance_id))
        };
        // The checkpoint holds: a message whose delete fails comes back after its visibility
        // timeout and is recognised against the history as already processed.
        for h in consumed {
            if let Err(e) = self.control[h.queue]
                .delete_message(&h.message_id, &h.pop_receipt)
                .await
            {
                tracing::warn!(instance_id = %item.instance_id, error = %e, "a processed message was not deleted; it will be seen again as a duplicate");
            }
        }
        if more {
            self.signals.orchestrations.notify_one();
        }
        Ok(())
    }

    async fn write_history(
        &self,
        item: &OrchestrationWorkItem,
        lock: &InstanceLock,
        events: &[HistoryEvent],
        start: u64,
        execution_id: &str,
    ) -> StoreResult<Option<String>> {
        let pk = escape_partition_key(&item.instance_id);
        let mut etag = lock.sentinel_etag.clone();
        let batches: Vec<_> = events.chunks(ROWS_PER_BATCH).collect();
        let mut written = start;
        for (n, batch) in batches.iter().enumerate() {
            let mut ops = Vec::with_capacity(batch.len() + 1);
            for event in batch.iter() {
                let mut row =
                    history::to_entity(&pk, &history_row_key(written), execution_id, event)?;
                self.offload_history_row(&mut row).await?;
                ops.push(TableOperation::Upsert(row, UpdateMode::Replace));
                written += 1;
            }
            let last = n + 1 == batches.len();
            let mut sentinel = Entity::new(pk.clone(), SENTINEL)
                .with("ExecutionId", EdmValue::String(execution_id.to_owned()))
                .with("IsCheckpointComplete", EdmValue::Bool(last))
                .with(
                    "HistoryEventCount",
                    EdmValue::Int64(i64::try_from(written).unwrap_or(i64::MAX)),
                );
            if last {
                sentinel = sentinel.with(
                    "CheckpointCompletedTimestamp",
                    EdmValue::DateTime(clock::now()),
                );
            }
            ops.push(match &etag {
                None => TableOperation::Insert(sentinel),
                Some(tag) => TableOperation::Update(sentinel, UpdateMode::Merge, Some(tag.clone())),
            });
            match self.history.transact(&ops).await {
                Ok(etags) => etag = etags.last().cloned().flatten(),
                Err(AzureError::Transaction {
                    status: 404 | 409 | 412,
                    ..
                }) => {
                    return Err(StoreError::LockLost(item.instance_id.clone()));
                }
                Err(e) => return Err(storage(e)),
            }
        }
        Ok(etag)
    }

    pub(super) async fn abandon(
        &self,
        item: &OrchestrationWorkItem,
        delay: Duration,
    ) -> StoreResult<()> {
        let lock = self.current_lock(item)?;
        let visible_at =
            clock::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        let mut state = self.orchestrations.lock();
        if let Some(held) = state.messages.get_mut(&item.instance_id) {
            for h in held.iter_mut().filter(|h| lock.message_ids.contains(&h.id)) {
                h.visible_at = visible_at;
            }
        }
        state.locks.remove(&item.instance_id);
        drop(state);
        self.signals.orchestrations.notify_one();
        Ok(())
    }
}

/// The execution started by an `ExecutionStarted` among `events`.
fn execution_of(events: &[HistoryEvent]) -> Option<String> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::ExecutionStarted(s) => s.orchestration_instance.execution_id.clone(),
        _ => None,
    })
}
