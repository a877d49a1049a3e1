//! One test per durable primitive, each against a canned or live-built history.

use std::time::Duration;

use chrono::Duration as ChronoDuration;

use super::builder::*;
use crate::engine::context::OrchestrationContext;
use crate::engine::failure::{Failure, TaskError};
use crate::engine::function::{orchestrator_fn, Activity, ActivityContext, Orchestration};
use crate::engine::futures::{when_all, when_any};
use crate::engine::history::{EventKind, OrchestrationStatus};
use crate::engine::replay::{Execution, Outbound};
use crate::engine::retry::RetryOptions;

struct SayHello;

impl Activity for SayHello {
    const NAME: &'static str = "SayHello";
    type Input = String;
    type Output = String;
    async fn run(_ctx: ActivityContext, input: String) -> Result<String, Failure> {
        Ok(format!("Hello {input}!"))
    }
}

struct Child;

impl Orchestration for Child {
    const NAME: &'static str = "Child";
    type Input = i32;
    type Output = i32;
    async fn run(_ctx: OrchestrationContext, input: i32) -> Result<i32, Failure> {
        Ok(input * 2)
    }
}

fn hello_cities() -> Resolver {
    resolver(vec![(
        "HelloCities",
        orchestrator_fn(
            "HelloCities",
            |ctx: OrchestrationContext, _: ()| async move {
                let mut out = Vec::new();
                for city in ["Tokyo", "Seattle", "London"] {
                    out.push(ctx.call_activity(SayHello, city).await?);
                }
                Ok(out)
            },
        ),
    )])
}

use crate::engine::replay::Resolver;

#[test]
fn activity_chain_runs_live_and_replays_to_the_same_result() {
    let r = hello_cities();
    let (history, out) = run_live(&r, "HelloCities", "null", |_, i| {
        let city: String = serde_json::from_str(i.unwrap()).unwrap();
        Ok(serde_json::to_string(&format!("Hello {city}!")).unwrap())
    });
    assert_eq!(out.status, OrchestrationStatus::Completed);
    assert_eq!(
        out.output.as_deref(),
        Some(r#"["Hello Tokyo!","Hello Seattle!","Hello London!"]"#)
    );
    // Replaying the full history minus the last episode, then feeding its event, decides the same.
    let last_start = history
        .iter()
        .rposition(|e| matches!(e.kind, EventKind::OrchestratorStarted))
        .unwrap();
    let (_, again) = replay_then(
        &r,
        &history[..last_start],
        3,
        vec![task_completed(2, "\"Hello London!\"")],
    );
    assert_eq!(again.output, out.output);
    assert_eq!(names(&again), names(&out));
}

#[test]
fn canned_history_schedules_the_next_activity_with_its_input() {
    let r = hello_cities();
    let h = History::started("HelloCities", "null")
        .task_scheduled(0, "SayHello")
        .next_episode()
        .task_completed(0, "\"Hello Tokyo!\"")
        .build();
    let (_, out) = replay_then(&r, &h, 2, vec![]);
    assert_eq!(
        names(&out),
        [
            "OrchestratorStarted",
            "TaskScheduled#1:SayHello",
            "OrchestratorCompleted"
        ]
    );
    assert_eq!(
        scheduled(&out),
        vec![(1, "SayHello".to_string(), Some("\"Seattle\"".to_string()))]
    );
    assert_eq!(out.status, OrchestrationStatus::Running);
}

#[test]
fn activity_failure_reaches_the_orchestrator_with_failure_details() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            match ctx.call_activity_by_name::<_, String>("Flaky", &()).await {
                Err(TaskError::Failed { name, details }) => Ok(format!(
                    "{name}|{}|{}",
                    details.error_type, details.error_message
                )),
                other => Ok(format!("unexpected {other:?}")),
            }
        }),
    )]);
    let h = History::started("O", "null")
        .task_scheduled(0, "Flaky")
        .build();
    let (_, out) = replay_then(&r, &h, 1, vec![task_failed(0, "boom")]);
    assert_eq!(out.output.as_deref(), Some("\"Flaky|ActivityError|boom\""));
}

#[test]
fn unhandled_error_fails_the_instance_with_failure_details() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            ctx.call_activity_by_name::<_, String>("Flaky", &()).await?;
            Ok(())
        }),
    )]);
    let h = History::started("O", "null")
        .task_scheduled(0, "Flaky")
        .build();
    let (_, out) = replay_then(&r, &h, 1, vec![task_failed(0, "boom")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    let f = out.failure_details.clone().unwrap();
    assert_eq!(f.error_type, "TaskFailedError");
    assert_eq!(f.inner_failure.unwrap().error_message, "boom");
    assert!(names(&out).contains(&"ExecutionCompleted#1:Failed".to_string()));
}

#[test]
fn retry_waits_on_a_durable_timer_then_schedules_a_new_attempt() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let retry = RetryOptions::new(Duration::from_secs(5), 3).with_backoff(2.0);
            let v: String = ctx
                .call_activity_by_name_with_retry("Flaky", &retry, &"x")
                .await?;
            Ok(v)
        }),
    )]);
    let h = History::started("O", "null")
        .task_scheduled(0, "Flaky")
        .build();
    // attempt 1 fails at t(1): a timer for t(1) + 5 s
    let (_, out) = replay_then(&r, &h, 1, vec![task_failed(0, "boom")]);
    assert_eq!(
        names(&out),
        [
            "OrchestratorStarted",
            "TaskFailed",
            "TimerCreated#1",
            "OrchestratorCompleted"
        ]
    );
    let fire_at = t(1) + ChronoDuration::seconds(5);
    assert!(
        matches!(out.new_events[2].kind, EventKind::TimerCreated { fire_at: f } if f == fire_at)
    );
    // the timer fires: attempt 2; it fails too: the next wait is 10 s; attempt 3 succeeds
    let mut h2 = History::started("O", "null");
    h2.task_scheduled(0, "Flaky")
        .next_episode()
        .task_failed(0, "boom")
        .timer_created(1, fire_at)
        .next_episode()
        .timer_fired(1, fire_at)
        .task_scheduled(2, "Flaky")
        .next_episode()
        .task_failed(2, "boom again");
    let (_, out) = replay_then(&r, &h2.build(), 3, vec![]);
    let second_wait = t(3) + ChronoDuration::seconds(10);
    assert!(
        matches!(out.new_events[1].kind, EventKind::TimerCreated { fire_at: f } if f == second_wait)
    );
    h2.timer_created(3, second_wait)
        .next_episode()
        .timer_fired(3, second_wait)
        .task_scheduled(4, "Flaky");
    let (_, out) = replay_then(&r, &h2.build(), 5, vec![task_completed(4, "\"ok\"")]);
    assert_eq!(out.status, OrchestrationStatus::Completed);
    assert_eq!(out.output.as_deref(), Some("\"ok\""));
}

#[test]
fn retry_gives_up_after_max_attempts() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let retry = RetryOptions::new(Duration::from_secs(1), 2);
            let v: String = ctx
                .call_activity_by_name_with_retry("Flaky", &retry, &"x")
                .await?;
            Ok(v)
        }),
    )]);
    let h = History::started("O", "null")
        .task_scheduled(0, "Flaky")
        .next_episode()
        .task_failed(0, "one")
        .timer_created(1, t(2))
        .next_episode()
        .timer_fired(1, t(2))
        .task_scheduled(2, "Flaky")
        .build();
    let (_, out) = replay_then(&r, &h, 3, vec![task_failed(2, "two")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
}

#[test]
fn timer_fires_and_the_clock_follows_orchestrator_started() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let before = ctx.current_utc_datetime();
            ctx.create_timer(before + ChronoDuration::seconds(30)).await;
            Ok((before.to_rfc3339(), ctx.current_utc_datetime().to_rfc3339()))
        }),
    )]);
    let mut ex = Execution::new(r.clone());
    let out = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert_eq!(
        names(&out),
        [
            "OrchestratorStarted",
            "ExecutionStarted",
            "TimerCreated#0",
            "OrchestratorCompleted"
        ]
    );
    match &out.messages[0] {
        Outbound::Orchestration {
            visible_at,
            message,
        } => {
            assert_eq!(*visible_at, Some(t(30)));
            assert!(matches!(
                message.event.kind,
                EventKind::TimerFired { timer_id: 0, .. }
            ));
        }
        other => panic!("expected a delayed TimerFired, got {other:?}"),
    }
    let out = ex.run_episode(
        t(31),
        vec![msg(EventKind::TimerFired {
            timer_id: 0,
            fire_at: t(30),
        })],
    );
    let (a, b): (String, String) = serde_json::from_str(out.output.as_deref().unwrap()).unwrap();
    assert_eq!(a, t(0).to_rfc3339());
    assert_eq!(b, t(31).to_rfc3339());
}

#[test]
fn a_timer_that_loses_a_select_is_cancelled() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            ctx.wait_for_external_event_with_timeout::<String>("Go", Duration::from_secs(3600))
                .await
                .map_err(Failure::from)
        }),
    )]);
    let h = History::started("O", "null")
        .timer_created(0, t(3600))
        .build();
    let (ex, out) = replay_then(&r, &h, 1, vec![event_raised("Go", "\"now\"")]);
    assert_eq!(out.status, OrchestrationStatus::Completed);
    assert_eq!(out.output.as_deref(), Some("\"now\""));
    drop(ex);
    // and the timeout path
    let (_, out) = replay_then(
        &r,
        &h,
        3601,
        vec![EventKind::TimerFired {
            timer_id: 0,
            fire_at: t(3600),
        }],
    );
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert_eq!(out.failure_details.unwrap().error_type, "TimeoutError");
}

#[test]
fn external_events_are_buffered_fifo_per_name() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            ctx.create_timer(ctx.current_utc_datetime() + ChronoDuration::seconds(1))
                .await;
            let a: i32 = ctx.wait_for_external_event("N").await?;
            let b: i32 = ctx.wait_for_external_event("n").await?; // names are case-insensitive
            Ok(vec![a, b])
        }),
    )]);
    // both events arrive before anybody waits
    let h = History::started("O", "null")
        .timer_created(0, t(1))
        .next_episode()
        .event_raised("N", "1")
        .event_raised("N", "2")
        .build();
    let (_, out) = replay_then(
        &r,
        &h,
        2,
        vec![EventKind::TimerFired {
            timer_id: 0,
            fire_at: t(1),
        }],
    );
    assert_eq!(out.output.as_deref(), Some("[1,2]"));
}

#[test]
fn several_waiters_on_one_name_are_served_newest_first() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let first = ctx.wait_for_external_event::<i32>("E");
            let second = ctx.wait_for_external_event::<i32>("E");
            let (a, b) = futures::join!(first, second);
            Ok(vec![a?, b?])
        }),
    )]);
    let h = History::started("O", "null").build();
    let (_, out) = replay_then(
        &r,
        &h,
        1,
        vec![event_raised("E", "1"), event_raised("E", "2")],
    );
    assert_eq!(out.output.as_deref(), Some("[2,1]"));
}

#[test]
fn when_all_fans_out_and_when_any_takes_the_first() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, n: i32| async move {
            let tasks: Vec<_> = (0..n)
                .map(|i| ctx.call_activity_by_name::<_, i32>("Double", &i))
                .collect();
            let results = when_all(tasks).await;
            let sum: i32 = results.into_iter().map(|r| r.unwrap()).sum();
            let race = vec![
                ctx.call_activity_by_name::<_, i32>("Slow", &()),
                ctx.call_activity_by_name::<_, i32>("Fast", &()),
            ];
            let (index, value) = when_any(race).await;
            Ok((sum, index, value?))
        }),
    )]);
    let mut ex = Execution::new(r.clone());
    let out = ex.run_episode(t(0), vec![start_event("O", "40")]);
    assert_eq!(scheduled(&out).len(), 40);
    let replies = scheduled(&out)
        .into_iter()
        .rev() // completion order does not matter
        .map(|(id, _, i)| {
            let v: i32 = serde_json::from_str(&i.unwrap()).unwrap();
            msg(task_completed(id, &(2 * v).to_string()))
        })
        .collect();
    let out = ex.run_episode(t(1), replies);
    assert_eq!(
        scheduled(&out)
            .iter()
            .map(|s| s.1.as_str())
            .collect::<Vec<_>>(),
        ["Slow", "Fast"]
    );
    let out = ex.run_episode(t(2), vec![msg(task_completed(41, "7"))]);
    assert_eq!(out.output.as_deref(), Some("[1560,1,7]"));
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
    let r = resolver(vec![(
        "Child",
        crate::engine::function::erase_orchestration(Child),
    )]);
    let mut ex = Execution::new(r);
    let mut start = start_event("Child", "5");
    if let EventKind::ExecutionStarted(s) = &mut start.event.kind {
        s.parent_instance = Some(crate::engine::history::ParentInstance {
            name: Some("Parent".into()),
            orchestration_instance: crate::engine::history::OrchestrationInstance {
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
fn custom_status_guid_and_replay_flag_are_deterministic() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let g = ctx.new_guid();
            ctx.set_custom_status(&serde_json::json!({"stage": 1}));
            let replaying = ctx.is_replaying();
            ctx.create_timer(ctx.current_utc_datetime()).await;
            Ok((g.to_string(), replaying, ctx.is_replaying()))
        }),
    )]);
    let mut ex = Execution::new(r.clone());
    let first = ex.run_episode(t(0), vec![start_event("O", "null")]);
    assert_eq!(first.custom_status.as_deref(), Some(r#"{"stage":1}"#));
    let fired = EventKind::TimerFired {
        timer_id: 0,
        fire_at: t(0),
    };
    let live = ex.run_episode(t(1), vec![msg(fired.clone())]);
    let (_, replayed) = replay_then(&r, &first.new_events, 1, vec![fired]);
    let (g1, was_replaying1, _): (String, bool, bool) =
        serde_json::from_str(live.output.as_deref().unwrap()).unwrap();
    let (g2, was_replaying2, now_replaying2): (String, bool, bool) =
        serde_json::from_str(replayed.output.as_deref().unwrap()).unwrap();
    assert_eq!(g1, g2);
    assert!(!was_replaying1);
    assert!(was_replaying2);
    assert!(!now_replaying2);
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
fn duplicate_completions_are_ignored_and_not_recorded() {
    let r = hello_cities();
    let h = History::started("HelloCities", "null")
        .task_scheduled(0, "SayHello")
        .next_episode()
        .task_completed(0, "\"Hello Tokyo!\"")
        .task_scheduled(1, "SayHello")
        .build();
    let (_, out) = replay_then(&r, &h, 2, vec![task_completed(0, "\"again\"")]);
    assert_eq!(
        names(&out),
        ["OrchestratorStarted", "OrchestratorCompleted"]
    );
    assert!(out.messages.is_empty());
}

#[test]
fn get_input_and_instance_id_are_available() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn(
            "O",
            |ctx: OrchestrationContext, _: serde_json::Value| async move {
                let v: serde_json::Value = ctx.get_input()?;
                Ok(format!("{}:{}", ctx.instance_id(), v["a"]))
            },
        ),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("O", r#"{"a":5}"#)]);
    assert_eq!(out.output.as_deref(), Some("\"inst-1:5\""));
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
        failure_details: Some(crate::engine::history::FailureDetails::new("E", "x")),
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

#[test]
fn retry_stops_when_the_total_timeout_would_pass() {
    let r = resolver(vec![(
        "O",
        orchestrator_fn("O", |ctx: OrchestrationContext, _: ()| async move {
            let retry =
                RetryOptions::new(Duration::from_secs(10), 5).with_timeout(Duration::from_secs(5));
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
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert!(!names(&out).iter().any(|n| n.starts_with("TimerCreated")));
}
