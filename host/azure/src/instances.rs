//! Instances rows: one entity per instance id, `RowKey` empty, the DTFx columns
//! plus three of ours that DTFx readers ignore (`FailureDetails`, `ParentInstanceId`,
//! `HistoryEventCount`).

use super::layout::{escape_partition_key, unescape_partition_key};
use durable_azure_storage::entity::{EdmValue, Entity};
use durable_engine::history::OrchestrationStatus;
use durable_store::{InstanceState, StoreError, StoreResult};

/// The Instances row of `state` in hub `hub`.
pub fn to_entity(hub: &str, state: &InstanceState) -> Entity {
    let text = |s: &Option<String>| s.clone().map(EdmValue::String);
    let mut e = Entity::new(escape_partition_key(&state.instance_id), "")
        .with("ExecutionId", EdmValue::String(state.execution_id.clone()))
        .with("Name", EdmValue::String(state.name.clone()))
        .with(
            "RuntimeStatus",
            EdmValue::String(state.status.name().into()),
        )
        .with(
            "CustomStatus",
            EdmValue::String(state.custom_status.clone().unwrap_or_else(|| "null".into())),
        )
        .with("CreatedTime", EdmValue::DateTime(state.created_at))
        .with("LastUpdatedTime", EdmValue::DateTime(state.last_updated_at))
        .with("TaskHubName", EdmValue::String(hub.into()))
        .with("Generation", EdmValue::Int32(0))
        .with("Tags", EdmValue::String(tags_json(state)))
        .with(
            "HistoryEventCount",
            EdmValue::Int64(i64::try_from(state.history_len).unwrap_or(i64::MAX)),
        );
    let optional = [
        ("Version", text(&state.version)),
        ("Input", text(&state.input)),
        ("Output", text(&state.output)),
        ("ParentInstanceId", text(&state.parent_instance_id)),
        ("CompletedTime", state.completed_at.map(EdmValue::DateTime)),
        (
            "FailureDetails",
            state
                .failure_details
                .as_ref()
                .and_then(|f| serde_json::to_string(f).ok())
                .map(EdmValue::String),
        ),
    ];
    // Rows are always written whole (insert or replace), so an absent column is a cleared one.
    for (name, value) in optional {
        if let Some(value) = value {
            e = e.with(name, value);
        }
    }
    e
}

/// The `Tags` column: the tags as a JSON object, or `null` when there are none (as DTFx
/// writes it).
fn tags_json(state: &InstanceState) -> String {
    if state.tags.is_empty() {
        return "null".into();
    }
    serde_json::to_string(&state.tags).unwrap_or_else(|_| "null".into())
}

/// The instance state in an Instances row.
pub fn from_entity(e: &Entity) -> StoreResult<InstanceState> {
    let instance_id = unescape_partition_key(&e.partition_key);
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("Instances row of {instance_id:?}: {what}"));
    let text = |name: &str| e.str(name).filter(|s| !s.is_empty()).map(str::to_owned);
    let time = |name: &str| e.get(name).and_then(EdmValue::as_datetime);
    let status_name = e
        .str("RuntimeStatus")
        .ok_or_else(|| corrupt("no RuntimeStatus"))?;
    let status = OrchestrationStatus::from_name(status_name)
        .ok_or_else(|| corrupt(&format!("unknown RuntimeStatus {status_name:?}")))?;
    let failure_details = match text("FailureDetails") {
        Some(json) if json != "null" => Some(
            serde_json::from_str(&json)
                .map_err(|err| corrupt(&format!("FailureDetails: {err}")))?,
        ),
        _ => None,
    };
    let tags = match text("Tags") {
        Some(json) if json != "null" => {
            serde_json::from_str(&json).map_err(|err| corrupt(&format!("Tags: {err}")))?
        }
        _ => Default::default(),
    };
    Ok(InstanceState {
        tags,
        execution_id: text("ExecutionId").unwrap_or_default(),
        name: text("Name").unwrap_or_default(),
        version: text("Version"),
        status,
        input: text("Input"),
        output: text("Output"),
        custom_status: text("CustomStatus").filter(|s| s != "null"),
        failure_details,
        parent_instance_id: text("ParentInstanceId"),
        created_at: time("CreatedTime").ok_or_else(|| corrupt("no CreatedTime"))?,
        last_updated_at: time("LastUpdatedTime").ok_or_else(|| corrupt("no LastUpdatedTime"))?,
        completed_at: time("CompletedTime"),
        history_len: e
            .get("HistoryEventCount")
            .and_then(EdmValue::as_i64)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        instance_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_store::clock;

    #[test]
    fn rows_round_trip() {
        let state = InstanceState {
            instance_id: "a/b".into(),
            execution_id: "e".into(),
            name: "N".into(),
            version: None,
            status: OrchestrationStatus::Failed,
            input: Some("1".into()),
            output: None,
            custom_status: None,
            failure_details: Some(durable_engine::history::FailureDetails::new("T", "m")),
            parent_instance_id: Some("p".into()),
            created_at: clock::now(),
            last_updated_at: clock::now(),
            completed_at: Some(clock::now()),
            history_len: 7,
            tags: [("region".to_string(), "eu".to_string())].into(),
        };
        let row = to_entity("Hub", &state);
        assert_eq!(row.partition_key, "a^0b");
        assert_eq!(row.str("CustomStatus"), Some("null"));
        assert_eq!(from_entity(&row).unwrap(), state);
    }
}
