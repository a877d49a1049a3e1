//! One test per durable primitive, each against a canned or live-built history.

use std::time::Duration;

use chrono::Duration as ChronoDuration;

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::failure::{Failure, TaskError};
use crate::function::{orchestrator_fn, Activity, ActivityContext};
use crate::futures::{when_all, when_any};
use crate::history::{EventKind, OrchestrationStatus};
use crate::replay::{Execution, Outbound};
use crate::retry::RetryOptions;

struct SayHello;

impl Activity for SayHello {
    const NAME: &'static str = "SayHello";
    type Input = String;
    type Output = String;
    async fn run(_ctx: ActivityContext, input: String) -> Result<String, Failure> {
        Ok(format!("Hello {input}!"))
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

use crate::replay::Resolver;

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
