//! The runtime's requests as the work items a worker is sent.

use super::history::instance;
use super::{history_event, trace_to_proto};
use crate::proto;
use durable_runtime::remote::{ActivityRequest, OrchestratorRequest};

/// An orchestration episode as the protocol's request: the stored history as past events,
/// the episode's events as new ones. Entity parameters are left out (entities run on this
/// host).
pub fn orchestrator_request(request: &OrchestratorRequest) -> proto::OrchestratorRequest {
    proto::OrchestratorRequest {
        instance_id: request.instance_id.clone(),
        execution_id: Some(request.execution_id.clone()),
        past_events: request.past.iter().filter_map(history_event).collect(),
        new_events: request.new.iter().filter_map(history_event).collect(),
        ..Default::default()
    }
}

/// An activity run as the protocol's request.
pub fn activity_request(request: &ActivityRequest) -> proto::ActivityRequest {
    proto::ActivityRequest {
        name: request.name.clone(),
        version: request.version.clone(),
        input: request.input.clone(),
        orchestration_instance: Some(instance(&request.instance)),
        task_id: request.task_id,
        parent_trace_context: request.trace_context.as_ref().map(trace_to_proto),
        tags: Default::default(),
    }
}
