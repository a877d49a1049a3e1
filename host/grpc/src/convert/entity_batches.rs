//! Batches of entity operations for a worker (`entityRequest` work items) and its answers
//! (`CompleteEntityTask`) as the engine takes them.

use super::{failure_from_proto, non_empty, InvalidMessage};
use crate::proto;
use crate::proto::operation_action::OperationActionType as A;
use crate::proto::operation_result::ResultType;
use durable_engine::entity::remote::{RemoteBatch, RemoteSignal, RemoteStart};
use durable_engine::entity::EntityId;
use durable_engine::history::FailureDetails;
use durable_runtime::remote::EntityRequest;

/// The work item of a batch.
pub fn entity_request(request: &EntityRequest) -> proto::EntityBatchRequest {
    proto::EntityBatchRequest {
        instance_id: request.instance_id.clone(),
        entity_state: request.state.clone(),
        operations: request
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| proto::OperationRequest {
                operation: op.operation.clone(),
                request_id: i.to_string(),
                input: op.input.clone(),
                trace_context: None,
            })
            .collect(),
    }
}

/// A batch of `operations` operations that all failed with `details`: no state (the entity's
/// stays as it was before the batch), nothing sent.
pub fn failed_batch(details: FailureDetails, operations: usize) -> RemoteBatch {
    RemoteBatch {
        results: vec![Err(details); operations],
        ..RemoteBatch::default()
    }
}

/// A worker's answer to a batch of `operations` operations.
pub fn entity_answer(
    result: proto::EntityBatchResult,
    operations: usize,
) -> Result<RemoteBatch, InvalidMessage> {
    if let Some(f) = result.failure_details {
        // The whole batch failed on the worker: every operation fails with it.
        return Ok(failed_batch(failure_from_proto(f), operations));
    }
    let results = result
        .results
        .into_iter()
        .map(|r| match r.result_type {
            Some(ResultType::Success(s)) => Ok(s.result),
            Some(ResultType::Failure(f)) => Err(f.failure_details.map_or_else(
                || FailureDetails::new("EntityOperationFailed", "the operation failed"),
                failure_from_proto,
            )),
            None => Err(FailureDetails::new(
                "MissingResult",
                "the worker answered the operation with neither a result nor a failure",
            )),
        })
        .collect();
    let mut batch = RemoteBatch {
        results,
        state: result.entity_state,
        ..RemoteBatch::default()
    };
    for action in result.actions {
        match action.operation_action_type {
            Some(A::SendSignal(s)) => batch.signals.push(RemoteSignal {
                target: EntityId::from_scheduler_id(&s.instance_id).map_err(|e| {
                    InvalidMessage(format!(
                        "sendSignal to {:?}: not an entity id (@name@key): {e}",
                        s.instance_id
                    ))
                })?,
                operation: s.name,
                input: s.input,
            }),
            Some(A::StartNewOrchestration(o)) => batch.starts.push(RemoteStart {
                instance_id: non_empty(&o.instance_id)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
                name: o.name,
                version: o.version.filter(|v| !v.is_empty()),
                input: o.input,
            }),
            None => {
                return Err(InvalidMessage(format!(
                    "entity action {} has no type",
                    action.id
                )))
            }
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::entity::remote::PlannedOperation;

    #[test]
    fn a_batch_goes_out_and_its_answer_comes_back() {
        let request = EntityRequest {
            instance_id: "@counter@k".into(),
            state: Some("3".into()),
            operations: vec![
                PlannedOperation {
                    operation: "add".into(),
                    input: Some("5".into()),
                },
                PlannedOperation {
                    operation: "get".into(),
                    input: None,
                },
            ],
        };
        let sent = entity_request(&request);
        assert_eq!(sent.instance_id, "@counter@k");
        assert_eq!(sent.entity_state.as_deref(), Some("3"));
        assert_eq!(sent.operations.len(), 2);
        assert_eq!(sent.operations[0].operation, "add");

        let answer = proto::EntityBatchResult {
            results: vec![
                proto::OperationResult {
                    result_type: Some(ResultType::Success(proto::OperationResultSuccess {
                        result: Some("8".into()),
                        ..Default::default()
                    })),
                },
                proto::OperationResult {
                    result_type: Some(ResultType::Failure(proto::OperationResultFailure {
                        failure_details: Some(proto::TaskFailureDetails {
                            error_type: "KeyError".into(),
                            error_message: "get".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })),
                },
            ],
            actions: vec![proto::OperationAction {
                id: 0,
                operation_action_type: Some(A::SendSignal(proto::SendSignalAction {
                    instance_id: "@audit@k".into(),
                    name: "log".into(),
                    ..Default::default()
                })),
            }],
            entity_state: Some("8".into()),
            ..Default::default()
        };
        let batch = entity_answer(answer, 2).unwrap();
        assert_eq!(batch.results[0], Ok(Some("8".into())));
        assert_eq!(
            batch.results[1].as_ref().unwrap_err().error_type,
            "KeyError"
        );
        assert_eq!(batch.state.as_deref(), Some("8"));
        assert_eq!(batch.signals[0].target.scheduler_id(), "@audit@k");
    }

    #[test]
    fn a_failed_batch_fails_every_operation_and_bad_actions_are_errors() {
        let failed = proto::EntityBatchResult {
            failure_details: Some(proto::TaskFailureDetails {
                error_type: "Crash".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let batch = entity_answer(failed, 3).unwrap();
        assert_eq!(batch.results.len(), 3);
        assert!(batch.results.iter().all(Result::is_err));

        let bad = proto::EntityBatchResult {
            actions: vec![proto::OperationAction {
                id: 1,
                operation_action_type: Some(A::SendSignal(proto::SendSignalAction {
                    instance_id: "not-an-entity".into(),
                    ..Default::default()
                })),
            }],
            ..Default::default()
        };
        assert!(entity_answer(bad, 0).is_err());
    }
}
