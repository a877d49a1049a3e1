//! The task hub API of Durable Functions for Rust: where instances, histories and queued
//! messages live.
//!
//! [`TaskHub`] is the one trait every backend implements; `conformance` (feature
//! `conformance`) is the behavioural suite every backend must pass. The engine never talks to
//! storage directly: the runtime's dispatchers lock work items, run the pure engine, and hand
//! one [`OrchestrationCommit`] back.
#![warn(missing_docs)]

use chrono::{DateTime, Utc};

use durable_engine::history::{FailureDetails, HistoryEvent, OrchestrationStatus, Tags};
use durable_engine::message::TaskMessage;

mod backlog;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
mod policy;
mod roles;
mod signals;
mod trigger_state;

pub use backlog::{Backlog, PartitionOwner, QueueBacklog};
pub use policy::{ensure_startable, started_execution};
pub use roles::{DirectEpisodes, InstanceStore, OrchestrationService, TaskHub, TriggerStateStore};

pub use signals::{StoreFailure, WorkSignals};
pub use trigger_state::ScheduleStatus;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `create_instance` for an id whose instance has not reached a terminal status.
    #[error("instance {instance_id:?} already exists with status {}", status.name())]
    InstanceExists {
        /// The instance id.
        instance_id: String,
        /// Its current status.
        status: OrchestrationStatus,
    },
    /// The work item's lock expired and another worker took it; nothing was written.
    #[error("the lock on {0:?} was lost; nothing was written")]
    LockLost(String),
    /// A continuation token that this store did not hand out.
    #[error("invalid continuation token {0:?}")]
    BadContinuation(String),
    /// Something this store cannot do (such as list instances newest first).
    #[error("{0}")]
    Unsupported(String),
    /// Stored data that cannot be read back.
    #[error("corrupt data in the task hub: {0}")]
    Corrupt(String),
    /// The backend failed.
    #[error("task hub storage error{}: {message}", in_operation(*operation))]
    Storage {
        /// The task hub operation that failed (`complete_orchestration`, ...), once known.
        operation: Option<&'static str>,
        /// What went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
        /// Whether the same call may succeed if tried again (a timeout, a dropped
        /// connection, a busy database, a throttled or failing service), rather than fail
        /// the same way.
        retryable: bool,
    },
}

fn in_operation(operation: Option<&'static str>) -> String {
    operation.map(|o| format!(" in {o}")).unwrap_or_default()
}

impl StoreError {
    /// A backend failure that trying again will not mend.
    pub fn storage(message: impl Into<String>) -> Self {
        Self::Storage {
            operation: None,
            message: message.into(),
            source: None,
            retryable: false,
        }
    }

    /// A backend failure caused by `source`; `retryable` says whether trying again may help.
    pub fn backend(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
        retryable: bool,
    ) -> Self {
        Self::Storage {
            operation: None,
            message: message.into(),
            source: Some(Box::new(source)),
            retryable,
        }
    }

    /// The same error, naming the task hub operation it happened in (if it names none yet).
    pub fn during(mut self, op: &'static str) -> Self {
        if let Self::Storage { operation, .. } = &mut self {
            operation.get_or_insert(op);
        }
        self
    }

    /// Whether the same call may succeed if tried again. Only backend failures can be
    /// transient: a conflict, a lost lock or corrupt data will be the same next time.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Storage {
                retryable: true,
                ..
            }
        )
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// One row of the instances table.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceState {
    /// The instance id.
    pub instance_id: String,
    /// The current execution (generation).
    pub execution_id: String,
    /// Orchestrator name.
    pub name: String,
    /// Orchestrator version.
    pub version: Option<String>,
    /// Runtime status.
    pub status: OrchestrationStatus,
    /// Serialized JSON input of the current generation.
    pub input: Option<String>,
    /// Serialized JSON output, or the termination reason / failure message.
    pub output: Option<String>,
    /// Serialized JSON custom status.
    pub custom_status: Option<String>,
    /// Why it failed, for Failed instances.
    pub failure_details: Option<FailureDetails>,
    /// Parent instance id for sub-orchestrations.
    pub parent_instance_id: Option<String>,
    /// When the instance was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub last_updated_at: DateTime<Utc>,
    /// When it reached a terminal status.
    pub completed_at: Option<DateTime<Utc>>,
    /// Number of history events stored for the current execution.
    pub history_len: u64,
    /// The tags the instance was started with (its `ExecutionStarted` tags).
    pub tags: Tags,
}

impl InstanceState {
    /// The Pending row a client's `ExecutionStarted` creates (every backend's `create_instance`).
    pub fn pending(
        instance_id: &str,
        execution_id: String,
        started: &durable_engine::history::ExecutionStarted,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            instance_id: instance_id.to_owned(),
            execution_id,
            name: started.name.clone(),
            version: started.version.clone(),
            status: OrchestrationStatus::Pending,
            input: started.input.clone(),
            output: None,
            custom_status: None,
            failure_details: None,
            parent_instance_id: started
                .parent_instance
                .as_ref()
                .map(|p| p.orchestration_instance.instance_id.clone()),
            created_at: now,
            last_updated_at: now,
            completed_at: None,
            history_len: 0,
            tags: started.tags.clone().unwrap_or_default(),
        }
    }
}

/// The key a store gives a queued message or activity request. Opaque to everyone but the
/// store that assigned it (a SQLite rowid, a number the Azure hub gives a message it holds):
/// the runtime only hands it back and shows it in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkItemId(i64);

impl WorkItemId {
    /// The id a store assigned (for the store's own use).
    pub fn new(raw: i64) -> Self {
        Self(raw)
    }

    /// The value the store assigned (for the store's own use).
    pub fn raw(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for WorkItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An orchestration-queue message handed out with a work item.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMessage {
    /// Store-assigned id, increasing in enqueue order.
    pub id: WorkItemId,
    /// The message.
    pub message: TaskMessage,
}

/// All visible messages of one instance, locked for one worker.
#[derive(Debug, Clone)]
pub struct OrchestrationWorkItem {
    /// The instance the messages are addressed to.
    pub instance_id: String,
    /// Proof of the lock; a commit with a stale token fails with [`StoreError::LockLost`].
    pub lock_token: String,
    /// The messages, in enqueue order.
    pub messages: Vec<QueuedMessage>,
    /// The instance row, if the instance exists.
    pub instance: Option<InstanceState>,
}

/// An activity request locked for one worker.
#[derive(Debug, Clone)]
pub struct ActivityWorkItem {
    /// Store-assigned id.
    pub id: WorkItemId,
    /// Proof of the lock.
    pub lock_token: String,
    /// The `TaskScheduled` message; its target is the orchestration to answer.
    pub message: TaskMessage,
    /// How many times this request has been handed out, this time included.
    pub dequeue_count: u32,
}

/// Work items locked in one call, or when the next delayed message becomes visible.
#[derive(Debug, Clone)]
pub struct Batch<T> {
    /// The locked work items (possibly none).
    pub items: Vec<T>,
    /// When empty: the earliest time a delayed message becomes visible, if any.
    pub next_due: Option<DateTime<Utc>>,
}

/// How the history changes in a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryUpdate {
    /// Append events to the current execution's history.
    Append(Vec<HistoryEvent>),
    /// Replace the history with a new execution's (continue-as-new).
    NewExecution(Vec<HistoryEvent>),
}

/// A message to an orchestration, possibly delayed (durable timers, scheduled starts).
#[derive(Debug, Clone, PartialEq)]
pub struct OrchestratorMessage {
    /// The message.
    pub message: TaskMessage,
    /// Invisible until then; `None` = now.
    pub visible_at: Option<DateTime<Utc>>,
}

/// Everything one orchestration episode writes, committed atomically.
#[derive(Debug, Clone)]
pub struct OrchestrationCommit {
    /// History delta.
    pub history: HistoryUpdate,
    /// The instance row after the episode; `None` leaves it untouched (e.g. discarded messages).
    pub instance: Option<InstanceState>,
    /// Messages to orchestrations (this one's timers, children, parents, event targets).
    pub orchestrator_messages: Vec<OrchestratorMessage>,
    /// Activity requests.
    pub activity_messages: Vec<TaskMessage>,
}

/// The cached execution an activity's answer is committed with
/// ([`DirectEpisodes::complete_activity_with_episode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeTarget {
    /// The orchestration instance.
    pub instance_id: String,
    /// Its current execution.
    pub execution_id: String,
    /// The stored history length the episode was run on.
    pub history_len: u64,
}

/// What [`DirectEpisodes::complete_activity_with_episode`] did.
#[derive(Debug, Clone)]
pub enum DirectCommit {
    /// The request is deleted and the episode committed; its first activity requests come back
    /// locked when asked for (see [`OrchestrationService::complete_orchestration_locking`]).
    Committed(Vec<ActivityWorkItem>),
    /// The request was already completed by another worker; nothing was written.
    Duplicate,
    /// The instance moved on or is locked; nothing was written. Complete the activity the
    /// usual way.
    Declined,
}

/// Filter for [`InstanceStore::query_instances`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceQuery {
    /// Only these statuses (empty = any).
    pub statuses: Vec<OrchestrationStatus>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    pub created_to: Option<DateTime<Utc>>,
    /// Instance ids starting with this.
    pub instance_id_prefix: Option<String>,
    /// Only instances of the orchestrator with this name (exactly).
    pub name: Option<String>,
    /// The order of the instances, page after page.
    pub order: InstanceOrder,
    /// Leave out the instances of entities (ids starting with `@`).
    pub exclude_entities: bool,
    /// Page size (0 = the store's default of 100).
    pub page_size: usize,
    /// Token from the previous page.
    pub continuation: Option<String>,
    /// Leave every instance's `input` out (`None`): a listing of many instances with large
    /// inputs would otherwise hold all of them in memory at once.
    pub skip_inputs: bool,
    /// Only instances that have every one of these tags with these values.
    pub tags: Tags,
}

/// The order instances are listed in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InstanceOrder {
    /// By instance id, ascending: every store.
    #[default]
    InstanceId,
    /// The most recently created first (ties by instance id, descending): stores whose
    /// [`InstanceStore::lists_newest_first`] says so.
    NewestFirst,
}

/// One page of instances.
#[derive(Debug, Clone, Default)]
pub struct InstancePage {
    /// The instances, ordered by instance id.
    pub instances: Vec<InstanceState>,
    /// Token for the next page; `None` on the last page.
    pub continuation: Option<String>,
}

/// Filter for [`InstanceStore::purge_instances`]; only terminal instances are purged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PurgeFilter {
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    pub created_to: Option<DateTime<Utc>>,
    /// Only these statuses (empty = every terminal status).
    pub statuses: Vec<OrchestrationStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_error_names_its_operation_and_keeps_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer");
        let e = StoreError::backend("request failed", io, true).during("lock_orchestrations");
        assert!(e.is_retryable());
        assert_eq!(
            e.to_string(),
            "task hub storage error in lock_orchestrations: request failed"
        );
        let source = std::error::Error::source(&e).expect("source kept");
        assert_eq!(source.to_string(), "no answer");
        // The first operation named stays.
        assert!(e
            .during("outer")
            .to_string()
            .contains("in lock_orchestrations"));
        assert!(!StoreError::storage("bad").is_retryable());
        assert!(!StoreError::LockLost("i".into()).is_retryable());
        assert!(!StoreError::Corrupt("x".into()).is_retryable());
    }
}
