//! Conversions between the engine's types and the protocol's messages.
//!
//! This module holds the pieces every message shares (times, failures, trace contexts, tags,
//! statuses, JSON values); each submodule converts one family of messages.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use prost_types::value::Kind;

use crate::proto;
use durable_engine::history::{FailureDetails, OrchestrationStatus, Tags, TraceContext};

mod decision;
mod entity_batches;
mod entity_messages;
mod history;
mod history_in;
mod requests;
mod state;
#[cfg(test)]
mod tests;

pub use decision::{activity_answer, decision, failed_decision, Episode};
pub use decision::{INVALID_ANSWER, UNSUPPORTED_ACTION};
pub use entity_batches::{entity_answer, entity_request, failed_batch};
pub use history::history_event;
pub use history_in::engine_event;
pub use requests::{activity_request, orchestrator_request};
pub use state::orchestration_state;

/// A message from a peer that cannot be used, with what is wrong with it. It becomes an
/// `INVALID_ARGUMENT` status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMessage(pub String);

impl std::fmt::Display for InvalidMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidMessage {}

impl InvalidMessage {
    /// The failure a worker's answer that cannot be read ends its work with
    /// ([`INVALID_ANSWER`], not retriable): the same code would answer the same way again.
    pub fn answer_failure(&self) -> FailureDetails {
        FailureDetails {
            is_non_retriable: true,
            ..FailureDetails::new(
                INVALID_ANSWER,
                format!("the worker's answer cannot be used: {}", self.0),
            )
        }
    }
}

impl From<InvalidMessage> for tonic::Status {
    fn from(e: InvalidMessage) -> Self {
        tonic::Status::invalid_argument(e.0)
    }
}

/// A time as a protobuf timestamp.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf timestamp as a time; `what` names the field in the error.
pub fn from_timestamp(
    t: &prost_types::Timestamp,
    what: &str,
) -> Result<DateTime<Utc>, InvalidMessage> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .ok_or_else(|| {
            InvalidMessage(format!(
                "{what} is not a valid time ({}s {}ns)",
                t.seconds, t.nanos
            ))
        })
}

/// An optional protobuf timestamp as an optional time.
pub fn from_optional_timestamp(
    t: Option<&prost_types::Timestamp>,
    what: &str,
) -> Result<Option<DateTime<Utc>>, InvalidMessage> {
    t.map(|t| from_timestamp(t, what)).transpose()
}

/// `Some` unless the text is empty (proto3 strings have no presence).
pub fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// The engine's failure as the protocol's.
pub fn failure_to_proto(f: &FailureDetails) -> proto::TaskFailureDetails {
    proto::TaskFailureDetails {
        error_type: f.error_type.clone(),
        error_message: f.error_message.clone(),
        stack_trace: f.stack_trace.clone(),
        inner_failure: f
            .inner_failure
            .as_deref()
            .map(|inner| Box::new(failure_to_proto(inner))),
        is_non_retriable: f.is_non_retriable,
        properties: f
            .properties
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

/// The protocol's failure as the engine's.
pub fn failure_from_proto(f: proto::TaskFailureDetails) -> FailureDetails {
    FailureDetails {
        error_type: f.error_type,
        error_message: f.error_message,
        stack_trace: f.stack_trace,
        inner_failure: f
            .inner_failure
            .map(|inner| Box::new(failure_from_proto(*inner))),
        is_non_retriable: f.is_non_retriable,
        properties: (!f.properties.is_empty()).then(|| {
            f.properties
                .into_iter()
                .map(|(k, v)| (k, value_to_json(v)))
                .collect()
        }),
    }
}

/// The engine's trace context as the protocol's (whose span id, when the engine has none, is
/// the one in `traceparent`).
pub fn trace_to_proto(t: &TraceContext) -> proto::TraceContext {
    let trace_parent = t.trace_parent.clone().unwrap_or_default();
    let span_id = t
        .span_id
        .clone()
        .or_else(|| trace_parent.split('-').nth(2).map(str::to_string))
        .unwrap_or_default();
    proto::TraceContext {
        trace_parent,
        span_id,
        trace_state: t.trace_state.clone(),
    }
}

/// The protocol's trace context as the engine's; `None` when it names no trace.
pub fn trace_from_proto(t: proto::TraceContext) -> Option<TraceContext> {
    if t.trace_parent.is_empty() {
        return None;
    }
    Some(TraceContext {
        trace_parent: Some(t.trace_parent),
        trace_state: t.trace_state,
        id: None,
        span_id: non_empty(&t.span_id),
        activity_start_time: None,
    })
}

/// Tags as a protobuf map.
pub fn tags_to_proto(tags: Option<&Tags>) -> HashMap<String, String> {
    tags.iter()
        .flat_map(|t| t.iter())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A protobuf map as tags; `None` when empty.
pub fn tags_from_proto(tags: HashMap<String, String>) -> Option<Tags> {
    (!tags.is_empty()).then(|| tags.into_iter().collect::<BTreeMap<_, _>>())
}

/// The engine's status as the protocol's enum value.
pub fn status_to_proto(s: OrchestrationStatus) -> i32 {
    use proto::OrchestrationStatus as P;
    let p = match s {
        OrchestrationStatus::Running => P::Running,
        OrchestrationStatus::Completed => P::Completed,
        OrchestrationStatus::ContinuedAsNew => P::ContinuedAsNew,
        OrchestrationStatus::Failed => P::Failed,
        OrchestrationStatus::Canceled => P::Canceled,
        OrchestrationStatus::Terminated => P::Terminated,
        OrchestrationStatus::Pending => P::Pending,
        OrchestrationStatus::Suspended => P::Suspended,
    };
    p as i32
}

/// The protocol's enum value as the engine's status.
pub fn status_from_proto(n: i32) -> Result<OrchestrationStatus, InvalidMessage> {
    use proto::OrchestrationStatus as P;
    let p =
        P::try_from(n).map_err(|_| InvalidMessage(format!("unknown orchestration status {n}")))?;
    Ok(match p {
        P::Running => OrchestrationStatus::Running,
        P::Completed => OrchestrationStatus::Completed,
        P::ContinuedAsNew => OrchestrationStatus::ContinuedAsNew,
        P::Failed => OrchestrationStatus::Failed,
        P::Canceled => OrchestrationStatus::Canceled,
        P::Terminated => OrchestrationStatus::Terminated,
        P::Pending => OrchestrationStatus::Pending,
        P::Suspended => OrchestrationStatus::Suspended,
    })
}

/// A list of the protocol's statuses as the engine's.
pub fn statuses_from_proto(list: &[i32]) -> Result<Vec<OrchestrationStatus>, InvalidMessage> {
    list.iter().map(|n| status_from_proto(*n)).collect()
}

/// A JSON value as a protobuf `Value`.
pub fn json_to_value(v: &serde_json::Value) -> prost_types::Value {
    use serde_json::Value as J;
    let kind = match v {
        J::Null => Kind::NullValue(0),
        J::Bool(b) => Kind::BoolValue(*b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Kind::StringValue(s.clone()),
        J::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_to_value).collect(),
        }),
        J::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A protobuf `Value` as JSON (a number that JSON cannot hold, such as NaN, becomes null).
pub fn value_to_json(v: prost_types::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v.kind {
        None | Some(Kind::NullValue(_)) => J::Null,
        Some(Kind::BoolValue(b)) => J::Bool(b),
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(n).map_or(J::Null, J::Number),
        Some(Kind::StringValue(s)) => J::String(s),
        Some(Kind::ListValue(l)) => J::Array(l.values.into_iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => J::Object(
            s.fields
                .into_iter()
                .map(|(k, v)| (k, value_to_json(v)))
                .collect(),
        ),
    }
}
