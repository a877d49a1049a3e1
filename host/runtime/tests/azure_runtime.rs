//! The runtime on the Azure Storage task hub, on the Azurite this test binary starts (installed
//! and started by the harness; it fails, never skips, when it cannot).

use durable_store::OrchestrationService;
use std::sync::Arc;

use durable_azure::AzureTaskHub;
use durable_store::TaskHub;
use durable_testing::azurite;

/// A new, created hub with a fresh name on the shared Azurite.
async fn new_hub() -> Arc<dyn TaskHub> {
    let azurite = azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let name = format!("rt{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let hub = AzureTaskHub::new(azurite.account(), &name).expect("hub");
    hub.create_if_not_exists().await.expect("create the hub");
    Arc::new(hub)
}

/// With one host, a chain's answers run on the cached execution: the Azure hub has no
/// direct-episode capability, so every answer goes through the control queue, and the
/// dispatcher finds the execution it cached at the previous commit (no replay from the table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_on_one_host_is_never_replayed() {
    use durable_engine::context::OrchestrationContext;
    use durable_runtime::{Registry, Runtime, RuntimeOptions, RuntimeStats};

    let steps = 12i64;
    let registry = Registry::new()
        .activity("add_one", |_ctx, n: i64| async move { Ok(n + 1) })
        .orchestration(
            "chain",
            |ctx: OrchestrationContext, steps: i64| async move {
                let mut v = 0i64;
                for _ in 0..steps {
                    v = ctx.call_activity_by_name("add_one", &v).await?;
                }
                Ok(v)
            },
        );
    let hub = new_hub().await;
    assert!(hub.direct_episodes().is_none());
    let rt = Runtime::start(hub, registry, RuntimeOptions::default())
        .await
        .expect("runtime");
    let client = rt.client();
    let id = client
        .start_new("chain", None, &steps)
        .await
        .expect("start");
    let done = client
        .wait_for_completion(&id, std::time::Duration::from_secs(60))
        .await
        .expect("completes");
    assert_eq!(done.output.to_string(), "12");
    assert_eq!(RuntimeStats::get(&rt.stats().replays), 0);
    assert!(RuntimeStats::get(&rt.stats().cache_hits) >= steps as u64);
    rt.shutdown().await;
}

/// A host without an orchestrator or an activity leaves that work in the task hub (its
/// partition's control queue, the shared work-item queue); a host with the code, started
/// after it stops, finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_a_host_has_no_code_for_waits_for_a_host_that_has_it() {
    use durable_engine::context::OrchestrationContext;
    use durable_engine::history::OrchestrationStatus;
    use durable_runtime::{Registry, Runtime, RuntimeOptions};

    let azurite = azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let name = format!("rt{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let hub = || -> Arc<dyn TaskHub> {
        Arc::new(AzureTaskHub::new(azurite.account(), &name).expect("hub"))
    };
    let old = || {
        Registry::new().orchestration("calls_new", |ctx: OrchestrationContext, _: ()| async move {
            let n: i64 = ctx.call_activity_by_name("new_activity", &20).await?;
            Ok(n)
        })
    };
    let new = || {
        old()
            .activity("new_activity", |_ctx, n: i64| async move { Ok(n + 1) })
            .orchestration(
                "new_orchestration",
                |_: OrchestrationContext, n: i64| async move { Ok(n * 2) },
            )
    };
    let rt = Runtime::start(hub(), old(), RuntimeOptions::default())
        .await
        .expect("runtime");
    let client = rt.client();
    let orchestration = client
        .start_new("new_orchestration", None, &21)
        .await
        .unwrap();
    let activity = client.start_new("calls_new", None, &()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let status = |id: String| {
        let client = client.clone();
        async move {
            client
                .get_status(&id)
                .await
                .unwrap()
                .unwrap()
                .runtime_status
        }
    };
    assert_eq!(
        status(orchestration.clone()).await,
        OrchestrationStatus::Pending
    );
    assert_eq!(status(activity.clone()).await, OrchestrationStatus::Running);
    rt.shutdown().await;

    let rt = Runtime::start(hub(), new(), RuntimeOptions::default())
        .await
        .expect("runtime");
    let client = rt.client();
    let wait = std::time::Duration::from_secs(90);
    let done = client
        .wait_for_completion(&orchestration, wait)
        .await
        .unwrap();
    assert_eq!(done.output, serde_json::json!(42));
    let done = client.wait_for_completion(&activity, wait).await.unwrap();
    assert_eq!(done.output, serde_json::json!(21));
    rt.shutdown().await;
}
