//! Requests serialized before they reach the writer thread.
//!
//! JSON encoding of history events and messages took ~10 % of the writer thread's CPU; the
//! writer is the store's one serial resource, so the calling task (on the tokio pool) encodes
//! everything, and the writer only binds ready strings.

use super::codec::{to_json, to_ticks};
use durable_engine::history::FailureDetails;
use durable_engine::message::TaskMessage;
use durable_store::{
    HistoryUpdate, InstanceState, OrchestrationCommit, OrchestrationWorkItem, OrchestratorMessage,
    StoreResult,
};

/// A message for an orchestration, ready to insert.
pub(crate) struct EncodedMessage {
    /// The target instance.
    pub instance_id: String,
    /// Visible from then (ticks); `None` = the request's clock.
    pub visible_at: Option<i64>,
    /// The message's JSON.
    pub json: String,
}

impl EncodedMessage {
    /// Encodes a message to an orchestration.
    pub(crate) fn orchestration(message: &OrchestratorMessage) -> StoreResult<Self> {
        Ok(Self {
            instance_id: message.message.instance_id().to_owned(),
            visible_at: message.visible_at.as_ref().map(to_ticks),
            json: to_json(&message.message)?,
        })
    }

    /// Encodes a message visible at once (an activity request or an activity's answer).
    pub(crate) fn now(message: &TaskMessage) -> StoreResult<Self> {
        Ok(Self {
            instance_id: message.instance_id().to_owned(),
            visible_at: None,
            json: to_json(message)?,
        })
    }
}

/// An instance row with its failure details already JSON.
pub(crate) struct EncodedInstance {
    /// The row.
    pub state: InstanceState,
    /// `state.failure_details` as JSON.
    pub failure_details: Option<String>,
}

impl EncodedInstance {
    /// Encodes a row.
    pub(crate) fn of(state: InstanceState) -> StoreResult<Self> {
        let failure_details = state
            .failure_details
            .as_ref()
            .map(to_json::<FailureDetails>)
            .transpose()?;
        Ok(Self {
            state,
            failure_details,
        })
    }
}

/// How an episode's row differs from the row the work item was locked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowChange {
    /// Write every column (new row, new execution, or identity columns changed).
    Full,
    /// Same instance and execution: update the mutable columns only; `status` and `input` say
    /// whether those two (indexed, or possibly large) columns changed.
    Update {
        /// The status changed.
        status: bool,
        /// The input changed (entities keep their state there).
        input: bool,
    },
}

/// An episode commit, encoded.
pub(crate) struct EncodedCommit {
    /// True when the history is replaced (continue-as-new, restart).
    pub new_execution: bool,
    /// The history delta's events as JSON.
    pub history: Vec<String>,
    /// The row after the episode.
    pub instance: Option<EncodedInstance>,
    /// How the row differs from the stored one.
    pub change: RowChange,
    /// Messages to orchestrations.
    pub orchestrator_messages: Vec<EncodedMessage>,
    /// Activity requests.
    pub activity_messages: Vec<EncodedMessage>,
    /// The activity requests as messages, for the ones handed back locked.
    pub activity_requests: Vec<TaskMessage>,
    /// How many of the activity requests to insert locked, and for how long (ticks).
    pub lock: (usize, i64),
}

impl EncodedCommit {
    /// Encodes `commit` of the work item `item`.
    pub(crate) fn of(
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
    ) -> StoreResult<Self> {
        Self::with_stored(item.instance.as_ref(), commit)
    }

    /// Asks for the first `count` activity requests to be inserted locked for `lock_for`.
    pub(crate) fn locking(mut self, (count, lock_for): (usize, std::time::Duration)) -> Self {
        self.lock = (count, super::codec::duration_ticks(lock_for));
        self
    }

    /// Encodes `commit` of an instance whose row was `stored` (`None`: unknown, write it all).
    pub(crate) fn with_stored(
        stored: Option<&InstanceState>,
        commit: OrchestrationCommit,
    ) -> StoreResult<Self> {
        let (new_execution, events) = match &commit.history {
            HistoryUpdate::Append(events) => (false, events),
            HistoryUpdate::NewExecution(events) => (true, events),
        };
        let history = events.iter().map(to_json).collect::<StoreResult<_>>()?;
        let change = match (&commit.instance, stored) {
            (Some(new), Some(old)) if !new_execution => row_change(old, new),
            _ => RowChange::Full,
        };
        Ok(Self {
            new_execution,
            history,
            instance: commit.instance.map(EncodedInstance::of).transpose()?,
            change,
            orchestrator_messages: commit
                .orchestrator_messages
                .iter()
                .map(EncodedMessage::orchestration)
                .collect::<StoreResult<_>>()?,
            activity_messages: commit
                .activity_messages
                .iter()
                .map(EncodedMessage::now)
                .collect::<StoreResult<_>>()?,
            activity_requests: commit.activity_messages,
            lock: (0, 0),
        })
    }
}

/// Which columns of `old` the row `new` changes.
fn row_change(old: &InstanceState, new: &InstanceState) -> RowChange {
    let same_identity = old.instance_id == new.instance_id
        && old.execution_id == new.execution_id
        && old.name == new.name
        && old.version == new.version
        && old.parent_instance_id == new.parent_instance_id
        && to_ticks(&old.created_at) == to_ticks(&new.created_at);
    if !same_identity {
        return RowChange::Full;
    }
    RowChange::Update {
        status: old.status != new.status,
        input: old.input != new.input,
    }
}
