//! History events from the protocol to the engine: the events a worker carries over to the
//! next generation of a continue-as-new, and the inverse of [`super::history_event`].

use super::{
    failure_from_proto, from_optional_timestamp, from_timestamp, status_from_proto,
    tags_from_proto, trace_from_proto, InvalidMessage,
};
use crate::proto;
use crate::proto::history_event::EventType as P;
use durable_engine::history::{
    EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance, ParentInstance,
};

/// The protocol's event as the engine's.
pub fn engine_event(event: proto::HistoryEvent) -> Result<HistoryEvent, InvalidMessage> {
    let timestamp = event
        .timestamp
        .as_ref()
        .ok_or_else(|| InvalidMessage(format!("history event {} has no timestamp", event.event_id)))
        .and_then(|t| from_timestamp(t, "a history event's timestamp"))?;
    let kind = event
        .event_type
        .ok_or_else(|| InvalidMessage(format!("history event {} has no type", event.event_id)))
        .and_then(kind)?;
    Ok(HistoryEvent {
        event_id: event.event_id,
        is_played: false,
        timestamp,
        kind,
    })
}

fn kind(event: P) -> Result<EventKind, InvalidMessage> {
    Ok(match event {
        P::ExecutionStarted(s) => EventKind::ExecutionStarted(Box::new(execution_started(s)?)),
        P::ExecutionCompleted(c) => EventKind::ExecutionCompleted {
            status: status_from_proto(c.orchestration_status)?,
            result: c.result,
            failure_details: c.failure_details.map(failure_from_proto),
        },
        P::ExecutionTerminated(t) => EventKind::ExecutionTerminated { input: t.input },
        P::TaskScheduled(t) => EventKind::TaskScheduled {
            name: t.name,
            version: t.version,
            input: t.input,
            tags: tags_from_proto(t.tags),
            parent_trace_context: t.parent_trace_context.and_then(trace_from_proto),
        },
        P::TaskCompleted(t) => EventKind::TaskCompleted {
            task_scheduled_id: t.task_scheduled_id,
            result: t.result,
        },
        P::TaskFailed(t) => {
            let failure = t.failure_details.map(failure_from_proto);
            EventKind::TaskFailed {
                task_scheduled_id: t.task_scheduled_id,
                reason: failure.as_ref().map(|f| f.error_message.clone()),
                details: None,
                failure_details: failure,
            }
        }
        P::SubOrchestrationInstanceCreated(s) => EventKind::SubOrchestrationInstanceCreated {
            name: s.name,
            version: s.version,
            instance_id: s.instance_id,
            input: s.input,
            client_span_id: None,
            tags: tags_from_proto(s.tags),
        },
        P::SubOrchestrationInstanceCompleted(s) => EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: s.task_scheduled_id,
            result: s.result,
        },
        P::SubOrchestrationInstanceFailed(s) => {
            let failure = s.failure_details.map(failure_from_proto);
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: s.task_scheduled_id,
                reason: failure.as_ref().map(|f| f.error_message.clone()),
                details: None,
                failure_details: failure,
            }
        }
        P::TimerCreated(t) => EventKind::TimerCreated {
            fire_at: fire_at(t.fire_at.as_ref())?,
        },
        P::TimerFired(t) => EventKind::TimerFired {
            timer_id: t.timer_id,
            fire_at: fire_at(t.fire_at.as_ref())?,
        },
        P::OrchestratorStarted(_) => EventKind::OrchestratorStarted,
        P::OrchestratorCompleted(_) => EventKind::OrchestratorCompleted,
        P::EventSent(e) => EventKind::EventSent {
            instance_id: e.instance_id,
            name: e.name,
            input: e.input,
        },
        P::EventRaised(e) => EventKind::EventRaised {
            name: e.name,
            input: e.input,
            parent_trace_context: None,
        },
        P::GenericEvent(g) => EventKind::GenericEvent { data: g.data },
        P::HistoryState(_) => EventKind::HistoryState { state: None },
        P::ContinueAsNew(c) => EventKind::ContinueAsNew {
            result: c.input,
            failure_details: None,
        },
        P::ExecutionSuspended(s) => EventKind::ExecutionSuspended { reason: s.input },
        P::ExecutionResumed(r) => EventKind::ExecutionResumed { reason: r.input },
        P::ExecutionRewound(r) => EventKind::ExecutionRewound {
            reason: r.reason,
            parent_execution_id: r.parent_execution_id,
            instance_id: r.instance_id,
            parent_trace_context: r.parent_trace_context.and_then(trace_from_proto),
        },
    })
}

fn fire_at(
    t: Option<&prost_types::Timestamp>,
) -> Result<chrono::DateTime<chrono::Utc>, InvalidMessage> {
    from_optional_timestamp(t, "fireAt")?
        .ok_or_else(|| InvalidMessage("a timer event has no fireAt".into()))
}

fn execution_started(s: proto::ExecutionStartedEvent) -> Result<ExecutionStarted, InvalidMessage> {
    Ok(ExecutionStarted {
        orchestration_instance: s.orchestration_instance.map(instance).unwrap_or_default(),
        parent_instance: s.parent_instance.map(|p| ParentInstance {
            name: p.name,
            orchestration_instance: p.orchestration_instance.map(instance).unwrap_or_default(),
            task_schedule_id: p.task_scheduled_id,
            version: p.version,
        }),
        name: s.name,
        version: s.version,
        input: s.input,
        tags: tags_from_proto(s.tags),
        correlation: None,
        parent_trace_context: s.parent_trace_context.and_then(trace_from_proto),
        scheduled_start_time: from_optional_timestamp(
            s.scheduled_start_timestamp.as_ref(),
            "scheduledStartTimestamp",
        )?,
        generation: None,
        generate_new_trace: None,
    })
}

fn instance(i: proto::OrchestrationInstance) -> OrchestrationInstance {
    OrchestrationInstance {
        instance_id: i.instance_id,
        execution_id: i.execution_id,
    }
}
