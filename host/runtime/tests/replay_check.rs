//! The development replay check: with `replay_check` on, an orchestrator that reads the
//! system clock fails on its first run, naming what differs; a deterministic one is not
//! disturbed; with the check off the same mistake goes unnoticed (the live cache never
//! replays it).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use durable_client::DurableClient;
use durable_engine::context::OrchestrationContext;
use durable_engine::history::OrchestrationStatus;
use durable_runtime::{Registry, Runtime, RuntimeOptions};
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

const WAIT: Duration = Duration::from_secs(30);

fn registry() -> Registry {
    Registry::new()
        .activity("echo", |_ctx, n: u128| async move { Ok(n) })
        .orchestration(
            "reads_the_clock",
            |ctx: OrchestrationContext, _: ()| async move {
                let first: u128 = ctx.call_activity_by_name("echo", &1u128).await?;
                // the mistake: the system clock instead of ctx.current_utc_datetime()
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                let second: u128 = ctx.call_activity_by_name("echo", &now).await?;
                Ok(first + second)
            },
        )
        .orchestration(
            "deterministic",
            |ctx: OrchestrationContext, n: u64| async move {
                let mut total = 0u64;
                for i in 0..n {
                    // the time from the context is the same on every replay
                    let at = ctx.current_utc_datetime().timestamp() as u128;
                    let v: u128 = ctx.call_activity_by_name("echo", &(at + i as u128)).await?;
                    let v = v - at;
                    total += v as u64;
                    ctx.sleep(Duration::from_millis(1)).await;
                }
                ctx.set_custom_status(&total);
                Ok(total)
            },
        )
}

async fn start(check: bool) -> (tempfile::TempDir, Runtime, DurableClient) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let options = RuntimeOptions {
        replay_check: check,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(store, registry(), options).await.unwrap();
    let client = rt.client();
    (dir, rt, client)
}

#[tokio::test]
async fn a_clock_read_in_an_orchestrator_fails_its_first_run_with_the_check_on() {
    let (_dir, rt, client) = start(true).await;
    let id = client
        .start_new("reads_the_clock", None, &())
        .await
        .unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Failed);
    let text = done.output.to_string();
    assert!(
        text.contains("NonDeterministicOrchestrationError")
            && text.contains("replay check")
            && text.contains("calls activity \\\"echo\\\" (id 1)"),
        "{text}"
    );
    let id = client.start_new("deterministic", None, &5).await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(
        (done.runtime_status, done.output),
        (OrchestrationStatus::Completed, serde_json::json!(10))
    );
    rt.shutdown().await;
}

#[tokio::test]
async fn without_the_check_the_live_cache_hides_the_mistake() {
    let (_dir, rt, client) = start(false).await;
    let id = client
        .start_new("reads_the_clock", None, &())
        .await
        .unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Completed);
    rt.shutdown().await;
}
