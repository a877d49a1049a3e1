//! An instance's row as the protocol's `OrchestrationState`.

use super::{failure_to_proto, non_empty, status_to_proto, timestamp};
use crate::proto;
use durable_store::InstanceState;

/// The state of an instance. Its input, output and custom status are included only when
/// `payloads` is set (`getInputsAndOutputs`, `fetchInputsAndOutputs`).
pub fn orchestration_state(state: &InstanceState, payloads: bool) -> proto::OrchestrationState {
    let payload = |text: &Option<String>| if payloads { text.clone() } else { None };
    proto::OrchestrationState {
        instance_id: state.instance_id.clone(),
        name: state.name.clone(),
        version: state.version.clone().filter(|v| !v.is_empty()),
        orchestration_status: status_to_proto(state.status),
        scheduled_start_timestamp: None,
        created_timestamp: Some(timestamp(state.created_at)),
        last_updated_timestamp: Some(timestamp(state.last_updated_at)),
        input: payload(&state.input),
        output: payload(&state.output),
        custom_status: payload(&state.custom_status),
        failure_details: state.failure_details.as_ref().map(failure_to_proto),
        execution_id: non_empty(&state.execution_id),
        completed_timestamp: state.completed_at.map(timestamp),
        parent_instance_id: state.parent_instance_id.clone(),
        tags: state
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}
