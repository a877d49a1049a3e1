//! A worker's answers as the engine takes them: an orchestrator's actions as a [`Decision`],
//! an activity's result as an [`ActivityAnswer`].

use chrono::Utc;

use super::InvalidMessage;
use super::{failure_from_proto, from_optional_timestamp, non_empty, status_from_proto};
use crate::proto;
use crate::proto::orchestrator_action::OrchestratorActionType as A;
use durable_engine::history::{FailureDetails, OrchestrationStatus};
use durable_engine::replay::remote::Action;
use durable_engine::replay::remote::Decision;
use durable_engine::replay::Outcome;
use durable_runtime::remote::ActivityAnswer;

/// The error type of the failure an orchestration ends with when its worker asks for
/// something this host does not do (terminating another instance, a rewind of its own).
pub const UNSUPPORTED_ACTION: &str = "UnsupportedAction";

/// The error type of the failure an orchestration ends with, and each operation of an entity
/// batch fails with, when the worker's answer cannot be read (an action without a type, a
/// timer without a time, a chunked answer): the same code would answer the same way again, so
/// the work is not handed out again.
pub const INVALID_ANSWER: &str = "InvalidWorkerAnswer";

/// The episode a worker answers: what reading its answer needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// The instance.
    pub instance_id: String,
    /// The instance's version: the version of sub-orchestrations that name none.
    pub version: Option<String>,
}

/// The worker's answer to an episode as the engine's decision. An action this host does not
/// support ends the orchestration as failed ([`UNSUPPORTED_ACTION`]); an answer that cannot
/// be read at all is an error (which fails the orchestration with [`INVALID_ANSWER`]: see
/// [`failed_decision`]).
pub fn decision(
    episode: &Episode,
    response: proto::OrchestratorResponse,
) -> Result<Decision, InvalidMessage> {
    if response.is_partial {
        return Err(InvalidMessage(
            "answers in chunks (isPartial) are not supported; send the whole answer".into(),
        ));
    }
    let mut decision = Decision {
        custom_status: response.custom_status,
        ..Decision::default()
    };
    for action in response.actions {
        let id = action.id;
        let Some(kind) = action.orchestrator_action_type else {
            return Err(InvalidMessage(format!("action {id} has no type")));
        };
        let action = match kind {
            A::ScheduleTask(t) => {
                if t.name.is_empty() {
                    return Err(InvalidMessage(format!("scheduleTask {id} has no name")));
                }
                Action::ScheduleTask {
                    name: t.name,
                    input: t.input,
                    timeout: None,
                    input_in_history: false,
                }
            }
            A::CreateSubOrchestration(s) => {
                if s.name.is_empty() {
                    return Err(InvalidMessage(format!(
                        "createSubOrchestration {id} has no name"
                    )));
                }
                let instance_id = non_empty(&s.instance_id)
                    .unwrap_or_else(|| format!("{}:{id:04x}", episode.instance_id));
                Action::CreateSubOrchestration {
                    name: s.name,
                    instance_id,
                    version: s
                        .version
                        .filter(|v| !v.is_empty())
                        .or_else(|| episode.version.clone()),
                    input: s.input,
                }
            }
            A::CreateTimer(t) => Action::CreateTimer {
                fire_at: from_optional_timestamp(t.fire_at.as_ref(), "createTimer.fireAt")?
                    .ok_or_else(|| InvalidMessage(format!("createTimer {id} has no fireAt")))?,
            },
            A::SendEvent(e) => {
                let target = e.instance.map(|i| i.instance_id).unwrap_or_default();
                if target.is_empty() {
                    return Err(InvalidMessage(format!(
                        "sendEvent {id} names no target instance"
                    )));
                }
                Action::SendEvent {
                    instance_id: target,
                    name: e.name,
                    input: e.data,
                }
            }
            A::CompleteOrchestration(c) => {
                if decision.end.is_none() {
                    complete(&mut decision, c)?;
                }
                continue;
            }
            A::TerminateOrchestration(_) => {
                return Ok(unsupported(decision, "terminateOrchestration"))
            }
            A::SendEntityMessage(m) => {
                super::entity_messages::entity_action(id, &episode.instance_id, m, Utc::now())?
            }
            A::RewindOrchestration(_) => return Ok(unsupported(decision, "rewindOrchestration")),
        };
        decision.actions.push((id, action));
    }
    Ok(decision)
}

/// Applies a `completeOrchestration` action.
fn complete(
    decision: &mut Decision,
    c: proto::CompleteOrchestrationAction,
) -> Result<(), InvalidMessage> {
    let status = status_from_proto(c.orchestration_status)?;
    let end = match status {
        OrchestrationStatus::Completed => Outcome::Completed(c.result),
        OrchestrationStatus::Failed => Outcome::Failed(match c.failure_details {
            Some(f) => failure_from_proto(f),
            None => FailureDetails::new(
                "OrchestrationFailed",
                c.details.or(c.result).unwrap_or_default(),
            ),
        }),
        OrchestrationStatus::Terminated => Outcome::Terminated(c.result),
        OrchestrationStatus::ContinuedAsNew => {
            decision.new_version = c.new_version.filter(|v| !v.is_empty());
            for event in c.carryover_events {
                if let Some(proto::history_event::EventType::EventRaised(e)) = event.event_type {
                    decision.carried.push((e.name, e.input));
                }
            }
            Outcome::ContinuedAsNew(c.result)
        }
        other => {
            return Err(InvalidMessage(format!(
                "completeOrchestration with status {} (expected COMPLETED, FAILED, TERMINATED \
                 or CONTINUED_AS_NEW)",
                other.name()
            )))
        }
    };
    decision.end = Some(end);
    Ok(())
}

/// The decision for an answer that cannot be read (`why`): no actions, and the orchestration
/// fails with [`INVALID_ANSWER`].
pub fn failed_decision(why: &InvalidMessage) -> Decision {
    Decision {
        end: Some(Outcome::Failed(why.answer_failure())),
        ..Decision::default()
    }
}

/// The decision for an answer with an action this host does not support: no actions, and the
/// orchestration fails with a message that names the action.
fn unsupported(decision: Decision, action: &str) -> Decision {
    let message = format!(
        "the orchestrator asked for {action}, which this host does not support over the \
         Durable Task protocol"
    );
    Decision {
        actions: Vec::new(),
        end: Some(Outcome::Failed(FailureDetails {
            is_non_retriable: true,
            ..FailureDetails::new(UNSUPPORTED_ACTION, message)
        })),
        custom_status: decision.custom_status,
        ..Decision::default()
    }
}

/// A worker's answer to an activity run: its result, or how it failed.
pub fn activity_answer(response: proto::ActivityResponse) -> ActivityAnswer {
    match response.failure_details {
        Some(f) => Err(failure_from_proto(f)),
        None => Ok(response.result),
    }
}
