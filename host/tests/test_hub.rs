//! `durable::testing::TestHub`: orchestrations with long timers run in virtual time, with
//! stubbed activities, sub-orchestrations, entities, continue-as-new and termination, and a
//! non-deterministic orchestrator fails its test.

use std::time::Duration;

use durable::testing::TestHub;
use durable::{
    activity_trigger, orchestration_trigger, EntityId, Failure, OrchestrationContext,
    OrchestrationStatus, Registry, TaskError,
};

const HOURS: u64 = 3600;

#[activity_trigger]
async fn send_reminder(to: String) -> Result<String, Failure> {
    Err(Failure::new(
        "NoMail",
        format!("a test must not mail {to}; stub this activity"),
    ))
}

/// Asks for approval, reminds after 24 hours, escalates after 72.
#[orchestration_trigger]
async fn approval(ctx: OrchestrationContext, manager: String) -> Result<String, Failure> {
    let _: String = ctx.call_activity(send_reminder, manager.clone()).await?;
    ctx.set_custom_status(&"waiting");
    for _ in 0..3 {
        match ctx
            .wait_for_external_event_with_timeout::<bool>(
                "approved",
                Duration::from_secs(24 * HOURS),
            )
            .await
        {
            Ok(true) => return Ok("approved".into()),
            Ok(false) => return Ok("rejected".into()),
            Err(TaskError::TimedOut(_)) => {
                let _: String = ctx.call_activity(send_reminder, manager.clone()).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok("escalated".into())
}

#[activity_trigger]
async fn check_price(day: u32) -> Result<u32, Failure> {
    Ok(100 - day)
}

/// Checks a price once a day for 30 days (continuing as new every 10 days) and returns the
/// day it first fell to `target`.
#[orchestration_trigger]
async fn price_watch(
    ctx: OrchestrationContext,
    (day, target): (u32, u32),
) -> Result<Option<u32>, Failure> {
    for d in day..(day + 10).min(30) {
        if ctx.call_activity(check_price, d).await? <= target {
            return Ok(Some(d));
        }
        ctx.sleep(Duration::from_secs(24 * HOURS)).await;
    }
    if day + 10 < 30 {
        ctx.continue_as_new(&(day + 10, target));
    }
    Ok(None)
}

/// Runs `approval` as a child and counts the answers on an entity.
#[orchestration_trigger]
async fn parent(ctx: OrchestrationContext) -> Result<String, Failure> {
    let answer = ctx
        .call_sub_orchestrator(approval, "ada".to_string())
        .await?;
    let id = EntityId::new("tally", "answers")?;
    ctx.signal_entity(&id, "add", &1);
    Ok(format!("child said {answer}"))
}

#[durable::entity_trigger]
fn tally(ctx: &mut durable::EntityContext) -> Result<(), Failure> {
    let value: i64 = ctx.get_state(|| 0)?;
    let amount: i64 = ctx.get_input()?;
    ctx.set_state(&(value + amount))
}

/// Continues as new twice, then calls a child under its default id (the new execution's id):
/// the replay of each episode must not take that id for a difference.
#[orchestration_trigger]
async fn generations(ctx: OrchestrationContext, n: u32) -> Result<String, Failure> {
    if n < 2 {
        ctx.continue_as_new(&(n + 1));
        return Ok(String::new());
    }
    let answer = ctx
        .call_sub_orchestrator(approval, "dee".to_string())
        .await?;
    Ok(format!("generation {n}: {answer}"))
}

/// A mistake: the system clock in orchestrator code.
#[orchestration_trigger]
async fn clock_reader(ctx: OrchestrationContext) -> Result<u128, Failure> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Ok(ctx.call_activity(echo, nanos).await?)
}

#[activity_trigger]
async fn echo(n: u128) -> Result<u128, Failure> {
    Ok(n)
}

fn hub() -> TestHub {
    TestHub::from_app().with_activity("send_reminder", |to: String| Ok(format!("reminded {to}")))
}

#[tokio::test]
async fn a_72_hour_approval_runs_in_virtual_time_with_a_stubbed_activity() {
    let mut hub = hub();
    let id = hub.start(approval, "ada".to_string()).await;
    let waiting = hub.instance(&id).unwrap();
    assert_eq!(waiting.status, OrchestrationStatus::Running);
    assert_eq!(waiting.custom_status_as::<String>().unwrap(), "waiting");

    hub.advance(Duration::from_secs(30 * HOURS)).await;
    assert_eq!(
        hub.activity_calls("send_reminder").len(),
        2,
        "one reminder after 24 h"
    );
    hub.raise_event(&id, "approved", &true).await;
    let done = hub.instance(&id).unwrap();
    assert_eq!(done.output_as::<String>().unwrap(), "approved");

    // nobody answers: escalated after 72 hours
    let id = hub.start(approval, "bob".to_string()).await;
    let done = hub
        .run_to_completion(&id, Duration::from_secs(100 * HOURS))
        .await
        .unwrap();
    assert_eq!(done.output_as::<String>().unwrap(), "escalated");
    let timers = done
        .history
        .iter()
        .filter(|e| e.event_type().name() == "TimerFired")
        .count();
    assert_eq!(timers, 3);
    assert_eq!(
        hub.now() - durable::testing::default_start(),
        chrono::Duration::seconds(30 * 3600 + 72 * 3600)
    );
}

#[tokio::test]
async fn a_30_day_monitor_continues_as_new_and_a_limit_stops_short() {
    let mut hub = hub();
    let id = hub.start(price_watch, (0, 75)).await;
    let err = hub
        .run_to_completion(&id, Duration::from_secs(5 * 24 * HOURS))
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(OrchestrationStatus::Running));
    let done = hub
        .run_to_completion(&id, Duration::from_secs(60 * 24 * HOURS))
        .await
        .unwrap();
    assert_eq!(done.output_as::<Option<u32>>().unwrap(), Some(25));
    // the history is the last generation's: it starts on day 20
    let started = done
        .history
        .iter()
        .find(|e| e.event_type().name() == "ExecutionStarted");
    assert!(format!("{started:?}").contains("[20,75]"), "{started:?}");
    assert_eq!(hub.activity_calls("check_price").len(), 26);
}

#[tokio::test]
async fn children_entities_and_termination() {
    let mut hub = hub();
    let id = hub.start(parent, ()).await;
    let child = format!(
        "{}:0",
        hub.instance(&id)
            .unwrap()
            .history
            .iter()
            .find_map(|e| match &e.kind {
                durable::engine::history::EventKind::ExecutionStarted(s) =>
                    s.orchestration_instance.execution_id.clone(),
                _ => None,
            })
            .unwrap()
    );
    assert_eq!(
        hub.instance(&child).unwrap().status,
        OrchestrationStatus::Running
    );
    hub.raise_event(&child, "approved", &false).await;
    assert_eq!(
        hub.instance(&id).unwrap().output_as::<String>().unwrap(),
        "child said rejected"
    );
    let tally = EntityId::new("tally", "answers").unwrap();
    assert_eq!(hub.entity_state::<i64>(&tally), Some(1));
    hub.signal_entity(&tally, "add", &41).await;
    assert_eq!(hub.entity_state::<i64>(&tally), Some(42));

    let id = hub.start(approval, "cy".to_string()).await;
    hub.terminate(&id, "no longer needed").await;
    let ended = hub.instance(&id).unwrap();
    assert_eq!(ended.status, OrchestrationStatus::Terminated);
}

#[tokio::test]
async fn a_non_deterministic_orchestrator_fails_its_test() {
    let mut hub = hub();
    let id = hub.start(clock_reader, ()).await;
    let failed = hub.instance(&id).unwrap();
    assert_eq!(failed.status, OrchestrationStatus::Failed);
    let f = failed.failure.as_ref().unwrap();
    assert_eq!(f.error_type, "NonDeterministicOrchestrationError");
    assert!(
        f.error_message.contains("calls activity \"echo\""),
        "{}",
        f.error_message
    );

    // without the check the mistake goes unnoticed
    let mut hub = TestHub::new(
        Registry::new()
            .add_orchestration(clock_reader)
            .add_activity(echo),
    )
    .without_replay_check();
    let id = hub.start(clock_reader, ()).await;
    assert_eq!(
        hub.instance(&id).unwrap().status,
        OrchestrationStatus::Completed
    );
}

#[tokio::test]
async fn an_activity_with_no_function_and_no_stub_fails_the_call() {
    let mut hub =
        TestHub::new(Registry::new().add_orchestration(clock_reader)).without_replay_check();
    let id = hub.start(clock_reader, ()).await;
    let failed = hub.instance(&id).unwrap();
    assert_eq!(failed.status, OrchestrationStatus::Failed);
    assert!(failed
        .output
        .as_deref()
        .unwrap_or_default()
        .contains("echo"));
}

#[tokio::test]
async fn a_child_started_after_continue_as_new_replays() {
    let mut hub = hub();
    let id = hub.start(generations, 0u32).await;
    let waiting = hub.instance(&id).unwrap();
    assert_eq!(
        waiting.status,
        OrchestrationStatus::Running,
        "{:?}",
        waiting.failure
    );
    let child = waiting
        .history
        .iter()
        .find_map(|e| match &e.kind {
            durable::engine::history::EventKind::SubOrchestrationInstanceCreated {
                instance_id,
                ..
            } => Some(instance_id.clone()),
            _ => None,
        })
        .unwrap();
    hub.raise_event(&child, "approved", &true).await;
    let done = hub.instance(&id).unwrap();
    assert_eq!(
        done.output_as::<String>().unwrap(),
        "generation 2: approved"
    );
}
