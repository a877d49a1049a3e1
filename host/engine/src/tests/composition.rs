//! Sub-orchestrations, continue-as-new and events sent to other instances.

use std::time::Duration;

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::failure::Failure;
use crate::function::{orchestrator_fn, Orchestration};
use crate::history::{EventKind, OrchestrationStatus};
use crate::replay::{Execution, Outbound};
use crate::retry::RetryOptions;

struct Child;

impl Orchestration for Child {
    const NAME: &'static str = "Child";
    type Input = i32;
    type Output = i32;
    async fn run(_ctx: OrchestrationContext, input: i32) -> Result<i32, Failure> {
        Ok(input * 2)
    }
}

#[test]
fn sub_orchestration_gets_the_default_id_and_its_result() {
    let r = resolver(vec![(
        "Parent",
        orchestrator_fn("Parent", |ctx: OrchestrationContext, _: ()| async move {
            Ok(ctx.call_sub_orchestrator(Child, 21).await?)
        }),
    )]);
    let mut ex = Execution::new(r.clone());
    let out = ex.run_episode(t(0), vec![start_event("Parent", "null")]);
    let expected_id = format!("{EXECUTION}:0");
    assert_eq!(
        names(&out)[2],
        format!("SubOrchestrationInstanceCreated#0:Child:{expected_id}")
    );
    let Outbound::Orchestration { message, .. } = &out.messages[0] else {
        panic!("expected a start message for the child")
    };
    assert_eq!(message.orchestration_instance.instance_id, expected_id);
    let EventKind::ExecutionStarted(start) = &message.event.kind else {
        panic!("expected ExecutionStarted")
    };
    assert_eq!(start.parent_instance.as_ref().unwrap().task_schedule_id, 0);
    assert_eq!(start.input.as_deref(), Some("21"));
    let out = ex.run_episode(
        t(1),
        vec![msg(EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: 0,
            result: Some("42".into()),
        })],
    );
    assert_eq!(out.output.as_deref(), Some("42"));
}

#[test]
fn a_finished_child_reports_to_its_parent() {
    let r = resolver(vec![("Child", crate::function::erase_orchestration(Child))]);
    let mut ex = Execution::new(r);
    let mut start = start_event("Child", "5");
    if let EventKind::ExecutionStarted(s) = &mut start.event.kind {
        s.parent_instance = Some(crate::history::ParentInstance {
            name: Some("Parent".into()),
            orchestration_instance: crate::history::OrchestrationInstance {
                instance_id: "parent".into(),
                execution_id: Some("pe".into()),
            },
            task_schedule_id: 7,
            version: None,
        });
    }
    let out = ex.run_episode(t(0), vec![start]);
    let Outbound::Orchestration { message, .. } = &out.messages[0] else {
        panic!()
    };
    assert_eq!(message.orchestration_instance.instance_id, "parent");
    assert!(matches!(
        &message.event.kind,
        EventKind::SubOrchestrationInstanceCompleted { task_scheduled_id: 7, result: Some(r) } if r == "10"
    ));
}

#[test]
fn continue_as_new_starts_a_new_generation_carrying_unconsumed_events() {
    let r = resolver(vec![(
        "Counter",
        orchestrator_fn("Counter", |ctx: OrchestrationContext, n: i32| async move {
            if n < 2 {
                ctx.continue_as_new(&(n + 1));
                return Ok(n);
            }
            let v: String = ctx.wait_for_external_event("Kept").await?;
            Ok(n * 100 + v.len() as i32)
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(
        t(0),
        vec![
            start_event("Counter", "0"),
            msg(event_raised("Kept", "\"abc\"")),
        ],
    );
    assert!(out.new_execution);
    assert_eq!(out.status, OrchestrationStatus::Completed);
    assert_eq!(out.output.as_deref(), Some("203"));
    let EventKind::ExecutionStarted(s) = &out.new_events[1].kind else {
        panic!()
    };
    assert_ne!(
        s.orchestration_instance.execution_id.as_deref(),
        Some(EXECUTION)
    );
    assert_eq!(s.input.as_deref(), Some("2"));
    assert!(names(&out).contains(&"EventRaised".to_string()));
}

#[test]
fn send_event_records_event_sent_and_addresses_the_target() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            ctx.send_event("other", "Ping", &42);
            Ok(())
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert!(names(&out).contains(&"EventSent#0:Ping".to_string()));
    let Outbound::Orchestration { message, .. } = &out.messages[0] else {
        panic!()
    };
    assert_eq!(message.orchestration_instance.instance_id, "other");
    assert_eq!(message.orchestration_instance.execution_id, None);
    assert!(
        matches!(&message.event.kind, EventKind::EventRaised { name, input: Some(i), .. } if name == "Ping" && i == "42")
    );
    assert_eq!(out.status, OrchestrationStatus::Completed);
}

#[test]
fn a_completed_sub_orchestration_replays_from_canned_history() {
    let r = resolver(vec![(
        "Parent",
        orchestrator_fn("Parent", |ctx: OrchestrationContext, _: ()| async move {
            let a = ctx.call_sub_orchestrator(Child, 1).await?;
            let b = ctx
                .call_sub_orchestrator_by_name::<_, i32>("Child", Some("fixed"), &2)
                .await?;
            Ok(a + b)
        }),
    )]);
    let h = History::started("Parent", "null")
        .sub_created(0, "Child", &format!("{EXECUTION}:0"))
        .next_episode()
        .sub_completed(0, "2")
        .sub_created(1, "Child", "fixed")
        .build();
    let (_, out) = replay_then(
        &r,
        &h,
        2,
        vec![EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: 1,
            result: Some("4".into()),
        }],
    );
    assert_eq!(out.output.as_deref(), Some("6"));
}

#[test]
fn sub_orchestration_retries_reuse_the_child_instance_id() {
    let r = resolver(vec![(
        "Parent",
        orchestrator_fn("Parent", |ctx: OrchestrationContext, _: ()| async move {
            let retry = RetryOptions::new(Duration::from_secs(1), 2);
            Ok(ctx
                .call_sub_orchestrator_with_retry(Child, &retry, None, 1)
                .await?)
        }),
    )]);
    let child_id = format!("{EXECUTION}:0");
    let h = History::started("Parent", "null")
        .sub_created(0, "Child", &child_id)
        .build();
    let failed = EventKind::SubOrchestrationInstanceFailed {
        task_scheduled_id: 0,
        reason: Some("x".into()),
        details: None,
        failure_details: Some(crate::history::FailureDetails::new("E", "x")),
    };
    let (mut ex, out) = replay_then(&r, &h, 1, vec![failed]);
    assert_eq!(
        names(&out),
        [
            "OrchestratorStarted",
            "SubOrchestrationInstanceFailed",
            "TimerCreated#1",
            "OrchestratorCompleted"
        ]
    );
    let out = ex.run_episode(
        t(2),
        vec![msg(EventKind::TimerFired {
            timer_id: 1,
            fire_at: t(2),
        })],
    );
    assert_eq!(
        names(&out)[2],
        format!("SubOrchestrationInstanceCreated#2:Child:{child_id}")
    );
}
