//! Edge cases of continue-as-new, completion, time arithmetic and panics.

use std::time::Duration;

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::function::orchestrator_fn;
use crate::history::{
    EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance, OrchestrationStatus,
    ParentInstance,
};
use crate::message::TaskMessage;
use crate::replay::{Execution, Outbound};
use crate::retry::RetryOptions;

fn eternal() -> crate::replay::Resolver {
    resolver(vec![(
        "Eternal",
        orchestrator_fn("Eternal", |ctx: OrchestrationContext, n: i32| async move {
            ctx.sleep(Duration::from_secs(10)).await;
            ctx.continue_as_new(&(n + 1));
            Ok(n)
        }),
    )])
}

/// A terminate in the same batch as the event that triggers continue-as-new wins.
#[test]
fn terminate_after_continue_as_new_in_one_batch_terminates() {
    let mut ex = Execution::new(eternal());
    let out = ex.run_episode(t(0), vec![start_event("Eternal", "0")]);
    let EventKind::TimerCreated { fire_at } = out.new_events[2].kind else {
        panic!()
    };
    let out = ex.run_episode(
        t(20),
        vec![
            msg(EventKind::TimerFired {
                timer_id: 0,
                fire_at,
            }),
            msg(EventKind::ExecutionTerminated {
                input: Some("\"stop\"".into()),
            }),
        ],
    );
    // spec §1.6: "a Terminated after a ContinuedAsNew overrides it"
    assert_eq!(
        out.status,
        OrchestrationStatus::Terminated,
        "new events: {:?}",
        names(&out)
    );
}

fn select_then_can() -> crate::replay::Resolver {
    resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, n: i32| async move {
            if n == 0 {
                let a = ctx.call_activity_by_name::<_, i32>("A", &());
                let b = ctx.call_activity_by_name::<_, i32>("B", &());
                let _ = futures::future::select(a, b).await;
                ctx.continue_as_new(&1);
                return Ok(0);
            }
            let v: i32 = ctx.wait_for_external_event("x").await?;
            Ok(v)
        }),
    )])
}

/// Events after a stale message that follows the continue-as-new are still carried over.
#[test]
fn events_after_a_stale_completion_are_carried_over() {
    let mut ex = Execution::new(select_then_can());
    ex.run_episode(t(0), vec![start_event("O", "0")]);
    let out = ex.run_episode(
        t(1),
        vec![
            msg(task_completed(0, "1")),
            msg(task_completed(1, "2")),
            msg(event_raised("x", "42")),
        ],
    );
    assert!(out.new_execution);
    // without the stale TaskCompleted(1) this completes with 42 (carried over)
    assert_eq!(
        out.status,
        OrchestrationStatus::Completed,
        "{:?}",
        names(&out)
    );
    assert_eq!(out.output.as_deref(), Some("42"));
}

fn parent() -> ParentInstance {
    ParentInstance {
        name: Some("P".into()),
        orchestration_instance: OrchestrationInstance {
            instance_id: "parent".into(),
            execution_id: Some("pexec".into()),
        },
        task_schedule_id: 7,
        version: None,
    }
}

fn child_start(name: &str, input: &str) -> TaskMessage {
    TaskMessage::new(
        me(),
        HistoryEvent::new(
            chrono::Utc::now(),
            EventKind::ExecutionStarted(Box::new(ExecutionStarted {
                orchestration_instance: me(),
                parent_instance: Some(parent()),
                name: name.into(),
                input: Some(input.into()),
                ..ExecutionStarted::default()
            })),
        ),
    )
}

/// A generation loop within one episode fails the instance with a proper history and tells the
/// parent.
#[test]
fn a_continue_as_new_loop_fails_cleanly() {
    let r = resolver(vec![(
        "Loop",
        orchestrator_fn("Loop", |ctx: OrchestrationContext, n: i32| async move {
            ctx.continue_as_new(&(n + 1));
            Ok(n)
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![child_start("Loop", "0")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    let has_start = out
        .new_events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ExecutionStarted(_)));
    let notifies_parent = out.messages.iter().any(|m| matches!(m,
        Outbound::Orchestration { message, .. } if message.orchestration_instance.instance_id == "parent"));
    assert!(
        ex.started().is_some(),
        "execution has no ExecutionStarted; names={:?}",
        names(&out)
    );
    assert!(
        has_start,
        "history lacks ExecutionStarted: {:?}",
        names(&out)
    );
    assert!(notifies_parent, "parent never told");
}

/// An episode on a finished execution (a redelivered start) adds no second completion.
#[test]
fn a_finished_execution_is_not_completed_twice() {
    let r = resolver(vec![(
        "C",
        orchestrator_fn("C", |_ctx: OrchestrationContext, n: i32| async move {
            Ok(n * 2)
        }),
    )]);
    let mut ex = Execution::new(r.clone());
    let first = ex.run_episode(t(0), vec![child_start("C", "21")]);
    assert_eq!(first.status, OrchestrationStatus::Completed);
    let mut replayed = Execution::from_history(r, &first.new_events);
    let again = replayed.run_episode(t(5), vec![child_start("C", "21")]);
    assert!(
        !names(&again)
            .iter()
            .any(|n| n.starts_with("ExecutionCompleted")),
        "second completion appended: {:?}; messages: {}",
        names(&again),
        again.messages.len()
    );
}

/// Huge durations saturate instead of overflowing the clock.
#[test]
fn a_retry_with_an_unbounded_timeout_retries() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let retry = RetryOptions::new(Duration::from_secs(1), 3).with_timeout(Duration::MAX);
            let v: String = ctx
                .call_activity_by_name_with_retry("Flaky", &retry, &"x")
                .await?;
            Ok(v)
        }),
    )]);
    let h = History::started("O", "null")
        .task_scheduled(0, "Flaky")
        .build();
    let (_, out) = replay_then(&r, &h, 1, vec![task_failed(0, "boom")]);
    assert_eq!(
        out.status,
        OrchestrationStatus::Running,
        "{:?}",
        out.failure_details
    );
}

#[test]
fn a_wait_with_the_largest_timeout_waits() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let r = ctx
                .wait_for_external_event_with_timeout::<i32>("x", Duration::MAX)
                .await;
            Ok(r.is_ok())
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert_eq!(
        out.status,
        OrchestrationStatus::Running,
        "{:?}",
        out.failure_details
    );
}

/// Actions made before an unhandled error are still sent, as DTFx does.
#[test]
fn actions_before_a_failure_are_kept() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            ctx.send_event("other", "hello", &1);
            Err::<(), _>(crate::failure::Failure::msg("boom"))
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert!(
        names(&out).iter().any(|n| n.starts_with("EventSent")),
        "{:?}",
        names(&out)
    );
}

/// A panic while the orchestrator future is built fails the instance instead of escaping.
#[test]
fn a_panic_before_the_first_poll_fails_the_instance() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |_ctx: OrchestrationContext, n: i32| {
            assert!(n > 0, "n must be positive");
            async move { Ok(n) }
        }),
    )]);
    let mut ex = Execution::new(r);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.run_episode(t(0), vec![start_event("O", "0")])
    }));
    let out = res.expect("panic escaped run_episode instead of failing the orchestration");
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert!(out
        .failure_details
        .unwrap()
        .error_message
        .contains("n must be positive"));
}

/// A payload that does not serialize fails the orchestration instead of sending nothing.
#[test]
fn an_unserializable_payload_fails_the_orchestration() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let bad: std::collections::HashMap<(i32, i32), i32> = [((1, 2), 3)].into();
            ctx.send_event("other", "e", &bad);
            ctx.create_timer(ctx.current_utc_datetime()).await;
            Ok(())
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert_eq!(
        out.failure_details.unwrap().error_type,
        "SerializationError"
    );
}
