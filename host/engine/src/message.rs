//! `TaskMessage`: an event addressed to an orchestration instance or to the activity queue.

use serde::{Deserialize, Serialize};

use super::history::{HistoryEvent, OrchestrationInstance, Tags};

/// An event travelling between an orchestration, its activities, its children and clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskMessage {
    /// The event to deliver.
    pub event: HistoryEvent,
    /// Sender-side ordering hint.
    #[serde(default)]
    pub sequence_number: i64,
    /// The target instance; a `None` execution id reaches whatever generation is current.
    pub orchestration_instance: OrchestrationInstance,
    /// The parent's tags, for activity and sub-orchestration requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestration_execution_context: Option<ExecutionContext>,
}

/// Carries the orchestration's tags with a request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionContext {
    /// The orchestration's tags.
    #[serde(default)]
    pub orchestration_tags: Tags,
}

impl TaskMessage {
    /// A message carrying `event` to `target`.
    pub fn new(target: OrchestrationInstance, event: HistoryEvent) -> Self {
        Self {
            event,
            sequence_number: 0,
            orchestration_instance: target,
            orchestration_execution_context: None,
        }
    }

    /// The target instance id.
    pub fn instance_id(&self) -> &str {
        &self.orchestration_instance.instance_id
    }
}
