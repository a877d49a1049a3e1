//! History events from the engine to the protocol: what a worker replays.

use super::{failure_to_proto, status_to_proto, tags_to_proto, timestamp, trace_to_proto};
use crate::proto;
use crate::proto::history_event::EventType as P;
use durable_engine::history::{
    EventKind, ExecutionStarted, FailureDetails, HistoryEvent, OrchestrationInstance,
    ParentInstance,
};

/// The event as the protocol has it; `None` for the kinds a worker is never sent
/// (`ExecutionFailed`, which the engine never writes, and `HistoryState` snapshots).
pub fn history_event(event: &HistoryEvent) -> Option<proto::HistoryEvent> {
    Some(proto::HistoryEvent {
        event_id: event.event_id,
        timestamp: Some(timestamp(event.timestamp)),
        event_type: Some(event_type(&event.kind)?),
    })
}

fn event_type(kind: &EventKind) -> Option<P> {
    Some(match kind {
        EventKind::ExecutionStarted(s) => P::ExecutionStarted(execution_started(s)),
        EventKind::ExecutionCompleted {
            status,
            result,
            failure_details,
        } => P::ExecutionCompleted(proto::ExecutionCompletedEvent {
            orchestration_status: status_to_proto(*status),
            result: result.clone(),
            failure_details: failure_details.as_ref().map(failure_to_proto),
        }),
        EventKind::ExecutionFailed | EventKind::HistoryState { .. } => return None,
        EventKind::ExecutionTerminated { input } => {
            P::ExecutionTerminated(proto::ExecutionTerminatedEvent {
                input: input.clone(),
                recurse: false,
            })
        }
        EventKind::TaskScheduled {
            name,
            version,
            input,
            tags,
            parent_trace_context,
        } => P::TaskScheduled(proto::TaskScheduledEvent {
            name: name.clone(),
            version: version.clone(),
            input: input.clone(),
            parent_trace_context: parent_trace_context.as_ref().map(trace_to_proto),
            tags: tags_to_proto(tags.as_ref()),
        }),
        EventKind::TaskCompleted {
            task_scheduled_id,
            result,
        } => P::TaskCompleted(proto::TaskCompletedEvent {
            task_scheduled_id: *task_scheduled_id,
            result: result.clone(),
        }),
        EventKind::TaskFailed {
            task_scheduled_id,
            reason,
            details,
            failure_details,
        } => P::TaskFailed(proto::TaskFailedEvent {
            task_scheduled_id: *task_scheduled_id,
            failure_details: Some(failure_of(failure_details, reason, details, "TaskFailed")),
        }),
        EventKind::SubOrchestrationInstanceCreated {
            name,
            version,
            instance_id,
            input,
            client_span_id: _,
            tags,
        } => P::SubOrchestrationInstanceCreated(proto::SubOrchestrationInstanceCreatedEvent {
            instance_id: instance_id.clone(),
            name: name.clone(),
            version: version.clone(),
            input: input.clone(),
            parent_trace_context: None,
            tags: tags_to_proto(tags.as_ref()),
        }),
        EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id,
            result,
        } => P::SubOrchestrationInstanceCompleted(proto::SubOrchestrationInstanceCompletedEvent {
            task_scheduled_id: *task_scheduled_id,
            result: result.clone(),
        }),
        EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id,
            reason,
            details,
            failure_details,
        } => P::SubOrchestrationInstanceFailed(proto::SubOrchestrationInstanceFailedEvent {
            task_scheduled_id: *task_scheduled_id,
            failure_details: Some(failure_of(
                failure_details,
                reason,
                details,
                "SubOrchestrationFailed",
            )),
        }),
        EventKind::TimerCreated { fire_at } => P::TimerCreated(proto::TimerCreatedEvent {
            fire_at: Some(timestamp(*fire_at)),
        }),
        EventKind::TimerFired { timer_id, fire_at } => P::TimerFired(proto::TimerFiredEvent {
            fire_at: Some(timestamp(*fire_at)),
            timer_id: *timer_id,
        }),
        EventKind::OrchestratorStarted => {
            P::OrchestratorStarted(proto::OrchestratorStartedEvent {})
        }
        EventKind::OrchestratorCompleted => {
            P::OrchestratorCompleted(proto::OrchestratorCompletedEvent {})
        }
        EventKind::EventSent {
            instance_id,
            name,
            input,
        } => P::EventSent(proto::EventSentEvent {
            instance_id: instance_id.clone(),
            name: name.clone(),
            input: input.clone(),
        }),
        EventKind::EventRaised { name, input, .. } => P::EventRaised(proto::EventRaisedEvent {
            name: name.clone(),
            input: input.clone(),
        }),
        EventKind::ContinueAsNew { result, .. } => P::ContinueAsNew(proto::ContinueAsNewEvent {
            input: result.clone(),
        }),
        EventKind::GenericEvent { data } => {
            P::GenericEvent(proto::GenericEvent { data: data.clone() })
        }
        EventKind::ExecutionSuspended { reason } => {
            P::ExecutionSuspended(proto::ExecutionSuspendedEvent {
                input: reason.clone(),
            })
        }
        EventKind::ExecutionResumed { reason } => {
            P::ExecutionResumed(proto::ExecutionResumedEvent {
                input: reason.clone(),
            })
        }
        EventKind::ExecutionRewound {
            reason,
            parent_execution_id,
            instance_id,
            parent_trace_context,
        } => P::ExecutionRewound(proto::ExecutionRewoundEvent {
            reason: reason.clone(),
            parent_execution_id: parent_execution_id.clone(),
            instance_id: instance_id.clone(),
            parent_trace_context: parent_trace_context.as_ref().map(trace_to_proto),
            ..Default::default()
        }),
    })
}

fn execution_started(s: &ExecutionStarted) -> proto::ExecutionStartedEvent {
    proto::ExecutionStartedEvent {
        name: s.name.clone(),
        version: s.version.clone(),
        input: s.input.clone(),
        orchestration_instance: Some(instance(&s.orchestration_instance)),
        parent_instance: s.parent_instance.as_ref().map(parent),
        scheduled_start_timestamp: s.scheduled_start_time.map(timestamp),
        parent_trace_context: s.parent_trace_context.as_ref().map(trace_to_proto),
        orchestration_span_id: None,
        tags: tags_to_proto(s.tags.as_ref()),
    }
}

/// An instance and execution as the protocol names them.
pub(super) fn instance(i: &OrchestrationInstance) -> proto::OrchestrationInstance {
    proto::OrchestrationInstance {
        instance_id: i.instance_id.clone(),
        execution_id: i.execution_id.clone(),
    }
}

fn parent(p: &ParentInstance) -> proto::ParentInstanceInfo {
    proto::ParentInstanceInfo {
        task_scheduled_id: p.task_schedule_id,
        name: p.name.clone(),
        version: p.version.clone(),
        orchestration_instance: Some(instance(&p.orchestration_instance)),
    }
}

/// The failure of a failed task: its details, or (for events written without them) one made
/// of the reason and details texts.
fn failure_of(
    details: &Option<FailureDetails>,
    reason: &Option<String>,
    text: &Option<String>,
    error_type: &str,
) -> proto::TaskFailureDetails {
    match details {
        Some(d) => failure_to_proto(d),
        None => proto::TaskFailureDetails {
            error_type: error_type.to_string(),
            error_message: reason.clone().unwrap_or_default(),
            stack_trace: text.clone(),
            ..Default::default()
        },
    }
}
