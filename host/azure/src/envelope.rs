//! The queue message envelope (`MessageData`): Newtonsoft-style JSON with `$type`
//! first on the objects .NET readers need it on, and the large-message wrapper (§2.5).

use serde_json::{Map, Value};

use durable_engine::history::EventType;
use durable_engine::message::TaskMessage;
use durable_store::{StoreError, StoreResult};

/// Messages whose envelope is larger than this (UTF-8 bytes) go to a gzip blob.
pub const MAX_INLINE_MESSAGE: usize = 45 * 1024;

/// A decoded queue message body.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    /// The message itself, with the sender's sequence number.
    Inline(Box<TaskMessage>, i64),
    /// A wrapper naming the blob (in the large-messages container) that holds the envelope.
    InBlob(String),
}

/// The .NET class name of an event (`$type` of `TaskMessage.Event`).
pub fn event_class(event_type: EventType) -> String {
    match event_type {
        EventType::GenericEvent => "DurableTask.Core.History.GenericEvent".to_owned(),
        other => format!("DurableTask.Core.History.{}Event", other.name()),
    }
}

fn typed(class: &str, value: Value) -> Value {
    let mut map = Map::new();
    // serde_json keeps keys sorted and `$` sorts before letters, so `$type` comes first.
    map.insert("$type".into(), Value::from(class));
    if let Value::Object(fields) = value {
        map.extend(fields);
    }
    Value::Object(map)
}

/// The `MessageData` JSON of `message`, sent by `sender` (`None` for clients).
pub fn encode(
    message: &TaskMessage,
    sequence_number: i64,
    sender: Option<&durable_engine::history::OrchestrationInstance>,
) -> StoreResult<String> {
    let mut task = serde_json::to_value(message)
        .map_err(|e| StoreError::storage(format!("cannot serialize a message: {e}")))?;
    let instance_class = "DurableTask.Core.OrchestrationInstance";
    if let Value::Object(fields) = &mut task {
        if let Some(event) = fields.remove("Event") {
            let event = typed(&event_class(message.event.event_type()), event);
            fields.insert("Event".into(), event);
        }
        if let Some(target) = fields.remove("OrchestrationInstance") {
            fields.insert(
                "OrchestrationInstance".into(),
                typed(instance_class, target),
            );
        }
    }
    let sender = match sender {
        Some(s) => serde_json::json!({
            "InstanceId": s.instance_id,
            "ExecutionId": s.execution_id.clone().unwrap_or_default(),
        }),
        None => serde_json::json!({ "InstanceId": "", "ExecutionId": "" }),
    };
    let envelope = typed(
        "DurableTask.AzureStorage.MessageData",
        serde_json::json!({
            "ActivityId": uuid::Uuid::new_v4().to_string(),
            "TaskMessage": typed("DurableTask.Core.TaskMessage", task),
            "CompressedBlobName": null,
            "SequenceNumber": sequence_number,
            "Sender": sender,
            "SerializableTraceContext": null,
        }),
    );
    Ok(envelope.to_string())
}

/// The wrapper that points at a blob holding the real envelope.
pub fn blob_wrapper(blob_name: &str) -> String {
    typed(
        "DurableTask.AzureStorage.MessageData",
        serde_json::json!({ "CompressedBlobName": blob_name, "SequenceNumber": 0 }),
    )
    .to_string()
}

/// The blob name of a large message: `{instanceId}/message-{ActivityId:N}-{EventType}.json.gz`.
pub fn blob_name(message: &TaskMessage) -> String {
    format!(
        "{}/message-{}-{}.json.gz",
        message.instance_id(),
        uuid::Uuid::new_v4().simple(),
        message.event.event_type().name()
    )
}

/// Reads a `MessageData` body.
pub fn decode(body: &[u8]) -> StoreResult<Envelope> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| StoreError::Corrupt(format!("unreadable queue message: {e}")))?;
    strip_types(&mut value);
    if let Some(blob) = value["CompressedBlobName"].as_str() {
        if !blob.is_empty() {
            return Ok(Envelope::InBlob(blob.to_owned()));
        }
    }
    let sequence = value["SequenceNumber"].as_i64().unwrap_or(0);
    let task = value
        .get_mut("TaskMessage")
        .map(Value::take)
        .ok_or_else(|| StoreError::Corrupt("queue message without TaskMessage".into()))?;
    let message = serde_json::from_value(task)
        .map_err(|e| StoreError::Corrupt(format!("unreadable TaskMessage: {e}")))?;
    Ok(Envelope::Inline(Box::new(message), sequence))
}

fn strip_types(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("$type");
            map.values_mut().for_each(strip_types);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_types),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::history::{EventKind, HistoryEvent, OrchestrationInstance};
    use durable_store::clock;

    #[test]
    fn round_trip_with_type_first() {
        let target = OrchestrationInstance {
            instance_id: "abc".into(),
            execution_id: Some("e1".into()),
        };
        let message = TaskMessage::new(
            target,
            HistoryEvent::new(
                clock::now(),
                EventKind::EventRaised {
                    name: "go".into(),
                    input: Some("1".into()),
                    parent_trace_context: None,
                },
            ),
        );
        let json = encode(&message, 7, None).unwrap();
        assert!(json.starts_with("{\"$type\":\"DurableTask.AzureStorage.MessageData\""));
        assert!(json.contains("\"Event\":{\"$type\":\"DurableTask.Core.History.EventRaisedEvent\""));
        assert_eq!(
            decode(json.as_bytes()).unwrap(),
            Envelope::Inline(Box::new(message), 7)
        );
        let wrapper = blob_wrapper("abc/message-x-EventRaised.json.gz");
        assert_eq!(
            decode(wrapper.as_bytes()).unwrap(),
            Envelope::InBlob("abc/message-x-EventRaised.json.gz".into())
        );
    }
}
