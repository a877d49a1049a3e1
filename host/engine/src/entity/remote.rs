//! Batches of entities whose code runs in a worker outside the process (the Durable Task
//! protocol): the engine keeps the entity's scheduler (ordering, locks, the batch cap), the
//! worker runs the operations.
//!
//! Which operations a batch runs does not depend on what they answer, so a batch is run twice
//! through [`run_batch`]: [`plan_batch`] with a function that only records each operation
//! (the list the worker is sent), and [`run_remote_batch`] with one that gives back, in the
//! same order, what the worker answered. The worker answers the state after the whole batch
//! (a failed operation's changes are rolled back on its side), so each succeeding operation
//! leaves that state, and the signals the batch sends go out with the first succeeding one.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::context::{EntityFn, OutgoingSignal};
use super::executor::{run_batch, BatchOutput};
use super::id::EntityId;
use super::options::EntityOptions;
use super::scheduler::SchedulerState;
use crate::environment::IdSource;
use crate::failure::Failure;
use crate::history::{
    EventKind, ExecutionStarted, FailureDetails, HistoryEvent, OrchestrationInstance,
};
use crate::message::TaskMessage;
use crate::replay::Outbound;

/// One operation of a batch, for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOperation {
    /// The operation's name.
    pub operation: String,
    /// Its serialized input.
    pub input: Option<String>,
}

/// A signal an operation sends to another entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSignal {
    /// The entity signalled.
    pub target: EntityId,
    /// The operation.
    pub operation: String,
    /// Its serialized input.
    pub input: Option<String>,
}

/// An orchestration an operation starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteStart {
    /// The orchestrator's name.
    pub name: String,
    /// The new instance's id.
    pub instance_id: String,
    /// Its version.
    pub version: Option<String>,
    /// Its serialized input.
    pub input: Option<String>,
}

/// What a worker answered for a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteBatch {
    /// Each operation's result, in the order they were sent.
    pub results: Vec<Result<Option<String>, FailureDetails>>,
    /// The entity's state after the batch (`None`: deleted, or never set).
    pub state: Option<String>,
    /// The signals the batch's operations sent.
    pub signals: Vec<RemoteSignal>,
    /// The orchestrations the batch's operations started.
    pub starts: Vec<RemoteStart>,
}

/// The operations the batch of `events` runs, in order (none when it only moves locks).
pub fn plan_batch(
    id: &EntityId,
    state: &SchedulerState,
    events: Vec<HistoryEvent>,
    now: DateTime<Utc>,
    options: &EntityOptions,
    ids: &dyn IdSource,
) -> Vec<PlannedOperation> {
    let planned = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&planned);
    let function: EntityFn = Arc::new(move |ctx| {
        let op = PlannedOperation {
            operation: ctx.operation_name().to_string(),
            input: ctx.raw_input().map(str::to_string),
        };
        record.lock().unwrap_or_else(|e| e.into_inner()).push(op);
        Ok(())
    });
    run_batch(
        id,
        state.clone(),
        events,
        Some(&function),
        now,
        options,
        ids,
    );
    let planned = planned.lock().unwrap_or_else(|e| e.into_inner());
    planned.clone()
}

/// Runs the batch of `events` with the worker's `answer` to [`plan_batch`]'s operations.
pub fn run_remote_batch(
    id: &EntityId,
    state: SchedulerState,
    events: Vec<HistoryEvent>,
    mut answer: RemoteBatch,
    now: DateTime<Utc>,
    options: &EntityOptions,
    ids: &dyn IdSource,
) -> BatchOutput {
    let starts = std::mem::take(&mut answer.starts);
    let script = Arc::new(Mutex::new(Script {
        answer,
        next: 0,
        signals_sent: false,
    }));
    let function: EntityFn = Arc::new(move |ctx| {
        let mut script = script.lock().unwrap_or_else(|e| e.into_inner());
        let index = script.next;
        script.next += 1;
        let result = script
            .answer
            .results
            .get(index)
            .cloned()
            .unwrap_or_else(|| {
                Err(FailureDetails::new(
                    "MissingResult",
                    format!("the worker answered no result for operation {index} of the batch"),
                ))
            });
        let result = result.map_err(Failure)?;
        ctx.result = result;
        ctx.state = script.answer.state.clone();
        if !script.signals_sent {
            script.signals_sent = true;
            ctx.signals = script
                .answer
                .signals
                .iter()
                .map(|s| OutgoingSignal {
                    target: s.target.clone(),
                    operation: s.operation.clone(),
                    input: s.input.clone(),
                })
                .collect();
        }
        Ok(())
    });
    let mut out = run_batch(id, state, events, Some(&function), now, options, ids);
    out.messages
        .extend(starts.into_iter().map(|s| start_message(s, now, ids)));
    out
}

/// The message that starts an orchestration an operation asked for (as a sub-orchestration
/// is started: its `ExecutionStarted`, which creates the instance).
fn start_message(start: RemoteStart, now: DateTime<Utc>, ids: &dyn IdSource) -> Outbound {
    let instance = OrchestrationInstance {
        instance_id: start.instance_id,
        execution_id: Some(ids.new_id().simple().to_string()),
    };
    let started = ExecutionStarted {
        orchestration_instance: instance.clone(),
        name: start.name,
        version: start.version,
        input: start.input,
        ..ExecutionStarted::default()
    };
    Outbound::Orchestration {
        message: TaskMessage::new(
            instance,
            HistoryEvent::new(now, EventKind::ExecutionStarted(Box::new(started))),
        ),
        visible_at: None,
    }
}

/// The worker's answer, handed out one operation at a time.
struct Script {
    answer: RemoteBatch,
    next: usize,
    signals_sent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::messages::{RequestMessage, OP};
    use crate::environment::SequentialIds;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn request(id: &str, op: &str, input: &str, signal: bool) -> HistoryEvent {
        let mut r = RequestMessage::operation(id.into(), op, Some(input.into()), signal, now());
        r.parent = Some("caller".into());
        HistoryEvent::new(
            now(),
            EventKind::EventRaised {
                name: OP.into(),
                input: Some(serde_json::to_string(&r).unwrap()),
                parent_trace_context: None,
            },
        )
    }

    fn responses(out: &BatchOutput) -> Vec<(String, String)> {
        out.messages
            .iter()
            .filter_map(|m| match m {
                Outbound::Orchestration { message, .. } => match &message.event.kind {
                    EventKind::EventRaised { name, input, .. } => Some((
                        message.orchestration_instance.instance_id.clone() + "/" + name,
                        input.clone().unwrap_or_default(),
                    )),
                    _ => None,
                },
                Outbound::Activity(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_worker_answers_the_planned_operations_in_order() {
        let id = EntityId::new("counter", "k").unwrap();
        let events = vec![
            request("r1", "add", "5", false),
            request("r2", "add", "3", true),
            request("r3", "boom", "null", false),
        ];
        let options = EntityOptions::default();
        let ids = SequentialIds::default();
        let state = SchedulerState::default();
        let plan = plan_batch(&id, &state, events.clone(), now(), &options, &ids);
        let ops: Vec<_> = plan.iter().map(|p| p.operation.as_str()).collect();
        assert_eq!(ops, ["add", "add", "boom"]);
        assert_eq!(plan[0].input.as_deref(), Some("5"));

        let answer = RemoteBatch {
            results: vec![
                Ok(Some("5".into())),
                Ok(None),
                Err(FailureDetails::new("ValueError", "no such operation")),
            ],
            state: Some("8".into()),
            signals: vec![RemoteSignal {
                target: EntityId::new("audit", "k").unwrap(),
                operation: "log".into(),
                input: None,
            }],
            starts: vec![RemoteStart {
                name: "audit_run".into(),
                instance_id: "run-1".into(),
                version: None,
                input: Some("8".into()),
            }],
        };
        let out = run_remote_batch(&id, state, events, answer, now(), &options, &ids);
        assert_eq!(out.state.state.as_deref(), Some("8"));
        assert!(out.state.exists);
        let sent = responses(&out);
        // the call's answer, the signal to the other entity, the failure's answer
        assert!(sent
            .iter()
            .any(|(to, body)| to == "caller/r1" && body.contains("\"5\"")));
        assert!(sent.iter().any(|(to, _)| to == "@audit@k/op"));
        let started = out.messages.iter().any(|m| {
            matches!(m, Outbound::Orchestration { message, .. }
                if message.orchestration_instance.instance_id == "run-1"
                    && matches!(&message.event.kind, EventKind::ExecutionStarted(s) if s.name == "audit_run"))
        });
        assert!(started, "the orchestration an operation started");
        assert!(sent
            .iter()
            .any(|(to, body)| to == "caller/r3" && body.contains("no such operation")));
        assert!(
            !sent.iter().any(|(to, _)| to == "caller/r2"),
            "a signal gets no answer"
        );
    }

    #[test]
    fn a_missing_result_fails_its_operation() {
        let id = EntityId::new("counter", "k").unwrap();
        let events = vec![request("r1", "add", "5", false)];
        let options = EntityOptions::default();
        let ids = SequentialIds::default();
        let out = run_remote_batch(
            &id,
            SchedulerState::default(),
            events,
            RemoteBatch::default(),
            now(),
            &options,
            &ids,
        );
        assert!(!out.state.exists);
        assert!(responses(&out)
            .iter()
            .any(|(_, body)| body.contains("MissingResult")));
    }
}
