//! Orchestration versions and rolling deploys on the SQLite task hub, in process: instances get
//! the default version and run the implementation registered for theirs; children inherit it;
//! work for a function or version a host does not have waits for a host that has it, and fails
//! only after the missing-function timeout (or at once under `versionFailureStrategy` `Fail`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use durable_client::DurableClient;
use durable_engine::context::{OrchestrationContext, SubOrchestrationOptions};
use durable_engine::history::OrchestrationStatus;
use durable_engine::version::{VersionFailureStrategy, VersionMatchStrategy, Versioning};
use durable_runtime::{Registry, Runtime, RuntimeOptions};
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

const WAIT: Duration = Duration::from_secs(30);

fn versioning(default: &str, strategy: VersionMatchStrategy) -> Versioning {
    Versioning {
        default_version: Some(default.into()),
        match_strategy: strategy,
        failure_strategy: VersionFailureStrategy::Reject,
    }
}

async fn start(
    path: &Path,
    registry: Registry,
    options: RuntimeOptions,
) -> (Runtime, DurableClient) {
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(path).unwrap());
    let rt = Runtime::start(store, registry, options).await.unwrap();
    let client = rt.client();
    (rt, client)
}

/// `order` in three implementations, and a child that reports the version it runs under.
fn orders() -> Registry {
    Registry::new()
        .orchestration("order", |ctx: OrchestrationContext, _: ()| async move {
            Ok(format!("unversioned:{}", ctx.version().unwrap_or_default()))
        })
        .add_orchestrator_version(
            "order",
            Some("1"),
            durable_engine::function::orchestrator_fn(
                "order",
                |_: OrchestrationContext, _: ()| async move { Ok("v1".to_string()) },
            ),
        )
        .add_orchestrator_version(
            "order",
            Some("2.0"),
            durable_engine::function::orchestrator_fn(
                "order",
                |ctx: OrchestrationContext, _: ()| async move {
                    let inherited: String = ctx
                        .call_sub_orchestrator_by_name("child", None, &())
                        .await?;
                    let options = SubOrchestrationOptions {
                        instance_id: None,
                        version: Some("1.5".into()),
                    };
                    let chosen: String = ctx
                        .call_sub_orchestrator_with("child", options, &())
                        .await?;
                    Ok(format!("v2 {inherited} {chosen}"))
                },
            ),
        )
        .orchestration("child", |ctx: OrchestrationContext, _: ()| async move {
            Ok(ctx.version().unwrap_or_default())
        })
}

async fn output(client: &DurableClient, id: &str) -> (OrchestrationStatus, String) {
    let done = client.wait_for_completion(id, WAIT).await.unwrap();
    (
        done.runtime_status,
        done.output.as_str().unwrap_or_default().to_string(),
    )
}

async fn status(client: &DurableClient, id: &str) -> OrchestrationStatus {
    client.get_status(id).await.unwrap().unwrap().runtime_status
}

#[tokio::test]
async fn instances_run_the_implementation_of_their_version_and_children_inherit_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = RuntimeOptions {
        versioning: versioning("2.0", VersionMatchStrategy::CurrentOrOlder),
        ..RuntimeOptions::default()
    };
    let (rt, client) = start(&dir.path().join("hub.db"), orders(), options).await;

    let id = client.start_new("order", None, &()).await.unwrap();
    assert_eq!(
        output(&client, &id).await,
        (OrchestrationStatus::Completed, "v2 2.0 1.5".into()),
        "the default version, inherited by a child unless it is given one"
    );
    let shown = client.get_status(&id).await.unwrap().unwrap();
    assert_eq!(shown.version.as_deref(), Some("2.0"));

    let v1 = client
        .start_new_raw("order", None, None, Some("1".into()))
        .await
        .unwrap();
    assert_eq!(output(&client, &v1).await.1, "v1");
    // no implementation for 1.2: the unversioned one runs it
    let other = client
        .start_new_raw("order", None, None, Some("1.2".into()))
        .await
        .unwrap();
    assert_eq!(output(&client, &other).await.1, "unversioned:1.2");

    // newer than this host's version: left for a newer host, not failed
    let newer = client
        .start_new_raw("order", None, None, Some("3".into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(status(&client, &newer).await, OrchestrationStatus::Pending);
    rt.shutdown().await;
}

#[tokio::test]
async fn work_for_a_missing_function_waits_for_a_host_that_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
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

    // The old binary: an instance of an orchestration it lacks, and an activity it lacks.
    let (rt, client) = start(&path, old(), RuntimeOptions::default()).await;
    let missing_orchestration = client
        .start_new("new_orchestration", None, &21)
        .await
        .unwrap();
    let missing_activity = client.start_new("calls_new", None, &()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        status(&client, &missing_orchestration).await,
        OrchestrationStatus::Pending
    );
    assert_eq!(
        status(&client, &missing_activity).await,
        OrchestrationStatus::Running
    );
    rt.shutdown().await;

    // The new binary takes both over.
    let (rt, client) = start(&path, new(), RuntimeOptions::default()).await;
    let done = client
        .wait_for_completion(&missing_orchestration, WAIT)
        .await
        .unwrap();
    assert_eq!(done.output, serde_json::json!(42));
    let done = client
        .wait_for_completion(&missing_activity, WAIT)
        .await
        .unwrap();
    assert_eq!(done.output, serde_json::json!(21));
    rt.shutdown().await;

    // A host that held the work back for the timeout fails it, saying what was missing.
    let options = RuntimeOptions {
        missing_function_timeout: Duration::from_secs(1),
        ..RuntimeOptions::default()
    };
    let (rt, client) = start(&path, old(), options).await;
    let id = client.start_new("nowhere", None, &()).await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Failed);
    let text = done.output.to_string();
    assert!(
        text.contains("OrchestratorNotFound")
            && text.contains("\\\"nowhere\\\"")
            && text.contains("missingFunctionTimeout"),
        "{text}"
    );
    rt.shutdown().await;
}

#[tokio::test]
async fn the_fail_strategy_fails_an_instance_of_a_version_the_host_does_not_take() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let waits = || {
        Registry::new().orchestration("waits", |ctx: OrchestrationContext, _: ()| async move {
            let go: String = ctx.wait_for_external_event("go").await?;
            Ok(go)
        })
    };
    let strict = |version: &str| RuntimeOptions {
        versioning: Versioning {
            failure_strategy: VersionFailureStrategy::Fail,
            ..versioning(version, VersionMatchStrategy::Strict)
        },
        ..RuntimeOptions::default()
    };
    let (rt, client) = start(&path, waits(), strict("1")).await;
    let old = client.start_new("waits", None, &()).await.unwrap();
    for _ in 0..300 {
        if status(&client, &old).await == OrchestrationStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    rt.shutdown().await;

    let (rt, client) = start(&path, waits(), strict("2")).await;
    client.raise_event(&old, "go", &"now").await.unwrap();
    let done = client.wait_for_completion(&old, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Failed);
    let text = done.output.to_string();
    assert!(
        text.contains("VersionMismatch") && text.contains("Strict"),
        "{text}"
    );
    let history = client.get_history(&old).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.event_type().name() == "ExecutionStarted"),
        "the history is kept: {history:?}"
    );
    rt.shutdown().await;
}

#[tokio::test]
async fn an_instance_no_host_can_run_is_terminated_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, client) = start(
        &dir.path().join("hub.db"),
        orders(),
        RuntimeOptions::default(),
    )
    .await;
    let id = client.start_new("nowhere", None, &()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(status(&client, &id).await, OrchestrationStatus::Pending);
    client.terminate(&id, "its code is gone").await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Terminated);
    assert_eq!(done.output, serde_json::json!("its code is gone"));
    rt.shutdown().await;
}
