//! Instance tags through the runtime, on SQLite: tags given at start stay through
//! continue-as-new and are in the status; a query filters by them. Starts that find a running
//! instance of their id: refused by default, replaced with `IfExists::ReplaceAny` (the old one
//! is terminated first), returned with `IfExists::ReturnExisting`.

use std::sync::Arc;
use std::time::Duration;

use durable_client::{ClientError, IfExists, StartOptions};
use durable_engine::context::OrchestrationContext;
use durable_engine::history::{OrchestrationStatus, Tags};
use durable_runtime::{Registry, Runtime, RuntimeOptions};
use durable_sqlite::SqliteTaskHub;
use durable_store::{InstanceQuery, TaskHub};

const WAIT: Duration = Duration::from_secs(30);

fn registry() -> Registry {
    Registry::new()
        .orchestration("count", |ctx: OrchestrationContext, n: u32| async move {
            if n < 3 {
                ctx.continue_as_new(&(n + 1));
            }
            Ok(n)
        })
        .orchestration("wait", |ctx: OrchestrationContext, _: ()| async move {
            let v: u32 = ctx.wait_for_external_event("go").await?;
            Ok(v)
        })
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn tags_stay_through_continue_as_new_and_running_instances_are_replaced_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let rt = Runtime::start(store.clone(), registry(), RuntimeOptions::default())
        .await
        .unwrap();
    let client = rt.client();

    let with = |id: &str, t: Tags, if_exists: Option<IfExists>| StartOptions {
        instance_id: Some(id.to_string()),
        tags: t,
        if_exists,
        ..StartOptions::default()
    };
    let gold = tags(&[("tier", "gold")]);
    client
        .start_with_options("count", Some("0".into()), with("c", gold.clone(), None))
        .await
        .unwrap();
    let done = client.wait_for_completion("c", WAIT).await.unwrap();
    assert_eq!(done.output, serde_json::json!(3), "{done:?}");
    assert_eq!(done.tags, gold, "after three continue-as-new");
    let page = client
        .list_instances(&InstanceQuery {
            tags: gold.clone(),
            ..InstanceQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = page
        .statuses
        .iter()
        .map(|s| s.instance_id.as_str())
        .collect();
    assert_eq!(ids, ["c"]);

    // A running instance: refused by default, returned, or replaced.
    client
        .start_with_options("wait", None, with("w", Tags::new(), None))
        .await
        .unwrap();
    let refused = client
        .start_with_options("count", Some("3".into()), with("w", Tags::new(), None))
        .await;
    assert!(
        matches!(refused, Err(ClientError::AlreadyExists { .. })),
        "{refused:?}"
    );
    let returned = client
        .start_with_options(
            "count",
            Some("3".into()),
            with("w", Tags::new(), Some(IfExists::ReturnExisting)),
        )
        .await
        .unwrap();
    assert_eq!(returned, "w");
    let still = client.get_status("w").await.unwrap().unwrap();
    assert_eq!(still.name, "wait");
    let silver = tags(&[("tier", "silver")]);
    client
        .start_with_options(
            "count",
            Some("3".into()),
            with("w", silver.clone(), Some(IfExists::ReplaceAny)),
        )
        .await
        .unwrap();
    let replaced = client.wait_for_completion("w", WAIT).await.unwrap();
    assert_eq!(replaced.name, "count");
    assert_eq!(replaced.runtime_status, OrchestrationStatus::Completed);
    assert_eq!(replaced.tags, silver);
    // The client's default (host.json AnyState) replaces without being asked.
    client
        .start_with_options("wait", None, with("w2", Tags::new(), None))
        .await
        .unwrap();
    let any_state = client.clone().with_if_exists(IfExists::ReplaceAny);
    any_state
        .start_new_raw("count", Some("w2"), Some("3".into()), None)
        .await
        .unwrap();
    let replaced = client.wait_for_completion("w2", WAIT).await.unwrap();
    assert_eq!(replaced.name, "count");
    rt.shutdown().await;
}
