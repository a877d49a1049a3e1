//! Activity timeouts and cancellation, in process on SQLite: a call with a timeout sees
//! `TaskError::TimedOut` and its run is cancelled on the host; a retry policy retries timeouts;
//! the host's per-activity timeout applies to calls that name none; terminating an instance
//! cancels its running activities.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_client::DurableClient;
use durable_engine::activity_options::ActivityOptions;
use durable_engine::context::OrchestrationContext;
use durable_engine::failure::TaskError;
use durable_engine::history::OrchestrationStatus;
use durable_engine::retry::RetryOptions;
use durable_runtime::{Registry, Runtime, RuntimeOptions};
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

const WAIT: Duration = Duration::from_secs(30);

/// Counts the runs of `slow` that started and those dropped before they finished.
#[derive(Default)]
struct Runs {
    started: AtomicUsize,
    cancelled: AtomicUsize,
}

struct Guard(Arc<Runs>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.cancelled.fetch_add(1, Ordering::SeqCst);
    }
}

fn registry(runs: Arc<Runs>) -> Registry {
    let ms = |n| Duration::from_millis(n);
    Registry::new()
        .activity("slow", move |_ctx, _: ()| {
            let runs = runs.clone();
            async move {
                runs.started.fetch_add(1, Ordering::SeqCst);
                let guard = Guard(runs);
                tokio::time::sleep(Duration::from_secs(60)).await;
                std::mem::forget(guard);
                Ok(())
            }
        })
        .orchestration(
            "timed",
            move |ctx: OrchestrationContext, retries: u32| async move {
                let mut options = ActivityOptions::new().with_timeout(ms(300));
                if retries > 1 {
                    options = options.with_retry(RetryOptions::new(ms(50), retries));
                }
                match ctx
                    .call_activity_by_name_with::<_, ()>("slow", &options, &())
                    .await
                {
                    Err(TaskError::TimedOut(what)) => Ok(format!("timed out: {what}")),
                    other => Ok(format!("{other:?}")),
                }
            },
        )
        .orchestration("plain", |ctx: OrchestrationContext, _: ()| async move {
            match ctx.call_activity_by_name::<_, ()>("slow", &()).await {
                Err(TaskError::TimedOut(what)) => Ok(format!("timed out: {what}")),
                other => Ok(format!("{other:?}")),
            }
        })
}

async fn start(options: RuntimeOptions) -> (tempfile::TempDir, Runtime, DurableClient, Arc<Runs>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let runs = Arc::new(Runs::default());
    let rt = Runtime::start(store, registry(runs.clone()), options)
        .await
        .unwrap();
    let client = rt.client();
    (dir, rt, client, runs)
}

async fn output(client: &DurableClient, id: &str) -> String {
    let done = client.wait_for_completion(id, WAIT).await.unwrap();
    assert_eq!(
        done.runtime_status,
        OrchestrationStatus::Completed,
        "{done:?}"
    );
    done.output.as_str().unwrap().to_string()
}

async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test]
async fn a_call_with_a_timeout_times_out_and_its_run_is_cancelled() {
    let (_dir, rt, client, runs) = start(RuntimeOptions::default()).await;
    let id = client.start_new("timed", None, &1).await.unwrap();
    assert!(output(&client, &id)
        .await
        .starts_with("timed out: activity \"slow\""));
    until("the run's cancellation", || {
        runs.cancelled.load(Ordering::SeqCst) == 1
    })
    .await;

    // three attempts, each cancelled
    let id = client.start_new("timed", None, &3).await.unwrap();
    assert!(output(&client, &id).await.starts_with("timed out"));
    until("three cancelled runs", || {
        runs.cancelled.load(Ordering::SeqCst) == 4
    })
    .await;
    assert_eq!(runs.started.load(Ordering::SeqCst), 4);
    rt.shutdown().await;
}

#[tokio::test]
async fn the_hosts_timeout_applies_to_calls_that_name_none() {
    let options = RuntimeOptions {
        activity_timeouts: HashMap::from([("slow".to_string(), Duration::from_millis(300))]),
        ..RuntimeOptions::default()
    };
    let (_dir, rt, client, runs) = start(options).await;
    let id = client.start_new("plain", None, &()).await.unwrap();
    let out = output(&client, &id).await;
    assert!(out.contains("timed out") && out.contains("300 ms"), "{out}");
    assert_eq!(runs.cancelled.load(Ordering::SeqCst), 1);
    rt.shutdown().await;
}

#[tokio::test]
async fn terminating_an_instance_cancels_its_running_activities() {
    let (_dir, rt, client, runs) = start(RuntimeOptions::default()).await;
    let id = client.start_new("plain", None, &()).await.unwrap();
    until("the run's start", || {
        runs.started.load(Ordering::SeqCst) == 1
    })
    .await;
    client.terminate(&id, "no longer needed").await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Terminated);
    until("the run's cancellation", || {
        runs.cancelled.load(Ordering::SeqCst) == 1
    })
    .await;
    rt.shutdown().await;
}
