//! The DTFx JSON shape of a history event: a flat object with PascalCase members and an
//! integer `EventType` (written by hand: serde's tagged enums need string tags).

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::super::time;
use super::*;

/// Writes `key: value` into a JSON map, skipping `None`.
fn put<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, v),
        None => Ok(()),
    }
}

struct Ts<'a>(&'a DateTime<Utc>);

impl Serialize for Ts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&time::format(self.0))
    }
}

fn put_ts<M: SerializeMap>(
    map: &mut M,
    key: &str,
    value: &Option<DateTime<Utc>>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, &Ts(v)),
        None => Ok(()),
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("EventType", &(self.event_type() as i32))?;
        m.serialize_entry("EventId", &self.event_id)?;
        m.serialize_entry("IsPlayed", &self.is_played)?;
        m.serialize_entry("Timestamp", &Ts(&self.timestamp))?;
        match &self.kind {
            EventKind::ExecutionStarted(e) => {
                m.serialize_entry("OrchestrationInstance", &e.orchestration_instance)?;
                put(&mut m, "ParentInstance", &e.parent_instance)?;
                m.serialize_entry("Name", &e.name)?;
                put(&mut m, "Version", &e.version)?;
                put(&mut m, "Input", &e.input)?;
                put(&mut m, "Tags", &e.tags)?;
                put(&mut m, "Correlation", &e.correlation)?;
                put(&mut m, "ParentTraceContext", &e.parent_trace_context)?;
                put_ts(&mut m, "ScheduledStartTime", &e.scheduled_start_time)?;
                put(&mut m, "Generation", &e.generation)?;
                put(&mut m, "GenerateNewTrace", &e.generate_new_trace)?;
            }
            EventKind::ExecutionCompleted {
                status,
                result,
                failure_details,
            } => {
                m.serialize_entry("OrchestrationStatus", status)?;
                put(&mut m, "Result", result)?;
                put(&mut m, "FailureDetails", failure_details)?;
            }
            EventKind::ContinueAsNew {
                result,
                failure_details,
            } => {
                m.serialize_entry("OrchestrationStatus", &OrchestrationStatus::ContinuedAsNew)?;
                put(&mut m, "Result", result)?;
                put(&mut m, "FailureDetails", failure_details)?;
            }
            EventKind::ExecutionFailed
            | EventKind::OrchestratorStarted
            | EventKind::OrchestratorCompleted => {}
            EventKind::ExecutionTerminated { input } => put(&mut m, "Input", input)?,
            EventKind::TaskScheduled {
                name,
                version,
                input,
                tags,
                parent_trace_context,
            } => {
                m.serialize_entry("Name", name)?;
                put(&mut m, "Version", version)?;
                put(&mut m, "Input", input)?;
                put(&mut m, "Tags", tags)?;
                put(&mut m, "ParentTraceContext", parent_trace_context)?;
            }
            EventKind::TaskCompleted {
                task_scheduled_id,
                result,
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id,
                result,
            } => {
                m.serialize_entry("TaskScheduledId", task_scheduled_id)?;
                put(&mut m, "Result", result)?;
            }
            EventKind::TaskFailed {
                task_scheduled_id,
                reason,
                details,
                failure_details,
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id,
                reason,
                details,
                failure_details,
            } => {
                m.serialize_entry("TaskScheduledId", task_scheduled_id)?;
                put(&mut m, "Reason", reason)?;
                put(&mut m, "Details", details)?;
                put(&mut m, "FailureDetails", failure_details)?;
            }
            EventKind::SubOrchestrationInstanceCreated {
                name,
                version,
                instance_id,
                input,
                client_span_id,
                tags,
            } => {
                m.serialize_entry("Name", name)?;
                put(&mut m, "Version", version)?;
                m.serialize_entry("InstanceId", instance_id)?;
                put(&mut m, "Input", input)?;
                put(&mut m, "ClientSpanId", client_span_id)?;
                put(&mut m, "Tags", tags)?;
            }
            EventKind::TimerCreated { fire_at } => m.serialize_entry("FireAt", &Ts(fire_at))?,
            EventKind::TimerFired { timer_id, fire_at } => {
                m.serialize_entry("TimerId", timer_id)?;
                m.serialize_entry("FireAt", &Ts(fire_at))?;
            }
            EventKind::EventSent {
                instance_id,
                name,
                input,
            } => {
                m.serialize_entry("InstanceId", instance_id)?;
                m.serialize_entry("Name", name)?;
                put(&mut m, "Input", input)?;
            }
            EventKind::EventRaised {
                name,
                input,
                parent_trace_context,
            } => {
                m.serialize_entry("Name", name)?;
                put(&mut m, "Input", input)?;
                put(&mut m, "ParentTraceContext", parent_trace_context)?;
            }
            EventKind::GenericEvent { data } => put(&mut m, "Data", data)?,
            EventKind::HistoryState { state } => put(&mut m, "State", state)?,
            EventKind::ExecutionSuspended { reason } | EventKind::ExecutionResumed { reason } => {
                put(&mut m, "Reason", reason)?
            }
            EventKind::ExecutionRewound {
                reason,
                parent_execution_id,
                instance_id,
                parent_trace_context,
            } => {
                put(&mut m, "Reason", reason)?;
                put(&mut m, "ParentExecutionId", parent_execution_id)?;
                put(&mut m, "InstanceId", instance_id)?;
                put(&mut m, "ParentTraceContext", parent_trace_context)?;
            }
        }
        m.end()
    }
}

/// The flat union of all members, as read from JSON.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    event_type: i32,
    #[serde(default = "minus_one")]
    event_id: i32,
    #[serde(default)]
    is_played: bool,
    #[serde(default, deserialize_with = "time::deserialize_opt")]
    timestamp: Option<DateTime<Utc>>,
    orchestration_instance: Option<OrchestrationInstance>,
    parent_instance: Option<ParentInstance>,
    name: Option<String>,
    version: Option<String>,
    input: Option<String>,
    tags: Option<Tags>,
    correlation: Option<String>,
    parent_trace_context: Option<TraceContext>,
    #[serde(default, deserialize_with = "time::deserialize_opt")]
    scheduled_start_time: Option<DateTime<Utc>>,
    generation: Option<i32>,
    generate_new_trace: Option<bool>,
    orchestration_status: Option<OrchestrationStatus>,
    result: Option<String>,
    failure_details: Option<FailureDetails>,
    task_scheduled_id: Option<i32>,
    reason: Option<String>,
    details: Option<String>,
    instance_id: Option<String>,
    client_span_id: Option<String>,
    #[serde(default, deserialize_with = "time::deserialize_opt")]
    fire_at: Option<DateTime<Utc>>,
    timer_id: Option<i32>,
    data: Option<String>,
    state: Option<serde_json::Value>,
    parent_execution_id: Option<String>,
}

fn minus_one() -> i32 {
    -1
}

fn required<T, E: serde::de::Error>(v: Option<T>, ty: EventType, field: &str) -> Result<T, E> {
    v.ok_or_else(|| E::custom(format!("{} event without {field}", ty.name())))
}

impl<'de> Deserialize<'de> for HistoryEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let ty = EventType::from_i32(w.event_type)
            .ok_or_else(|| D::Error::custom(format!("unknown EventType {}", w.event_type)))?;
        let kind = match ty {
            EventType::ExecutionStarted => {
                EventKind::ExecutionStarted(Box::new(ExecutionStarted {
                    orchestration_instance: required(
                        w.orchestration_instance,
                        ty,
                        "OrchestrationInstance",
                    )?,
                    parent_instance: w.parent_instance,
                    name: required(w.name, ty, "Name")?,
                    version: w.version,
                    input: w.input,
                    tags: w.tags,
                    correlation: w.correlation,
                    parent_trace_context: w.parent_trace_context,
                    scheduled_start_time: w.scheduled_start_time,
                    generation: w.generation,
                    generate_new_trace: w.generate_new_trace,
                }))
            }
            EventType::ExecutionCompleted => EventKind::ExecutionCompleted {
                status: required(w.orchestration_status, ty, "OrchestrationStatus")?,
                result: w.result,
                failure_details: w.failure_details,
            },
            EventType::ExecutionFailed => EventKind::ExecutionFailed,
            EventType::ExecutionTerminated => EventKind::ExecutionTerminated { input: w.input },
            EventType::TaskScheduled => EventKind::TaskScheduled {
                name: required(w.name, ty, "Name")?,
                version: w.version,
                input: w.input,
                tags: w.tags,
                parent_trace_context: w.parent_trace_context,
            },
            EventType::TaskCompleted => EventKind::TaskCompleted {
                task_scheduled_id: required(w.task_scheduled_id, ty, "TaskScheduledId")?,
                result: w.result,
            },
            EventType::TaskFailed => EventKind::TaskFailed {
                task_scheduled_id: required(w.task_scheduled_id, ty, "TaskScheduledId")?,
                reason: w.reason,
                details: w.details,
                failure_details: w.failure_details,
            },
            EventType::SubOrchestrationInstanceCreated => {
                EventKind::SubOrchestrationInstanceCreated {
                    name: required(w.name, ty, "Name")?,
                    version: w.version,
                    instance_id: required(w.instance_id, ty, "InstanceId")?,
                    input: w.input,
                    client_span_id: w.client_span_id,
                    tags: w.tags,
                }
            }
            EventType::SubOrchestrationInstanceCompleted => {
                EventKind::SubOrchestrationInstanceCompleted {
                    task_scheduled_id: required(w.task_scheduled_id, ty, "TaskScheduledId")?,
                    result: w.result,
                }
            }
            EventType::SubOrchestrationInstanceFailed => {
                EventKind::SubOrchestrationInstanceFailed {
                    task_scheduled_id: required(w.task_scheduled_id, ty, "TaskScheduledId")?,
                    reason: w.reason,
                    details: w.details,
                    failure_details: w.failure_details,
                }
            }
            EventType::TimerCreated => EventKind::TimerCreated {
                fire_at: required(w.fire_at, ty, "FireAt")?,
            },
            EventType::TimerFired => EventKind::TimerFired {
                timer_id: required(w.timer_id, ty, "TimerId")?,
                fire_at: required(w.fire_at, ty, "FireAt")?,
            },
            EventType::OrchestratorStarted => EventKind::OrchestratorStarted,
            EventType::OrchestratorCompleted => EventKind::OrchestratorCompleted,
            EventType::EventSent => EventKind::EventSent {
                instance_id: required(w.instance_id, ty, "InstanceId")?,
                name: required(w.name, ty, "Name")?,
                input: w.input,
            },
            EventType::EventRaised => EventKind::EventRaised {
                name: required(w.name, ty, "Name")?,
                input: w.input,
                parent_trace_context: w.parent_trace_context,
            },
            EventType::ContinueAsNew => EventKind::ContinueAsNew {
                result: w.result,
                failure_details: w.failure_details,
            },
            EventType::GenericEvent => EventKind::GenericEvent { data: w.data },
            EventType::HistoryState => EventKind::HistoryState { state: w.state },
            EventType::ExecutionSuspended => EventKind::ExecutionSuspended { reason: w.reason },
            EventType::ExecutionResumed => EventKind::ExecutionResumed { reason: w.reason },
            EventType::ExecutionRewound => EventKind::ExecutionRewound {
                reason: w.reason,
                parent_execution_id: w.parent_execution_id,
                instance_id: w.instance_id,
                parent_trace_context: w.parent_trace_context,
            },
        };
        Ok(HistoryEvent {
            event_id: w.event_id,
            is_played: w.is_played,
            // A message without a timestamp (none that DTFx writes) gets the epoch: decoding
            // reads no clock.
            timestamp: w.timestamp.unwrap_or(DateTime::UNIX_EPOCH),
            kind,
        })
    }
}
