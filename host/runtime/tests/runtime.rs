//! The runtime over the SQLite task hub, in process: every primitive end to end, and the live
//! cache's promise (no replay while cached; identical history without it).

use std::sync::Arc;
use std::time::Duration;

use durable_client::DurableClient;
use durable_engine::context::OrchestrationContext;
use durable_engine::failure::Failure;
use durable_engine::history::OrchestrationStatus;
use durable_engine::history::{EventKind, HistoryEvent};
use durable_engine::retry::RetryOptions;
use durable_runtime::Registry;
use durable_runtime::Runtime;
use durable_runtime::RuntimeOptions;
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

const WAIT: Duration = Duration::from_secs(30);

fn registry() -> Registry {
    Registry::new()
        .activity("add_one", |_ctx, n: i64| async move { Ok(n + 1) })
        .activity("fail_twice", |ctx, n: i64| async move {
            // fails on the first two attempts of each scheduling (attempt ids differ per retry)
            if ctx.task_scheduled_id < 4 {
                Err(Failure::msg(format!(
                    "attempt {} failed",
                    ctx.task_scheduled_id
                )))
            } else {
                Ok(n)
            }
        })
        .orchestration(
            "chain",
            |ctx: OrchestrationContext, steps: i64| async move {
                let mut v = 0i64;
                for _ in 0..steps {
                    v = ctx.call_activity_by_name("add_one", &v).await?;
                }
                Ok(v)
            },
        )
        .orchestration("fanout", |ctx: OrchestrationContext, n: i64| async move {
            let tasks = (0..n).map(|i| ctx.call_activity_by_name::<_, i64>("add_one", &i));
            let results = durable_engine::futures::when_all(tasks).await;
            let mut sum = 0;
            for r in results {
                sum += r?;
            }
            Ok(sum)
        })
        .orchestration("timer", |ctx: OrchestrationContext, ms: u64| async move {
            let before = ctx.current_utc_datetime();
            ctx.sleep(Duration::from_millis(ms)).await;
            Ok((ctx.current_utc_datetime() - before).num_milliseconds())
        })
        .orchestration("approval", |ctx: OrchestrationContext, _: ()| async move {
            match ctx
                .wait_for_external_event_with_timeout::<bool>("Approval", Duration::from_secs(2))
                .await
            {
                Ok(true) => Ok("approved".to_string()),
                Ok(false) => Ok("rejected".to_string()),
                Err(_) => Ok("escalated".to_string()),
            }
        })
        .orchestration("parent", |ctx: OrchestrationContext, _: ()| async move {
            let a: i64 = ctx.call_sub_orchestrator_by_name("chain", None, &3).await?;
            let b: i64 = ctx
                .call_sub_orchestrator_by_name("chain", Some("named-child"), &2)
                .await?;
            Ok(a + b)
        })
        .orchestration("retry", |ctx: OrchestrationContext, _: ()| async move {
            let retry = RetryOptions::new(Duration::from_millis(50), 5);
            let v: i64 = ctx
                .call_activity_by_name_with_retry("fail_twice", &retry, &7)
                .await?;
            Ok(v)
        })
        .orchestration("counter", |ctx: OrchestrationContext, n: i64| async move {
            if n < 5 {
                ctx.continue_as_new(&(n + 1));
            }
            Ok(n)
        })
        .orchestration(
            "pinger",
            |ctx: OrchestrationContext, target: String| async move {
                ctx.send_event(&target, "Approval", &true);
                Ok(())
            },
        )
        .orchestration("fails", |ctx: OrchestrationContext, _: ()| async move {
            let _: i64 = ctx.call_activity_by_name("missing_activity", &()).await?;
            Ok(())
        })
}

async fn start(options: RuntimeOptions) -> (tempfile::TempDir, Runtime, DurableClient) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let rt = Runtime::start(store, registry(), options).await.unwrap();
    let client = rt.client();
    (dir, rt, client)
}

async fn run(
    client: &DurableClient,
    name: &str,
    input: serde_json::Value,
) -> (OrchestrationStatus, String) {
    let id = client.start_new(name, None, &input).await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    (done.runtime_status, done.output.to_string())
}

#[tokio::test]
async fn primitives_run_end_to_end() {
    // An activity no host has fails the call once this host has held it back this long.
    let options = RuntimeOptions {
        missing_function_timeout: Duration::from_millis(1500),
        ..RuntimeOptions::default()
    };
    let (_dir, rt, client) = start(options).await;
    assert_eq!(
        run(&client, "chain", 5.into()).await,
        (OrchestrationStatus::Completed, "5".into())
    );
    assert_eq!(
        run(&client, "fanout", 100.into()).await,
        (OrchestrationStatus::Completed, "5050".into())
    );
    let (status, waited) = run(&client, "timer", 300.into()).await;
    assert_eq!(status, OrchestrationStatus::Completed);
    assert!(
        waited.parse::<i64>().unwrap() >= 300,
        "timer fired early: {waited} ms"
    );
    assert_eq!(
        run(&client, "parent", serde_json::Value::Null).await,
        (OrchestrationStatus::Completed, "5".into())
    );
    assert_eq!(
        client
            .get_status("named-child")
            .await
            .unwrap()
            .unwrap()
            .runtime_status,
        OrchestrationStatus::Completed
    );
    assert_eq!(
        run(&client, "retry", serde_json::Value::Null).await,
        (OrchestrationStatus::Completed, "7".into())
    );
    assert_eq!(
        run(&client, "counter", 0.into()).await,
        (OrchestrationStatus::Completed, "5".into())
    );
    let (status, output) = run(&client, "fails", serde_json::Value::Null).await;
    assert_eq!(status, OrchestrationStatus::Failed);
    assert!(output.contains("missing_activity"), "{output}");
    assert!(output.contains("missingFunctionTimeout"), "{output}");
    rt.shutdown().await;
}

#[tokio::test]
async fn external_events_timeouts_and_send_event() {
    let (_dir, rt, client) = start(RuntimeOptions::default()).await;
    let id = client.start_new("approval", Some("a1"), &()).await.unwrap();
    client.raise_event(&id, "Approval", &false).await.unwrap();
    assert_eq!(
        client
            .wait_for_completion(&id, WAIT)
            .await
            .unwrap()
            .output
            .to_string(),
        "\"rejected\""
    );

    let id = client.start_new("approval", Some("a2"), &()).await.unwrap();
    assert_eq!(
        client
            .wait_for_completion(&id, WAIT)
            .await
            .unwrap()
            .output
            .to_string(),
        "\"escalated\""
    );

    let id = client.start_new("approval", Some("a3"), &()).await.unwrap();
    run(&client, "pinger", "a3".into()).await;
    assert_eq!(
        client
            .wait_for_completion(&id, WAIT)
            .await
            .unwrap()
            .output
            .to_string(),
        "\"approved\""
    );
    rt.shutdown().await;
}

#[tokio::test]
async fn terminate_suspend_and_resume() {
    let (_dir, rt, client) = start(RuntimeOptions::default()).await;
    let id = client.start_new("approval", Some("t1"), &()).await.unwrap();
    client.terminate(&id, "no longer needed").await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Terminated);
    assert_eq!(done.output.to_string(), "\"no longer needed\"");
    assert!(client.raise_event(&id, "Approval", &true).await.is_err());

    let id = client.start_new("approval", Some("s1"), &()).await.unwrap();
    client.suspend(&id, "hold on").await.unwrap();
    client.raise_event(&id, "Approval", &true).await.unwrap();
    wait_for_status(&client, &id, OrchestrationStatus::Suspended).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        client
            .get_status(&id)
            .await
            .unwrap()
            .unwrap()
            .runtime_status,
        OrchestrationStatus::Suspended
    );
    client.resume(&id, "go").await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.output.to_string(), "\"approved\"");
    rt.shutdown().await;
}

async fn wait_for_status(client: &DurableClient, id: &str, status: OrchestrationStatus) {
    for _ in 0..300 {
        if client
            .get_status(id)
            .await
            .unwrap()
            .map(|s| s.runtime_status)
            == Some(status)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{id} never reached {}", status.name());
}

#[tokio::test]
async fn starting_a_running_instance_again_is_refused_and_bad_ids_are_rejected() {
    let (_dir, rt, client) = start(RuntimeOptions::default()).await;
    client
        .start_new("approval", Some("dup"), &())
        .await
        .unwrap();
    let err = client
        .start_new("approval", Some("dup"), &())
        .await
        .unwrap_err();
    assert!(
        matches!(err, durable_client::ClientError::AlreadyExists { .. }),
        "{err}"
    );
    let err = client
        .start_new("chain", Some("a/b"), &1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, durable_client::ClientError::InvalidInstanceId { .. }),
        "{err}"
    );
    rt.shutdown().await;
}

/// Event types and ids of a history, without timestamps.
fn shape(history: &[HistoryEvent]) -> Vec<(String, i32)> {
    history
        .iter()
        .map(|e| (e.event_type().name().to_string(), e.event_id))
        .collect()
}

#[tokio::test]
async fn a_long_chain_is_never_replayed_while_cached_and_matches_an_uncached_run() {
    let steps = 1000;
    let (_dir, rt, client) = start(RuntimeOptions::default()).await;
    let id = client
        .start_new("chain", Some("long"), &steps)
        .await
        .unwrap();
    let done = client
        .wait_for_completion(&id, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(done.output.to_string(), "1000");
    assert_eq!(durable_runtime::RuntimeStats::get(&rt.stats().replays), 0);
    assert!(durable_runtime::RuntimeStats::get(&rt.stats().cache_hits) >= steps as u64);
    let cached_history = client.get_history(&id).await.unwrap();
    rt.shutdown().await;

    let (_dir2, rt2, client2) = start(RuntimeOptions {
        cache_capacity: 0,
        ..RuntimeOptions::default()
    })
    .await;
    let id2 = client2
        .start_new("chain", Some("long"), &steps)
        .await
        .unwrap();
    let done2 = client2
        .wait_for_completion(&id2, Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(done2.output, done.output);
    assert!(durable_runtime::RuntimeStats::get(&rt2.stats().replays) >= steps as u64);
    let uncached_history = client2.get_history(&id2).await.unwrap();
    assert_eq!(shape(&cached_history), shape(&uncached_history));
    let completions = cached_history
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskCompleted { .. }))
        .count();
    assert_eq!(completions, steps as usize);
    rt2.shutdown().await;
}

/// A wait longer than the clock can represent waits instead of panicking.
#[tokio::test]
async fn a_wait_of_any_length_does_not_overflow() {
    let (_dir, rt, client) = start(RuntimeOptions::default()).await;
    let id = client.start_new("chain", None, &1i64).await.unwrap();
    let done = client
        .wait_for_completion(&id, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(done.output, serde_json::json!(1));
    rt.shutdown().await;
}
