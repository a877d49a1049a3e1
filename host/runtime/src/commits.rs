//! The commit of an episode's output: the history delta, the instance row after the episode,
//! and the messages it sends, split by queue.

use durable_engine::replay::{EpisodeOutput, Execution, Outbound};
use durable_store::{HistoryUpdate, InstanceState, OrchestrationCommit, OrchestratorMessage};

/// The commit of an episode's output (`stored`: the row the work item was locked with).
pub(crate) fn build_commit(
    stored: Option<&InstanceState>,
    exec: &Execution,
    out: EpisodeOutput,
    now: chrono::DateTime<chrono::Utc>,
) -> OrchestrationCommit {
    let mut orchestrator_messages = Vec::new();
    let mut activity_messages = Vec::new();
    for m in out.messages {
        match m {
            Outbound::Orchestration {
                message,
                visible_at,
            } => orchestrator_messages.push(OrchestratorMessage {
                message,
                visible_at,
            }),
            Outbound::Activity(message) => activity_messages.push(message),
        }
    }
    let instance = exec.started().map(|s| InstanceState {
        instance_id: s.orchestration_instance.instance_id.clone(),
        execution_id: s
            .orchestration_instance
            .execution_id
            .clone()
            .unwrap_or_default(),
        name: s.name.clone(),
        version: s.version.clone(),
        status: out.status,
        input: s.input.clone(),
        output: out.output,
        custom_status: out.custom_status,
        failure_details: out.failure_details,
        parent_instance_id: s
            .parent_instance
            .as_ref()
            .map(|p| p.orchestration_instance.instance_id.clone()),
        created_at: stored.map_or(now, |i| i.created_at),
        last_updated_at: now,
        completed_at: out.status.is_terminal().then_some(now),
        history_len: exec.history_len(),
        tags: s.tags.clone().unwrap_or_default(),
    });
    let history = if out.new_execution {
        HistoryUpdate::NewExecution(out.new_events)
    } else {
        HistoryUpdate::Append(out.new_events)
    };
    OrchestrationCommit {
        history,
        instance,
        orchestrator_messages,
        activity_messages,
    }
}
