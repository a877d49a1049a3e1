//! Episodes decided by a worker outside the process: the history, messages and status they
//! make, duplicate completions dropped, an activity scheduled again under its first id (how
//! the SDKs retry), termination without asking the worker, and continue-as-new.

use std::sync::Arc;

use super::builder::*;
use crate::environment::{Environment, SequentialIds};
use crate::history::{EventKind, FailureDetails, HistoryEvent, OrchestrationStatus};
use crate::replay::remote::Decision;
use crate::replay::{Execution, Outcome};
use crate::state::Action;

fn remote_env() -> Environment {
    Environment::new(resolver(vec![]), Arc::new(SequentialIds::default())).remote()
}

fn call(name: &str, input: &str) -> Action {
    Action::ScheduleTask {
        name: name.into(),
        input: Some(input.into()),
        timeout: None,
        input_in_history: false,
    }
}

fn decide(actions: Vec<(i32, Action)>, end: Option<Outcome>) -> Decision {
    Decision {
        actions,
        end,
        ..Decision::default()
    }
}

/// Runs one remote episode with `decision`; returns the new events sent to the worker and the
/// output, and appends the new history to `history`.
fn episode(
    history: &mut Vec<HistoryEvent>,
    n: i64,
    messages: Vec<crate::message::TaskMessage>,
    decision: Option<Decision>,
) -> (Vec<String>, crate::replay::EpisodeOutput) {
    let mut ex = Execution::from_history(remote_env(), history);
    let recorded = ex.begin_remote_episode(t(n), messages);
    let sent = recorded
        .iter()
        .map(|e| e.kind.event_type().name().to_string())
        .collect();
    let decision = match decision {
        Some(d) => {
            assert!(ex.needs_decision(), "the worker must be asked");
            d
        }
        None => {
            assert!(!ex.needs_decision(), "the worker must not be asked");
            Decision::default()
        }
    };
    let out = ex.finish_remote_episode(t(n), recorded, decision);
    history.extend(out.new_events.clone());
    (sent, out)
}

#[test]
fn a_worker_decides_the_episodes_the_engine_records() {
    let mut history = Vec::new();
    let (sent, out) = episode(
        &mut history,
        0,
        vec![start_event("py", "\"x\"")],
        Some(decide(vec![(1, call("say", "\"Tokyo\""))], None)),
    );
    assert_eq!(sent, ["OrchestratorStarted", "ExecutionStarted"]);
    assert_eq!(out.status, OrchestrationStatus::Running);
    assert_eq!(
        scheduled(&out),
        [(1, "say".into(), Some("\"Tokyo\"".into()))]
    );

    // The answer, and a duplicate of it: the duplicate is not recorded nor sent.
    let (sent, out) = episode(
        &mut history,
        1,
        vec![
            msg(task_completed(1, "\"hi\"")),
            msg(task_completed(1, "\"hi\"")),
        ],
        Some(Decision {
            custom_status: Some("\"done\"".into()),
            ..decide(vec![], Some(Outcome::Completed(Some("\"hi\"".into()))))
        }),
    );
    assert_eq!(sent, ["OrchestratorStarted", "TaskCompleted"]);
    assert_eq!(out.status, OrchestrationStatus::Completed);
    assert_eq!(out.output.as_deref(), Some("\"hi\""));
    assert_eq!(out.custom_status.as_deref(), Some("\"done\""));
    assert!(names(&out)
        .iter()
        .any(|n| n.starts_with("ExecutionCompleted")));
}

#[test]
fn an_activity_scheduled_again_under_its_id_takes_its_new_answer() {
    let mut history = Vec::new();
    episode(
        &mut history,
        0,
        vec![start_event("py", "null")],
        Some(decide(vec![(1, call("flaky", "1"))], None)),
    );
    episode(
        &mut history,
        1,
        vec![msg(task_failed(1, "first"))],
        Some(decide(vec![(1, call("flaky", "1"))], None)),
    );
    let (sent, _) = episode(
        &mut history,
        2,
        vec![msg(task_completed(1, "\"ok\""))],
        Some(decide(vec![], Some(Outcome::Completed(None)))),
    );
    assert_eq!(sent, ["OrchestratorStarted", "TaskCompleted"]);
}

#[test]
fn a_termination_ends_the_instance_without_asking_the_worker() {
    let mut history = Vec::new();
    episode(
        &mut history,
        0,
        vec![start_event("py", "null")],
        Some(decide(vec![], None)),
    );
    let (_, out) = episode(
        &mut history,
        1,
        vec![msg(EventKind::ExecutionTerminated {
            input: Some("\"stop\"".into()),
        })],
        None,
    );
    assert_eq!(out.status, OrchestrationStatus::Terminated);
    assert_eq!(out.output.as_deref(), Some("\"stop\""));
}

#[test]
fn a_failure_and_a_continue_as_new_end_the_execution_as_for_rust_code() {
    let mut history = Vec::new();
    let (_, out) = episode(
        &mut history,
        0,
        vec![start_event("py", "null")],
        Some(decide(
            vec![],
            Some(Outcome::Failed(FailureDetails::new("ValueError", "boom"))),
        )),
    );
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert_eq!(out.failure_details.unwrap().error_message, "boom");

    let mut ex = Execution::from_history(remote_env(), &[]);
    let recorded = ex.begin_remote_episode(t(0), vec![start_event("py", "1")]);
    let out = ex.finish_remote_episode(
        t(0),
        recorded,
        decide(vec![], Some(Outcome::ContinuedAsNew(Some("2".into())))),
    );
    assert_eq!(out.status, OrchestrationStatus::ContinuedAsNew);
    let (mut next, start) = ex.next_generation(t(0), vec![("go".into(), None)], None);
    let recorded = next.begin_remote_episode(t(0), start);
    let kinds: Vec<_> = recorded
        .iter()
        .map(|e| e.kind.event_type().name())
        .collect();
    assert_eq!(
        kinds,
        ["OrchestratorStarted", "ExecutionStarted", "EventRaised"]
    );
    let started = recorded.iter().find_map(|e| match &e.kind {
        EventKind::ExecutionStarted(s) => Some(s.clone()),
        _ => None,
    });
    let started = started.expect("the next generation starts");
    assert_eq!(started.input.as_deref(), Some("2"));
    assert_eq!(started.version, None, "the version is kept");
    assert_ne!(next.execution_id(), ex.execution_id());

    // A new version: the next generation runs at it.
    let (_, start) = ex.next_generation(t(0), vec![], Some("2.0".into()));
    let version = start.iter().find_map(|m| match &m.event.kind {
        EventKind::ExecutionStarted(s) => Some(s.version.clone()),
        _ => None,
    });
    assert_eq!(version, Some(Some("2.0".to_string())));
}
