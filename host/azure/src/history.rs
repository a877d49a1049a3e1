//! History rows: one entity per event, `EventType` as the enum name, the time as
//! `_Timestamp`, complex members as JSON strings, `ExecutionId` on every row.

use serde_json::{Map, Value};

use durable_azure_storage::entity::{EdmValue, Entity};
use durable_engine::history::{EventType, HistoryEvent, OrchestrationStatus};
use durable_engine::time;
use durable_store::{StoreError, StoreResult};

/// Members stored as JSON strings.
const COMPLEX: [&str; 6] = [
    "OrchestrationInstance",
    "ParentInstance",
    "Tags",
    "FailureDetails",
    "ParentTraceContext",
    "State",
];

/// Members stored as `Edm.DateTime`.
const TIMES: [&str; 2] = ["FireAt", "ScheduledStartTime"];

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

/// The row of event `event` in partition `pk` at row key `rk`.
pub fn to_entity(
    pk: &str,
    rk: &str,
    execution_id: &str,
    event: &HistoryEvent,
) -> StoreResult<Entity> {
    let json = serde_json::to_value(event)
        .map_err(|e| StoreError::storage(format!("cannot serialize an event: {e}")))?;
    let Value::Object(fields) = json else {
        return Err(StoreError::storage("an event is not a JSON object"));
    };
    let mut entity = Entity::new(pk, rk).with("ExecutionId", EdmValue::String(execution_id.into()));
    for (name, value) in fields {
        let column = if name == "Timestamp" {
            "_Timestamp".to_owned()
        } else {
            name.clone()
        };
        let edm = match (name.as_str(), value) {
            (_, Value::Null) => continue,
            ("EventType", _) => EdmValue::String(event.event_type().name().into()),
            ("OrchestrationStatus", Value::Number(n)) => {
                let status = n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .and_then(OrchestrationStatus::from_i32)
                    .ok_or_else(|| StoreError::storage(format!("bad status {n}")))?;
                EdmValue::String(status.name().into())
            }
            (_, Value::String(s)) if name == "Timestamp" || TIMES.contains(&name.as_str()) => {
                let t = time::parse(&s)
                    .map_err(|e| StoreError::storage(format!("bad time {s:?}: {e}")))?;
                EdmValue::DateTime(t)
            }
            (_, Value::String(s)) => EdmValue::String(s),
            (_, Value::Bool(b)) => EdmValue::Bool(b),
            (_, Value::Number(n)) => match n.as_i64() {
                Some(v) => match i32::try_from(v) {
                    Ok(v) => EdmValue::Int32(v),
                    Err(_) => EdmValue::Int64(v),
                },
                None => EdmValue::Double(n.as_f64().unwrap_or(0.0)),
            },
            (_, other) => EdmValue::String(other.to_string()),
        };
        entity.properties.insert(column, edm);
    }
    Ok(entity)
}

/// The event stored in a history row.
pub fn from_entity(entity: &Entity) -> StoreResult<HistoryEvent> {
    let where_ = || format!("history row {}/{}", entity.partition_key, entity.row_key);
    let mut map = Map::new();
    for (name, value) in &entity.properties {
        if name == "ExecutionId" || name.ends_with("BlobName") {
            continue;
        }
        let key = if name == "_Timestamp" {
            "Timestamp"
        } else {
            name.as_str()
        };
        let json = match (key, value) {
            ("EventType", EdmValue::String(s)) => {
                let t = EventType::ALL
                    .iter()
                    .find(|t| t.name() == s)
                    .ok_or_else(|| corrupt(format!("{}: unknown EventType {s:?}", where_())))?;
                Value::from(*t as i32)
            }
            ("OrchestrationStatus", EdmValue::String(s)) => {
                let status = OrchestrationStatus::from_name(s)
                    .ok_or_else(|| corrupt(format!("{}: unknown status {s:?}", where_())))?;
                Value::from(status as i32)
            }
            (k, EdmValue::String(s)) if COMPLEX.contains(&k) => {
                if s == "null" {
                    continue;
                }
                serde_json::from_str(s)
                    .map_err(|e| corrupt(format!("{}: unreadable {k}: {e}", where_())))?
            }
            (_, EdmValue::String(s)) | (_, EdmValue::Guid(s)) => Value::from(s.as_str()),
            (_, EdmValue::DateTime(t)) => Value::from(time::format(t)),
            (_, EdmValue::Int32(v)) => Value::from(*v),
            (_, EdmValue::Int64(v)) => Value::from(*v),
            (_, EdmValue::Double(v)) => Value::from(*v),
            (_, EdmValue::Bool(b)) => Value::from(*b),
        };
        map.insert(key.to_owned(), json);
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| corrupt(format!("{}: unreadable event: {e}", where_())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::history::{EventKind, ExecutionStarted, OrchestrationInstance};
    use durable_store::clock;

    #[test]
    fn events_round_trip_through_rows() {
        let started = ExecutionStarted {
            orchestration_instance: OrchestrationInstance {
                instance_id: "i".into(),
                execution_id: Some("e".into()),
            },
            name: "N".into(),
            input: Some("{\"a\":1}".into()),
            ..ExecutionStarted::default()
        };
        let events = [
            HistoryEvent::new(clock::now(), EventKind::ExecutionStarted(Box::new(started))),
            HistoryEvent::with_id(
                3,
                clock::now(),
                EventKind::TimerCreated {
                    fire_at: clock::now(),
                },
            ),
            HistoryEvent::new(
                clock::now(),
                EventKind::ExecutionCompleted {
                    status: OrchestrationStatus::Failed,
                    result: None,
                    failure_details: Some(durable_engine::history::FailureDetails::new("T", "m")),
                },
            ),
        ];
        for event in events {
            let row = to_entity("i", "0000000000000000", "e", &event).unwrap();
            assert!(matches!(row.get("EventType"), Some(EdmValue::String(_))));
            assert!(matches!(row.get("_Timestamp"), Some(EdmValue::DateTime(_))));
            assert_eq!(from_entity(&row).unwrap(), event);
        }
    }
}
