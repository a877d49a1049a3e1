//! How history events relate to the execution's actions: which event answers which action,
//! and which events wait while the execution is suspended.

use crate::history::EventKind;
use crate::history::FailureDetails;
use crate::state::{ActionKind, TaskOutcome};

/// Whether an event waits while the execution is suspended (everything but the lifecycle and
/// the execution's own actions).
pub(super) fn holds_while_suspended(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::ExecutionResumed { .. }
            | EventKind::ExecutionTerminated { .. }
            | EventKind::OrchestratorStarted
            | EventKind::OrchestratorCompleted
            | EventKind::ExecutionSuspended { .. }
            | EventKind::TaskScheduled { .. }
            | EventKind::TimerCreated { .. }
            | EventKind::SubOrchestrationInstanceCreated { .. }
            | EventKind::EventSent { .. }
            | EventKind::ExecutionCompleted { .. }
            | EventKind::ContinueAsNew { .. }
    )
}

/// The action a completion event answers, and how it ended.
pub(super) fn completion_of(kind: &EventKind) -> Option<(i32, ActionKind, TaskOutcome)> {
    let failed =
        |details: &Option<FailureDetails>, reason: &Option<String>| {
            TaskOutcome::Failed(details.clone().unwrap_or_else(|| {
                FailureDetails::new("Error", reason.clone().unwrap_or_default())
            }))
        };
    Some(match kind {
        EventKind::TaskCompleted {
            task_scheduled_id,
            result,
        } => (
            *task_scheduled_id,
            ActionKind::Task,
            TaskOutcome::Completed(result.clone()),
        ),
        EventKind::TaskFailed {
            task_scheduled_id,
            reason,
            failure_details,
            ..
        } => (
            *task_scheduled_id,
            ActionKind::Task,
            failed(failure_details, reason),
        ),
        EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id,
            result,
        } => (
            *task_scheduled_id,
            ActionKind::SubOrchestration,
            TaskOutcome::Completed(result.clone()),
        ),
        EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id,
            reason,
            failure_details,
            ..
        } => (
            *task_scheduled_id,
            ActionKind::SubOrchestration,
            failed(failure_details, reason),
        ),
        EventKind::TimerFired { timer_id, .. } => {
            (*timer_id, ActionKind::Timer, TaskOutcome::Completed(None))
        }
        _ => return None,
    })
}
