//! What an episode sends: the history event and the outbound message of each new action,
//! and the completion notice to a parent orchestration.

use chrono::{DateTime, Utc};

use super::{Outbound, Outcome};
use crate::environment::Environment;
use crate::history::{
    EventKind, ExecutionStarted, FailureDetails, HistoryEvent, OrchestrationInstance,
    ParentInstance,
};
use crate::message::{ExecutionContext, TaskMessage};
use crate::state::{Action, State};

/// The history event and the message for action `id`.
pub(super) fn action_to_event(
    id: i32,
    action: Action,
    me: &OrchestrationInstance,
    st: &State,
    now: DateTime<Utc>,
    env: &Environment,
) -> (HistoryEvent, Outbound) {
    match action {
        Action::ScheduleTask {
            name,
            input,
            timeout,
            input_in_history,
        } => {
            let history = HistoryEvent::with_id(
                id,
                now,
                EventKind::TaskScheduled {
                    name: name.clone(),
                    version: None,
                    input: input.clone().filter(|_| input_in_history),
                    tags: None,
                    parent_trace_context: None,
                },
            );
            let mut message = TaskMessage::new(
                me.clone(),
                HistoryEvent::with_id(
                    id,
                    now,
                    EventKind::TaskScheduled {
                        name,
                        version: None,
                        input,
                        tags: timeout.map(crate::activity_options::timeout_tags),
                        parent_trace_context: None,
                    },
                ),
            );
            message.orchestration_execution_context = st.tags.clone().map(|t| ExecutionContext {
                orchestration_tags: t,
            });
            (history, Outbound::Activity(message))
        }
        Action::CreateTimer { fire_at } => (
            HistoryEvent::with_id(id, now, EventKind::TimerCreated { fire_at }),
            Outbound::Orchestration {
                message: TaskMessage::new(
                    me.clone(),
                    HistoryEvent::new(
                        now,
                        EventKind::TimerFired {
                            timer_id: id,
                            fire_at,
                        },
                    ),
                ),
                visible_at: Some(fire_at.max(now)),
            },
        ),
        Action::CreateSubOrchestration {
            name,
            instance_id,
            version,
            input,
        } => {
            let child = OrchestrationInstance {
                instance_id: instance_id.clone(),
                execution_id: Some(env.new_execution_id()),
            };
            let start = ExecutionStarted {
                orchestration_instance: child.clone(),
                parent_instance: Some(ParentInstance {
                    name: Some(st.name.clone()),
                    orchestration_instance: me.clone(),
                    task_schedule_id: id,
                    version: st.version.clone(),
                }),
                name: name.clone(),
                version: version.clone(),
                input,
                ..ExecutionStarted::default()
            };
            (
                HistoryEvent::with_id(
                    id,
                    now,
                    EventKind::SubOrchestrationInstanceCreated {
                        name,
                        version,
                        instance_id,
                        input: None,
                        client_span_id: None,
                        tags: None,
                    },
                ),
                Outbound::Orchestration {
                    message: TaskMessage::new(
                        child,
                        HistoryEvent::new(now, EventKind::ExecutionStarted(Box::new(start))),
                    ),
                    visible_at: None,
                },
            )
        }
        Action::SendEvent {
            instance_id,
            name,
            input,
        } => (
            HistoryEvent::with_id(
                id,
                now,
                EventKind::EventSent {
                    instance_id: instance_id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                },
            ),
            Outbound::Orchestration {
                message: TaskMessage::new(
                    OrchestrationInstance {
                        instance_id,
                        execution_id: None,
                    },
                    HistoryEvent::new(
                        now,
                        EventKind::EventRaised {
                            name,
                            input,
                            parent_trace_context: None,
                        },
                    ),
                ),
                visible_at: None,
            },
        ),
    }
}

/// The message telling a parent orchestration how its child ended.
pub(super) fn notify_parent(
    parent: &ParentInstance,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Outbound {
    let task_scheduled_id = parent.task_schedule_id;
    let kind = match outcome {
        Outcome::Completed(result) => EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id,
            result: result.clone(),
        },
        Outcome::Failed(f) => EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id,
            reason: Some(f.error_message.clone()),
            details: None,
            failure_details: Some(f.clone()),
        },
        Outcome::Terminated(reason) | Outcome::ContinuedAsNew(reason) => {
            let f = FailureDetails::new(
                "Terminated",
                format!(
                    "the sub-orchestration was terminated: {}",
                    reason.as_deref().unwrap_or("")
                ),
            );
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id,
                reason: Some(f.error_message.clone()),
                details: None,
                failure_details: Some(f),
            }
        }
    };
    Outbound::Orchestration {
        message: TaskMessage::new(
            parent.orchestration_instance.clone(),
            HistoryEvent::new(now, kind),
        ),
        visible_at: None,
    }
}
