//! Instance status as the management API shows it: the status object, its
//! history array, query pages and purge results.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{ClientError, DurableClient};
use durable_engine::history::{EventType, HistoryEvent, OrchestrationStatus, Tags};
use durable_store::{InstanceQuery, InstanceState, PurgeFilter};

/// What [`DurableClient::get_status_with`] includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusOptions {
    /// Include the history of the current execution (`historyEvents`).
    pub show_history: bool,
    /// Include activity/orchestration results in the history.
    pub show_history_output: bool,
    /// Include the input (status and history).
    pub show_input: bool,
}

impl Default for StatusOptions {
    /// The HTTP API's defaults: input shown, no history.
    fn default() -> Self {
        Self {
            show_history: false,
            show_history_output: false,
            show_input: true,
        }
    }
}

impl StatusOptions {
    /// Status with the full history, inputs and outputs.
    pub fn with_history() -> Self {
        Self {
            show_history: true,
            show_history_output: true,
            show_input: true,
        }
    }
}

/// The status object of one instance (`StatusResponsePayload`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableOrchestrationStatus {
    /// Orchestrator name.
    pub name: String,
    /// Instance id.
    pub instance_id: String,
    /// The version the instance was started with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Runtime status (serialized as its name).
    #[serde(with = "status_name")]
    pub runtime_status: OrchestrationStatus,
    /// The input, parsed as JSON (a string if it is not JSON; null if hidden or absent).
    pub input: Value,
    /// The custom status, parsed as JSON.
    pub custom_status: Value,
    /// The output (or termination reason / failure text), parsed as JSON.
    pub output: Value,
    /// When the instance was created (second precision).
    #[serde(serialize_with = "seconds")]
    pub created_time: DateTime<Utc>,
    /// When the instance last changed (second precision).
    #[serde(serialize_with = "seconds")]
    pub last_updated_time: DateTime<Utc>,
    /// The shaped history, when asked for and the instance is not Pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_events: Option<Vec<Value>>,
    /// The tags the instance was started with (left out when it has none).
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

mod status_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use durable_engine::history::OrchestrationStatus;

    pub fn serialize<S: Serializer>(s: &OrchestrationStatus, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OrchestrationStatus, D::Error> {
        OrchestrationStatus::deserialize(d)
    }
}

fn seconds<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Parses stored JSON text; text that is not JSON is returned as a string value.
pub fn parse_stored(text: Option<&str>) -> Value {
    match text {
        None => Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())),
    }
}

impl DurableOrchestrationStatus {
    /// The output as a `T` (for a Completed instance, the orchestrator's return value).
    pub fn output_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.output)
    }

    /// The status object of an instance row (without history).
    pub fn from_state(state: &InstanceState, show_input: bool) -> Self {
        Self {
            name: state.name.clone(),
            instance_id: state.instance_id.clone(),
            version: state.version.clone().filter(|v| !v.is_empty()),
            runtime_status: state.status,
            input: if show_input {
                parse_stored(state.input.as_deref())
            } else {
                Value::Null
            },
            custom_status: parse_stored(state.custom_status.as_deref()),
            output: parse_stored(state.output.as_deref()),
            created_time: state.created_at,
            last_updated_time: state.last_updated_at,
            history_events: None,
            tags: state.tags.clone(),
        }
    }
}

/// One page of statuses.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPage {
    /// The statuses (no history).
    pub statuses: Vec<DurableOrchestrationStatus>,
    /// Token for the next page; `None` on the last page.
    pub continuation: Option<String>,
}

/// How many instances a purge deleted (`{"instancesDeleted": n}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeHistoryResult {
    /// The count.
    #[serde(rename = "instancesDeleted")]
    pub instances_deleted: u64,
}

impl DurableClient {
    /// The status object of an instance, shaped per `options`; `None` if it does not exist.
    pub async fn get_status_with(
        &self,
        instance_id: &str,
        options: StatusOptions,
    ) -> Result<Option<DurableOrchestrationStatus>, ClientError> {
        let Some(state) = self.store.get_instance(instance_id).await? else {
            return Ok(None);
        };
        let mut status = DurableOrchestrationStatus::from_state(&state, options.show_input);
        if options.show_history && state.status != OrchestrationStatus::Pending {
            let history = self.store.get_history(instance_id).await?;
            status.history_events = Some(shape_history(
                &history,
                options.show_input,
                options.show_history_output,
            ));
        }
        Ok(Some(status))
    }

    /// The statuses (with input, without history) of the instances matching `query`, one page
    /// at a time.
    pub async fn list_instances(&self, query: &InstanceQuery) -> Result<StatusPage, ClientError> {
        let page = self.store.query_instances(query).await?;
        Ok(StatusPage {
            statuses: page
                .instances
                .iter()
                .map(|s| DurableOrchestrationStatus::from_state(s, true))
                .collect(),
            continuation: page.continuation,
        })
    }

    /// How many instances match `query` (its name, created range and id prefix), by status
    /// name; statuses without instances are left out.
    pub async fn count_instances(
        &self,
        query: &InstanceQuery,
    ) -> Result<std::collections::BTreeMap<&'static str, u64>, ClientError> {
        let counts = self.store.count_instances(query).await?;
        Ok(counts.into_iter().map(|(s, n)| (s.name(), n)).collect())
    }

    /// Deletes one instance (in any status) with its history and queued messages.
    pub async fn purge_instance_history(
        &self,
        instance_id: &str,
    ) -> Result<PurgeHistoryResult, ClientError> {
        let deleted = self.store.purge_instance(instance_id).await?;
        Ok(PurgeHistoryResult {
            instances_deleted: u64::from(deleted),
        })
    }

    /// Deletes the terminal instances matching `filter`. Non-terminal statuses in
    /// `filter.statuses` are ignored; if only such statuses were asked for, nothing is deleted.
    pub async fn purge_instance_history_by(
        &self,
        filter: &PurgeFilter,
    ) -> Result<PurgeHistoryResult, ClientError> {
        // The store purges only the terminal statuses of the filter (none if only running
        // ones were asked for): `PurgeFilter::terminal_statuses`.
        let n = self.store.purge_instances(filter).await?;
        Ok(PurgeHistoryResult {
            instances_deleted: n,
        })
    }
}

/// Shapes a raw history into the `historyEvents` array of the status API.
pub fn shape_history(
    history: &[HistoryEvent],
    show_input: bool,
    show_history_output: bool,
) -> Vec<Value> {
    // Scheduling events by action id: (name, timestamp, input), folded into their completions.
    let mut scheduled: std::collections::HashMap<i32, (Value, Value, Option<Value>)> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for event in history {
        let Ok(Value::Object(mut item)) = serde_json::to_value(event) else {
            continue;
        };
        let ty = event.event_type();
        item.insert("EventType".into(), Value::String(ty.name().into()));
        item.remove("EventId");
        item.remove("IsPlayed");
        match ty {
            EventType::OrchestratorStarted | EventType::OrchestratorCompleted => continue,
            EventType::TaskScheduled | EventType::SubOrchestrationInstanceCreated => {
                scheduled.insert(
                    event.event_id,
                    (
                        item.remove("Name").unwrap_or(Value::Null),
                        item.remove("Timestamp").unwrap_or(Value::Null),
                        item.remove("Input"),
                    ),
                );
                continue;
            }
            EventType::TaskCompleted
            | EventType::TaskFailed
            | EventType::SubOrchestrationInstanceCompleted
            | EventType::SubOrchestrationInstanceFailed => {
                let id = item
                    .remove("TaskScheduledId")
                    .and_then(|v| v.as_i64())
                    .and_then(|v| i32::try_from(v).ok());
                if let Some((name, time, input)) = id.and_then(|id| scheduled.get(&id)).cloned() {
                    item.insert("FunctionName".into(), name);
                    item.insert("ScheduledTime".into(), time);
                    if let Some(input) = input {
                        item.insert("Input".into(), input);
                    }
                }
                shape_result(&mut item, show_history_output);
            }
            EventType::ExecutionStarted => {
                if let Some(name) = item.remove("Name") {
                    item.insert("FunctionName".into(), name);
                }
                for key in ["OrchestrationInstance", "ParentInstance", "Version", "Tags"] {
                    item.remove(key);
                }
            }
            EventType::ExecutionCompleted | EventType::ContinueAsNew => {
                if let Some(n) = item.get("OrchestrationStatus").and_then(Value::as_i64) {
                    let name = i32::try_from(n)
                        .ok()
                        .and_then(OrchestrationStatus::from_i32)
                        .map_or("Unknown", OrchestrationStatus::name);
                    item.insert("OrchestrationStatus".into(), Value::String(name.into()));
                }
                shape_result(&mut item, show_history_output);
            }
            EventType::TimerFired => {
                item.remove("TimerId");
            }
            _ => {}
        }
        if !show_input {
            item.remove("Input");
        }
        out.push(Value::Object(item));
    }
    out
}

fn shape_result(item: &mut Map<String, Value>, show_history_output: bool) {
    match item.remove("Result") {
        Some(Value::String(text)) if show_history_output => {
            item.insert("Result".into(), parse_stored(Some(&text)));
        }
        Some(other) if show_history_output => {
            item.insert("Result".into(), other);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use durable_engine::history::{
        EventKind, ExecutionStarted, FailureDetails, OrchestrationInstance,
    };

    fn at(secs: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, secs).unwrap()
    }

    fn ev(id: i32, secs: u32, kind: EventKind) -> HistoryEvent {
        HistoryEvent {
            event_id: id,
            is_played: true,
            timestamp: at(secs),
            kind,
        }
    }

    fn history() -> Vec<HistoryEvent> {
        vec![
            ev(-1, 0, EventKind::OrchestratorStarted),
            ev(
                -1,
                0,
                EventKind::ExecutionStarted(Box::new(ExecutionStarted {
                    orchestration_instance: OrchestrationInstance {
                        instance_id: "i".into(),
                        execution_id: Some("e".into()),
                    },
                    name: "chain".into(),
                    input: Some("{\"a\":1}".into()),
                    version: Some("".into()),
                    ..ExecutionStarted::default()
                })),
            ),
            ev(
                0,
                0,
                EventKind::TaskScheduled {
                    name: "hello".into(),
                    version: None,
                    input: Some("\"Tokyo\"".into()),
                    tags: None,
                    parent_trace_context: None,
                },
            ),
            ev(-1, 0, EventKind::OrchestratorCompleted),
            ev(-1, 1, EventKind::OrchestratorStarted),
            ev(
                -1,
                1,
                EventKind::TaskCompleted {
                    task_scheduled_id: 0,
                    result: Some("\"Hello Tokyo\"".into()),
                },
            ),
            ev(1, 1, EventKind::TimerCreated { fire_at: at(30) }),
            ev(
                -1,
                2,
                EventKind::TimerFired {
                    timer_id: 1,
                    fire_at: at(30),
                },
            ),
            ev(
                2,
                2,
                EventKind::ExecutionCompleted {
                    status: OrchestrationStatus::Failed,
                    result: Some("Boom: bad".into()),
                    failure_details: Some(FailureDetails::new("Boom", "bad")),
                },
            ),
            ev(-1, 2, EventKind::OrchestratorCompleted),
        ]
    }

    #[test]
    fn history_is_shaped_like_the_extension_does() {
        let shaped = shape_history(&history(), true, true);
        assert_eq!(
            shaped,
            vec![
                json!({"EventType": "ExecutionStarted", "Timestamp": "2024-01-02T03:04:00.0000000Z",
                       "FunctionName": "chain", "Input": "{\"a\":1}"}),
                json!({"EventType": "TaskCompleted", "Timestamp": "2024-01-02T03:04:01.0000000Z",
                       "Result": "Hello Tokyo", "FunctionName": "hello",
                       "ScheduledTime": "2024-01-02T03:04:00.0000000Z", "Input": "\"Tokyo\""}),
                json!({"EventType": "TimerCreated", "Timestamp": "2024-01-02T03:04:01.0000000Z",
                       "FireAt": "2024-01-02T03:04:30.0000000Z"}),
                json!({"EventType": "TimerFired", "Timestamp": "2024-01-02T03:04:02.0000000Z",
                       "FireAt": "2024-01-02T03:04:30.0000000Z"}),
                json!({"EventType": "ExecutionCompleted", "Timestamp": "2024-01-02T03:04:02.0000000Z",
                       "OrchestrationStatus": "Failed", "Result": "Boom: bad",
                       "FailureDetails": {"ErrorType": "Boom", "ErrorMessage": "bad",
                                          "StackTrace": null, "InnerFailure": null,
                                          "IsNonRetriable": false, "Properties": null}}),
            ]
        );
    }

    #[test]
    fn inputs_and_outputs_are_hidden_unless_asked_for() {
        let shaped = shape_history(&history(), false, false);
        for item in &shaped {
            assert!(item.get("Input").is_none(), "{item}");
            assert!(item.get("Result").is_none(), "{item}");
        }
        assert_eq!(shaped.len(), 5);
    }

    #[test]
    fn the_status_object_has_the_documented_keys() {
        let state = InstanceState {
            instance_id: "abc".into(),
            execution_id: "e".into(),
            name: "chain".into(),
            version: None,
            status: OrchestrationStatus::Failed,
            input: Some("\"{\\\"a\\\": 1}\"".into()),
            output: Some("Boom: not json".into()),
            custom_status: Some("null".into()),
            failure_details: None,
            parent_instance_id: None,
            created_at: at(5) + chrono::Duration::milliseconds(123),
            last_updated_at: at(6),
            completed_at: None,
            history_len: 3,
            tags: Default::default(),
        };
        let v = serde_json::to_value(DurableOrchestrationStatus::from_state(&state, true)).unwrap();
        assert_eq!(
            v,
            json!({"name": "chain", "instanceId": "abc", "runtimeStatus": "Failed",
                   "input": "{\"a\": 1}", "customStatus": null, "output": "Boom: not json",
                   "createdTime": "2024-01-02T03:04:05Z",
                   "lastUpdatedTime": "2024-01-02T03:04:06Z"})
        );
        let hidden =
            serde_json::to_value(DurableOrchestrationStatus::from_state(&state, false)).unwrap();
        assert_eq!(hidden["input"], Value::Null);
    }
}
