//! Terminate, suspend and resume.

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::function::orchestrator_fn;
use crate::history::{EventKind, OrchestrationStatus};
use crate::replay::{Execution, Resolver};

fn waits_for_go() -> Resolver {
    resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let v: i32 = ctx.wait_for_external_event("Go").await?;
            let w: i32 = ctx.call_activity_by_name("A", &v).await?;
            Ok(w)
        }),
    )])
}

#[test]
fn terminate_ends_the_instance_with_the_reason_as_output() {
    let mut ex = Execution::new(waits_for_go());
    ex.run_episode(t(0), vec![start_event("O", "null")]);
    let out = ex.run_episode(
        t(1),
        vec![
            msg(EventKind::ExecutionTerminated {
                input: Some("\"enough\"".into()),
            }),
            msg(event_raised("Go", "1")),
        ],
    );
    assert_eq!(out.status, OrchestrationStatus::Terminated);
    assert_eq!(out.output.as_deref(), Some("\"enough\""));
    assert!(
        out.messages.is_empty(),
        "a terminated instance schedules nothing"
    );
    assert_eq!(
        names(&out),
        [
            "OrchestratorStarted",
            "ExecutionTerminated",
            "ExecutionCompleted#0:Terminated",
            "OrchestratorCompleted"
        ]
    );
}

#[test]
fn suspended_instances_hold_events_until_resumed() {
    let r = waits_for_go();
    let mut ex = Execution::new(r.clone());
    ex.run_episode(t(0), vec![start_event("O", "null")]);
    let out = ex.run_episode(
        t(1),
        vec![
            msg(EventKind::ExecutionSuspended { reason: None }),
            msg(event_raised("Go", "3")),
        ],
    );
    assert_eq!(out.status, OrchestrationStatus::Suspended);
    assert!(
        out.messages.is_empty(),
        "the held event must not advance the orchestrator"
    );
    let out2 = ex.run_episode(
        t(2),
        vec![msg(EventKind::ExecutionResumed { reason: None })],
    );
    assert_eq!(out2.status, OrchestrationStatus::Running);
    assert_eq!(
        scheduled(&out2),
        vec![(0, "A".to_string(), Some("3".to_string()))]
    );

    // Replaying the same history reaches the same state.
    let mut history = Vec::new();
    let mut fresh = Execution::new(r.clone());
    history.extend(
        fresh
            .run_episode(t(0), vec![start_event("O", "null")])
            .new_events,
    );
    history.extend(out.new_events.clone());
    let mut replayed = Execution::from_history(r, &history);
    let again = replayed.run_episode(
        t(2),
        vec![msg(EventKind::ExecutionResumed { reason: None })],
    );
    assert_eq!(scheduled(&again), scheduled(&out2));
}

#[test]
fn a_suspended_instance_can_be_terminated() {
    let mut ex = Execution::new(waits_for_go());
    ex.run_episode(t(0), vec![start_event("O", "null")]);
    ex.run_episode(
        t(1),
        vec![msg(EventKind::ExecutionSuspended { reason: None })],
    );
    let out = ex.run_episode(
        t(2),
        vec![msg(EventKind::ExecutionTerminated { input: None })],
    );
    assert_eq!(out.status, OrchestrationStatus::Terminated);
}
