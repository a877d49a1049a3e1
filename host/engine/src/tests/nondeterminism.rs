//! Each kind of disagreement between history and code fails the instance with a message naming
//! both sides; awaiting a non-durable future fails it too.

use std::time::Duration;

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::failure::Failure;
use crate::function::orchestrator_fn;
use crate::history::OrchestrationStatus;
use crate::replay::{EpisodeOutput, Execution, Resolver, NONDETERMINISM_ERROR};

fn calls_b() -> Resolver {
    resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let v: String = ctx.call_activity_by_name("B", &()).await?;
            Ok(v)
        }),
    )])
}

fn assert_nondeterministic(out: &EpisodeOutput, needles: &[&str]) {
    assert_eq!(out.status, OrchestrationStatus::Failed);
    let f = out.failure_details.as_ref().unwrap();
    assert_eq!(f.error_type, NONDETERMINISM_ERROR);
    for n in needles {
        assert!(
            f.error_message.contains(n),
            "{:?} does not mention {n:?}",
            f.error_message
        );
    }
}

#[test]
fn a_different_activity_name_is_detected() {
    let h = History::started("O", "null").task_scheduled(0, "A").build();
    let (_, out) = replay_then(&calls_b(), &h, 1, vec![task_completed(0, "\"x\"")]);
    assert_nondeterministic(
        &out,
        &["TaskScheduled \"A\"", "EventId 0", "call_activity(\"B\")"],
    );
}

#[test]
fn activity_names_compare_case_insensitively() {
    let h = History::started("O", "null").task_scheduled(0, "b").build();
    let (_, out) = replay_then(&calls_b(), &h, 1, vec![task_completed(0, "\"x\"")]);
    assert_eq!(out.status, OrchestrationStatus::Completed);
}

#[test]
fn a_different_kind_of_call_is_detected() {
    let h = History::started("O", "null").timer_created(0, t(5)).build();
    let (_, out) = replay_then(&calls_b(), &h, 1, vec![]);
    assert_nondeterministic(&out, &["TimerCreated", "call_activity(\"B\")"]);
}

#[test]
fn a_recorded_call_the_code_no_longer_makes_is_detected() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn(
            "O",
            |_ctx: OrchestrationContext, _: ()| async move { Ok(1) },
        ),
    )]);
    let h = History::started("O", "null").task_scheduled(0, "B").build();
    let (_, out) = replay_then(&r, &h, 1, vec![]);
    assert_nondeterministic(&out, &["TaskScheduled \"B\"", "made no call with id 0"]);
}

#[test]
fn a_sub_orchestration_replaced_by_an_activity_is_detected() {
    let h = History::started("O", "null")
        .sub_created(0, "B", "child")
        .build();
    let (_, out) = replay_then(&calls_b(), &h, 1, vec![]);
    assert_nondeterministic(
        &out,
        &[
            "SubOrchestrationInstanceCreated \"B\"",
            "call_activity(\"B\")",
        ],
    );
}

#[test]
fn a_different_event_target_name_is_detected() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            ctx.send_event("x", "Other", &1);
            Ok(())
        }),
    )]);
    let h = History::started("O", "null")
        .event_sent(0, "x", "Ping", "1")
        .build();
    let (_, out) = replay_then(&r, &h, 1, vec![]);
    assert_nondeterministic(
        &out,
        &["EventSent \"Ping\"", "send_event(\"x\", \"Other\")"],
    );
}

#[test]
fn new_calls_beyond_the_recorded_ones_are_not_nondeterminism() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let a = ctx.call_activity_by_name::<_, i32>("A", &());
            let b = ctx.call_activity_by_name::<_, i32>("B", &());
            Ok(a.await? + b.await?)
        }),
    )]);
    let h = History::started("O", "null").task_scheduled(0, "A").build();
    let (_, out) = replay_then(&r, &h, 1, vec![]);
    assert_eq!(out.status, OrchestrationStatus::Running);
    assert_eq!(
        names(&out),
        [
            "OrchestratorStarted",
            "TaskScheduled#1:B",
            "OrchestratorCompleted"
        ]
    );
}

#[test]
fn awaiting_a_non_durable_future_fails_instead_of_hanging() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |_ctx: OrchestrationContext, _: ()| async move {
            futures::future::pending::<()>().await;
            Ok(())
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    let f = out.failure_details.unwrap();
    assert_eq!(f.error_type, "NonDurableAwaitError");
    assert!(f.error_message.contains("not durable"));
}

#[test]
fn a_tokio_sleep_inside_an_orchestrator_is_reported() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let _pending = ctx.call_activity_by_name::<_, i32>("A", &()); // created, never polled
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        }),
    )]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let mut ex = Execution::new(r);
        ex.run_episode(t(0), vec![start_event("O", "null")])
    });
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert_eq!(
        out.failure_details.unwrap().error_type,
        "NonDurableAwaitError"
    );
}

#[test]
fn a_panicking_orchestrator_fails_with_the_panic_message() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |_ctx: OrchestrationContext, _: ()| async move {
            if true {
                panic!("kaboom");
            }
            Ok::<(), Failure>(())
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert!(out
        .failure_details
        .unwrap()
        .error_message
        .contains("kaboom"));
}

#[test]
fn an_unknown_orchestrator_fails_the_instance() {
    let mut ex = Execution::new(resolver(vec![]));
    let out = ex.run_episode(t(0), vec![start_event("Nope", "null")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert!(out
        .failure_details
        .unwrap()
        .error_message
        .contains("\"Nope\""));
}
