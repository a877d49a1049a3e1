//! The history event model: every DTFx event type with its persisted fields.
//!
//! In JSON an event is a flat object with PascalCase member names and an integer `EventType`
//! discriminator, exactly as DTFx writes it in queue messages and raw history. The typed form
//! ([`HistoryEvent`] + [`EventKind`]) is what the engine works with.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod json;

/// String-to-string tags attached to an orchestration or a task.
pub type Tags = BTreeMap<String, String>;

/// The `EventType` discriminator; the numeric values are a wire contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum EventType {
    /// An execution began (always the second event of a history).
    ExecutionStarted = 0,
    /// An execution ended.
    ExecutionCompleted = 1,
    /// Defined by DTFx but never produced.
    ExecutionFailed = 2,
    /// The instance was terminated through the API.
    ExecutionTerminated = 3,
    /// An activity was scheduled.
    TaskScheduled = 4,
    /// An activity returned.
    TaskCompleted = 5,
    /// An activity failed.
    TaskFailed = 6,
    /// A sub-orchestration was started.
    SubOrchestrationInstanceCreated = 7,
    /// A sub-orchestration completed.
    SubOrchestrationInstanceCompleted = 8,
    /// A sub-orchestration failed.
    SubOrchestrationInstanceFailed = 9,
    /// A durable timer was created.
    TimerCreated = 10,
    /// A durable timer fired.
    TimerFired = 11,
    /// An episode began; its timestamp is the orchestrator's clock.
    OrchestratorStarted = 12,
    /// An episode ended.
    OrchestratorCompleted = 13,
    /// The orchestrator sent an event to another instance.
    EventSent = 14,
    /// An external event arrived.
    EventRaised = 15,
    /// The generation ended with continue-as-new.
    ContinueAsNew = 16,
    /// A free-form event (used to poke an idle instance).
    GenericEvent = 17,
    /// A state snapshot (unused by the stores).
    HistoryState = 18,
    /// The instance was suspended.
    ExecutionSuspended = 19,
    /// The instance was resumed.
    ExecutionResumed = 20,
    /// A failed instance was rewound.
    ExecutionRewound = 21,
}

impl EventType {
    /// Every event type, in discriminator order.
    pub const ALL: [EventType; 22] = [
        Self::ExecutionStarted,
        Self::ExecutionCompleted,
        Self::ExecutionFailed,
        Self::ExecutionTerminated,
        Self::TaskScheduled,
        Self::TaskCompleted,
        Self::TaskFailed,
        Self::SubOrchestrationInstanceCreated,
        Self::SubOrchestrationInstanceCompleted,
        Self::SubOrchestrationInstanceFailed,
        Self::TimerCreated,
        Self::TimerFired,
        Self::OrchestratorStarted,
        Self::OrchestratorCompleted,
        Self::EventSent,
        Self::EventRaised,
        Self::ContinueAsNew,
        Self::GenericEvent,
        Self::HistoryState,
        Self::ExecutionSuspended,
        Self::ExecutionResumed,
        Self::ExecutionRewound,
    ];

    /// The discriminator from its wire number.
    pub fn from_i32(n: i32) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The enum name as DTFx spells it (the History table's `EventType` column).
    pub fn name(self) -> &'static str {
        match self {
            Self::ExecutionStarted => "ExecutionStarted",
            Self::ExecutionCompleted => "ExecutionCompleted",
            Self::ExecutionFailed => "ExecutionFailed",
            Self::ExecutionTerminated => "ExecutionTerminated",
            Self::TaskScheduled => "TaskScheduled",
            Self::TaskCompleted => "TaskCompleted",
            Self::TaskFailed => "TaskFailed",
            Self::SubOrchestrationInstanceCreated => "SubOrchestrationInstanceCreated",
            Self::SubOrchestrationInstanceCompleted => "SubOrchestrationInstanceCompleted",
            Self::SubOrchestrationInstanceFailed => "SubOrchestrationInstanceFailed",
            Self::TimerCreated => "TimerCreated",
            Self::TimerFired => "TimerFired",
            Self::OrchestratorStarted => "OrchestratorStarted",
            Self::OrchestratorCompleted => "OrchestratorCompleted",
            Self::EventSent => "EventSent",
            Self::EventRaised => "EventRaised",
            Self::ContinueAsNew => "ContinueAsNew",
            Self::GenericEvent => "GenericEvent",
            Self::HistoryState => "HistoryState",
            Self::ExecutionSuspended => "ExecutionSuspended",
            Self::ExecutionResumed => "ExecutionResumed",
            Self::ExecutionRewound => "ExecutionRewound",
        }
    }
}

/// Runtime status of an orchestration instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum OrchestrationStatus {
    /// Started, has history.
    Running = 0,
    /// Returned normally.
    Completed = 1,
    /// The generation ended via continue-as-new.
    ContinuedAsNew = 2,
    /// Unhandled error.
    Failed = 3,
    /// Defined, not produced in normal flows.
    Canceled = 4,
    /// Terminated through the API.
    Terminated = 5,
    /// Created by a client, not yet started.
    Pending = 6,
    /// Suspended through the API.
    Suspended = 7,
}

impl OrchestrationStatus {
    /// Every status, in numeric order.
    pub const ALL: [OrchestrationStatus; 8] = [
        Self::Running,
        Self::Completed,
        Self::ContinuedAsNew,
        Self::Failed,
        Self::Canceled,
        Self::Terminated,
        Self::Pending,
        Self::Suspended,
    ];

    /// The status from its wire number.
    pub fn from_i32(n: i32) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The status name (Instances table, HTTP JSON, query strings).
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "Running",
            Self::Completed => "Completed",
            Self::ContinuedAsNew => "ContinuedAsNew",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Terminated => "Terminated",
            Self::Pending => "Pending",
            Self::Suspended => "Suspended",
        }
    }

    /// Parses a status name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// Completed, Failed, Canceled or Terminated: the instance will not run again by itself.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::Terminated
        )
    }
}

impl Serialize for OrchestrationStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(*self as i32)
    }
}

impl<'de> Deserialize<'de> for OrchestrationStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Num(i32),
            Name(String),
        }
        match Repr::deserialize(d)? {
            Repr::Num(n) => Self::from_i32(n)
                .ok_or_else(|| D::Error::custom(format!("unknown OrchestrationStatus {n}"))),
            Repr::Name(s) => Self::from_name(&s)
                .ok_or_else(|| D::Error::custom(format!("unknown OrchestrationStatus {s:?}"))),
        }
    }
}

/// Identifies one execution of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrchestrationInstance {
    /// The instance id chosen by the client (or generated).
    pub instance_id: String,
    /// The execution (generation) id, 32 lowercase hex chars; `None` addresses the current one.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// The parent of a sub-orchestration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParentInstance {
    /// The parent orchestrator's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The parent's instance and execution.
    pub orchestration_instance: OrchestrationInstance,
    /// The parent's action id for the sub-orchestration.
    pub task_schedule_id: i32,
    /// The parent orchestrator's version.
    #[serde(default)]
    pub version: Option<String>,
}

/// Why a task or an orchestration failed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailureDetails {
    /// The error's type name.
    pub error_type: String,
    /// The error's message.
    pub error_message: String,
    /// Where it happened, if known.
    #[serde(default)]
    pub stack_trace: Option<String>,
    /// The error that caused this one.
    #[serde(default)]
    pub inner_failure: Option<Box<FailureDetails>>,
    /// True when retrying cannot help.
    #[serde(default)]
    pub is_non_retriable: bool,
    /// Extra properties.
    #[serde(default)]
    pub properties: Option<BTreeMap<String, serde_json::Value>>,
}

impl FailureDetails {
    /// A failure with a type and a message.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: error_message.into(),
            ..Self::default()
        }
    }
}

impl std::fmt::Display for FailureDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

/// W3C trace context carried with some events (fields that are not set are left out of its
/// JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TraceContext {
    /// `traceparent` header value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_parent: Option<String>,
    /// `tracestate` header value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_state: Option<String>,
    /// Activity id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Span id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// When the span started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_start_time: Option<String>,
}

/// The fields of `ExecutionStarted`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecutionStarted {
    /// Instance and new execution id.
    pub orchestration_instance: OrchestrationInstance,
    /// Set for sub-orchestrations.
    pub parent_instance: Option<ParentInstance>,
    /// Orchestrator name.
    pub name: String,
    /// Orchestrator version.
    pub version: Option<String>,
    /// Serialized JSON input.
    pub input: Option<String>,
    /// Tags.
    pub tags: Option<Tags>,
    /// Legacy correlation string.
    pub correlation: Option<String>,
    /// Trace context of the starter.
    pub parent_trace_context: Option<TraceContext>,
    /// Delayed start.
    pub scheduled_start_time: Option<DateTime<Utc>>,
    /// Restart counter.
    pub generation: Option<i32>,
    /// Whether a new trace should be started.
    pub generate_new_trace: Option<bool>,
}

/// What happened, with the fields that are specific to each event type.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // field names are the DTFx member names, documented in the spec
pub enum EventKind {
    ExecutionStarted(Box<ExecutionStarted>),
    ExecutionCompleted {
        status: OrchestrationStatus,
        result: Option<String>,
        failure_details: Option<FailureDetails>,
    },
    ExecutionFailed,
    ExecutionTerminated {
        input: Option<String>,
    },
    TaskScheduled {
        name: String,
        version: Option<String>,
        input: Option<String>,
        tags: Option<Tags>,
        parent_trace_context: Option<TraceContext>,
    },
    TaskCompleted {
        task_scheduled_id: i32,
        result: Option<String>,
    },
    TaskFailed {
        task_scheduled_id: i32,
        reason: Option<String>,
        details: Option<String>,
        failure_details: Option<FailureDetails>,
    },
    SubOrchestrationInstanceCreated {
        name: String,
        version: Option<String>,
        instance_id: String,
        input: Option<String>,
        client_span_id: Option<String>,
        tags: Option<Tags>,
    },
    SubOrchestrationInstanceCompleted {
        task_scheduled_id: i32,
        result: Option<String>,
    },
    SubOrchestrationInstanceFailed {
        task_scheduled_id: i32,
        reason: Option<String>,
        details: Option<String>,
        failure_details: Option<FailureDetails>,
    },
    TimerCreated {
        fire_at: DateTime<Utc>,
    },
    TimerFired {
        timer_id: i32,
        fire_at: DateTime<Utc>,
    },
    OrchestratorStarted,
    OrchestratorCompleted,
    EventSent {
        instance_id: String,
        name: String,
        input: Option<String>,
    },
    EventRaised {
        name: String,
        input: Option<String>,
        parent_trace_context: Option<TraceContext>,
    },
    /// `OrchestrationStatus` is always ContinuedAsNew; `result` is the next generation's input.
    ContinueAsNew {
        result: Option<String>,
        failure_details: Option<FailureDetails>,
    },
    GenericEvent {
        data: Option<String>,
    },
    HistoryState {
        state: Option<serde_json::Value>,
    },
    ExecutionSuspended {
        reason: Option<String>,
    },
    ExecutionResumed {
        reason: Option<String>,
    },
    ExecutionRewound {
        reason: Option<String>,
        parent_execution_id: Option<String>,
        instance_id: Option<String>,
        parent_trace_context: Option<TraceContext>,
    },
}

impl EventKind {
    /// The discriminator of this kind.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::ExecutionStarted(_) => EventType::ExecutionStarted,
            Self::ExecutionCompleted { .. } => EventType::ExecutionCompleted,
            Self::ExecutionFailed => EventType::ExecutionFailed,
            Self::ExecutionTerminated { .. } => EventType::ExecutionTerminated,
            Self::TaskScheduled { .. } => EventType::TaskScheduled,
            Self::TaskCompleted { .. } => EventType::TaskCompleted,
            Self::TaskFailed { .. } => EventType::TaskFailed,
            Self::SubOrchestrationInstanceCreated { .. } => {
                EventType::SubOrchestrationInstanceCreated
            }
            Self::SubOrchestrationInstanceCompleted { .. } => {
                EventType::SubOrchestrationInstanceCompleted
            }
            Self::SubOrchestrationInstanceFailed { .. } => {
                EventType::SubOrchestrationInstanceFailed
            }
            Self::TimerCreated { .. } => EventType::TimerCreated,
            Self::TimerFired { .. } => EventType::TimerFired,
            Self::OrchestratorStarted => EventType::OrchestratorStarted,
            Self::OrchestratorCompleted => EventType::OrchestratorCompleted,
            Self::EventSent { .. } => EventType::EventSent,
            Self::EventRaised { .. } => EventType::EventRaised,
            Self::ContinueAsNew { .. } => EventType::ContinueAsNew,
            Self::GenericEvent { .. } => EventType::GenericEvent,
            Self::HistoryState { .. } => EventType::HistoryState,
            Self::ExecutionSuspended { .. } => EventType::ExecutionSuspended,
            Self::ExecutionResumed { .. } => EventType::ExecutionResumed,
            Self::ExecutionRewound { .. } => EventType::ExecutionRewound,
        }
    }
}

/// One event of an orchestration's history, or the payload of a task message.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// The action id that produced the event, or -1.
    pub event_id: i32,
    /// Set once the event has been fed to the orchestrator.
    pub is_played: bool,
    /// When the event was created (UTC, 100 ns precision).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
}

impl HistoryEvent {
    /// A new event with `EventId = -1`, stamped `at`.
    pub fn new(at: DateTime<Utc>, kind: EventKind) -> Self {
        Self::with_id(-1, at, kind)
    }

    /// A new event with the given action id, stamped `at`.
    pub fn with_id(event_id: i32, at: DateTime<Utc>, kind: EventKind) -> Self {
        Self {
            event_id,
            is_played: false,
            timestamp: at,
            kind,
        }
    }

    /// The discriminator.
    pub fn event_type(&self) -> EventType {
        self.kind.event_type()
    }

    /// About how many bytes the event's payloads take (inputs, results, failure texts), plus a
    /// small fixed part: what keeping its effects in memory costs, for caches that are bounded
    /// by size.
    pub fn payload_bytes(&self) -> usize {
        let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let payload = match &self.kind {
            EventKind::ExecutionStarted(s) => len(&s.input),
            EventKind::ExecutionCompleted { result, .. }
            | EventKind::TaskCompleted { result, .. }
            | EventKind::SubOrchestrationInstanceCompleted { result, .. }
            | EventKind::ContinueAsNew { result, .. } => len(result),
            EventKind::ExecutionTerminated { input }
            | EventKind::TaskScheduled { input, .. }
            | EventKind::SubOrchestrationInstanceCreated { input, .. }
            | EventKind::EventSent { input, .. }
            | EventKind::EventRaised { input, .. } => len(input),
            EventKind::TaskFailed {
                reason, details, ..
            }
            | EventKind::SubOrchestrationInstanceFailed {
                reason, details, ..
            } => len(reason) + len(details),
            EventKind::GenericEvent { data } => len(data),
            _ => 0,
        };
        EVENT_OVERHEAD_BYTES + payload
    }
}

/// What an event costs in memory besides its payloads (its fields and bookkeeping), roughly.
pub const EVENT_OVERHEAD_BYTES: usize = 64;
