//! The task hub's roles, as DTFx and duroxide divide them: the client side
//! ([`InstanceStore`]), the worker side ([`OrchestrationService`]), the state triggers keep
//! ([`TriggerStateStore`]), and an optional capability a backend offers or not
//! ([`DirectEpisodes`], asked for through [`OrchestrationService::direct_episodes`]).
//! [`TaskHub`] is a store with all three roles, which every backend is.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::{
    ActivityWorkItem, Batch, DirectCommit, EpisodeTarget, InstancePage, InstanceQuery,
    InstanceState, OrchestrationCommit, OrchestrationWorkItem, OrchestratorMessage, PurgeFilter,
    ScheduleStatus, StoreResult, WorkSignals,
};
use durable_engine::history::{HistoryEvent, OrchestrationStatus};
use durable_engine::message::TaskMessage;

/// The client side: create and message instances, read, query and purge them.
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Creates (or, if terminal, replaces) an instance from its `ExecutionStarted` message: a
    /// Pending row, an empty history and the message, visible at `ScheduledStartTime` if set.
    async fn create_instance(&self, start: TaskMessage) -> StoreResult<()>;

    /// Enqueues a message for an orchestration (raise, terminate, suspend, resume...).
    async fn send_message(&self, message: OrchestratorMessage) -> StoreResult<()>;

    /// The instance row.
    async fn get_instance(&self, instance_id: &str) -> StoreResult<Option<InstanceState>>;

    /// The current execution's history, in order.
    async fn get_history(&self, instance_id: &str) -> StoreResult<Vec<HistoryEvent>>;

    /// Instances matching a filter, one page at a time.
    async fn query_instances(&self, query: &InstanceQuery) -> StoreResult<InstancePage>;

    /// Whether [`InstanceOrder::NewestFirst`](crate::InstanceOrder::NewestFirst) listings work
    /// here (others fail with [`StoreError::Unsupported`](crate::StoreError::Unsupported)).
    fn lists_newest_first(&self) -> bool {
        false
    }

    /// Whether [`count_instances`](InstanceStore::count_instances) counts without reading
    /// every matching row (so that asking often is cheap).
    fn counts_cheaply(&self) -> bool {
        false
    }

    /// How many instances match `query`'s name, entity exclusion, created-time range and id
    /// prefix, by status
    /// (its statuses, paging and inputs are ignored; statuses without instances are left
    /// out). The default reads every matching row, a page at a time; stores that can count
    /// without reading rows do.
    async fn count_instances(
        &self,
        query: &InstanceQuery,
    ) -> StoreResult<BTreeMap<OrchestrationStatus, u64>> {
        let mut query = InstanceQuery {
            statuses: Vec::new(),
            page_size: 1000,
            continuation: None,
            skip_inputs: true,
            ..query.clone()
        };
        let mut counts = BTreeMap::new();
        loop {
            let page = self.query_instances(&query).await?;
            for instance in &page.instances {
                *counts.entry(instance.status).or_insert(0) += 1;
            }
            match page.continuation {
                Some(token) => query.continuation = Some(token),
                None => return Ok(counts),
            }
        }
    }

    /// Deletes an instance with its history and pending messages; false if it did not exist.
    async fn purge_instance(&self, instance_id: &str) -> StoreResult<bool>;

    /// Deletes terminal instances matching a filter; returns how many.
    async fn purge_instances(&self, filter: &PurgeFilter) -> StoreResult<u64>;
}

/// The worker side: the orchestration and activity work items, and their atomic commits.
#[async_trait]
pub trait OrchestrationService: Send + Sync {
    /// Creates tables/queues if missing. Idempotent.
    async fn create_if_not_exists(&self) -> StoreResult<()>;

    /// Locks up to `max` instances that have visible messages, each with all its visible
    /// messages, for `lock_for`.
    async fn lock_orchestrations(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<OrchestrationWorkItem>>;

    /// Atomically: checks the lock, applies the history delta and instance row, enqueues the
    /// outbound messages, deletes the work item's messages and releases the lock.
    async fn complete_orchestration(
        &self,
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
    ) -> StoreResult<()>;

    /// [`complete_orchestration`](OrchestrationService::complete_orchestration), and the first `lock.0`
    /// activity requests of the commit are inserted already locked for `lock.1` and returned,
    /// so the caller can run them without a `lock_activities` round trip. The default locks
    /// none.
    async fn complete_orchestration_locking(
        &self,
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
        lock: (usize, Duration),
    ) -> StoreResult<Vec<ActivityWorkItem>> {
        let _ = lock;
        self.complete_orchestration(item, commit).await?;
        Ok(Vec::new())
    }

    /// Releases the lock, keeping the messages (visible again after `delay`).
    async fn abandon_orchestration(
        &self,
        item: &OrchestrationWorkItem,
        delay: Duration,
    ) -> StoreResult<()>;

    /// Locks up to `max` visible activity requests for `lock_for`.
    async fn lock_activities(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<ActivityWorkItem>>;

    /// Atomically deletes the request and enqueues the response to its orchestration. If the
    /// request was already completed by another worker, does nothing and returns false.
    async fn complete_activity(
        &self,
        item: &ActivityWorkItem,
        response: TaskMessage,
    ) -> StoreResult<bool>;

    /// The store's direct-episode capability, or `None` when it has none. The runtime asks
    /// before it runs an activity's answer on a cached execution, so a store without it never
    /// makes the runtime do work that is thrown away.
    fn direct_episodes(&self) -> Option<&dyn DirectEpisodes>;

    /// Releases the request, visible again after `delay`.
    async fn abandon_activity(&self, item: &ActivityWorkItem, delay: Duration) -> StoreResult<()>;

    /// Extends the lock of a long-running activity.
    async fn renew_activity_lock(
        &self,
        item: &ActivityWorkItem,
        lock_for: Duration,
    ) -> StoreResult<()>;

    /// Notifications for local dispatchers.
    fn signals(&self) -> &WorkSignals;

    /// The work waiting in the queues, and who holds the partitions: what an autoscaler
    /// needs. A few cheap reads (on Azure Storage, two requests per queue and a lease read per
    /// partition).
    async fn backlog(&self) -> StoreResult<crate::Backlog>;

    /// Called once when the runtime stops, after in-flight work: gives up what this process
    /// holds (e.g. partition leases) so that other processes take over at once.
    async fn shutdown(&self) {}
}

/// What triggers keep in the task hub between runs.
#[async_trait]
pub trait TriggerStateStore: Send + Sync {
    /// The schedule status last saved for a timer function, if any. Function names compare
    /// ASCII case-insensitively, as function names do.
    async fn load_timer_status(&self, function: &str) -> StoreResult<Option<ScheduleStatus>>;

    /// Saves (inserts or replaces) a timer function's schedule status; durable when it returns.
    async fn save_timer_status(&self, function: &str, status: &ScheduleStatus) -> StoreResult<()>;

    /// Takes, or keeps, the singleton lock `name` for this task hub object (one process) for
    /// `period`: how hosts sharing a task hub agree that one of them runs a timer function.
    /// `Ok(true)`: this object holds it for about `period` from now, unless it calls again
    /// before then; `Ok(false)`: another holds it. A holder that stops calling loses it once
    /// `period` has passed (sooner where the store can tell its process is gone). Names
    /// compare ASCII case-insensitively.
    async fn lock_singleton(&self, name: &str, period: std::time::Duration) -> StoreResult<bool>;

    /// Gives the singleton lock `name` back if this object holds it, so that another process
    /// can take it at once.
    async fn release_singleton(&self, name: &str) -> StoreResult<()>;
}

/// A task hub: a store with every role. Every backend is one; the runtime, the client and the
/// host take an `Arc<dyn TaskHub>`.
pub trait TaskHub: InstanceStore + OrchestrationService + TriggerStateStore + 'static {}

impl<T: InstanceStore + OrchestrationService + TriggerStateStore + 'static> TaskHub for T {}

/// A store capability: an activity's answer committed together with the episode it wakes, in
/// one transaction (the activity request deleted, the episode's commit applied). A store that
/// can make the two atomic offers it through [`OrchestrationService::direct_episodes`].
#[async_trait]
pub trait DirectEpisodes: Send + Sync {
    /// Atomically deletes the request and commits `commit`, the episode the activity's answer
    /// produced on the execution `target`, without going through the orchestration queue.
    /// Applies only when the instance is unlocked, still at `target`'s execution and history
    /// length, and not finished; otherwise writes nothing and returns
    /// [`DirectCommit::Declined`]. `lock` is as for
    /// [`complete_orchestration_locking`](OrchestrationService::complete_orchestration_locking).
    async fn complete_activity_with_episode(
        &self,
        item: &ActivityWorkItem,
        target: &EpisodeTarget,
        commit: OrchestrationCommit,
        lock: (usize, Duration),
    ) -> StoreResult<DirectCommit>;
}
