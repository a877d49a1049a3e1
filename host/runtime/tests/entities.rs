//! Entities on the runtime over the SQLite task hub, in process: client signals, reads and
//! listings, calls from orchestrations, and critical sections under concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_client::DurableClient;
use durable_client::EntityQuery;
use durable_engine::context::OrchestrationContext;
use durable_engine::entity::{entity_fn, EntityId};
use durable_engine::failure::Failure;
use durable_engine::history::OrchestrationStatus;
use durable_runtime::Registry;
use durable_runtime::Runtime;
use durable_runtime::RuntimeOptions;
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

const WAIT: Duration = Duration::from_secs(30);

fn registry() -> Registry {
    Registry::new()
        .add_entity_fn(
            "counter",
            entity_fn(|ctx| {
                let value: i64 = ctx.get_state(|| 0)?;
                match ctx.operation_name() {
                    "add" => {
                        let n: i64 = ctx.get_input()?;
                        ctx.set_state(&(value + n))
                    }
                    "get" => ctx.set_result(&value),
                    "delete" => {
                        ctx.delete_state();
                        Ok(())
                    }
                    op => Err(Failure::new("UnknownOperation", op.to_string())),
                }
            }),
        )
        .orchestration(
            "add_and_get",
            |ctx: OrchestrationContext, key: String| async move {
                let c = EntityId::new("counter", &key)?;
                ctx.signal_entity(&c, "add", &2);
                let _: () = ctx.call_entity(&c, "add", &3).await?;
                let v: i64 = ctx.call_entity(&c, "get", &()).await?;
                Ok(v)
            },
        )
        .orchestration(
            "move",
            |ctx: OrchestrationContext, (from, to): (String, String)| async move {
                let a = EntityId::new("counter", &from)?;
                let b = EntityId::new("counter", &to)?;
                let _lock = ctx.lock(&[a.clone(), b.clone()]).await?;
                let have: i64 = ctx.call_entity(&a, "get", &()).await?;
                if have >= 1 {
                    let _: () = ctx.call_entity(&a, "add", &-1).await?;
                    let _: () = ctx.call_entity(&b, "add", &1).await?;
                }
                Ok(have >= 1)
            },
        )
}

async fn start() -> (tempfile::TempDir, Runtime, DurableClient) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let rt = Runtime::start(store, registry(), RuntimeOptions::default())
        .await
        .unwrap();
    let client = rt.client();
    (dir, rt, client)
}

async fn eventually_state(client: &DurableClient, id: &EntityId, want: i64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got: Option<i64> = client.read_entity_state(id).await.unwrap();
        if got == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} stayed at {got:?}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_from_the_client_are_applied_read_listed_and_deleted() {
    let (_dir, rt, client) = start().await;
    let c = EntityId::new("Counter", "k1").unwrap();
    assert_eq!(client.read_entity_state::<i64>(&c).await.unwrap(), None);
    for _ in 0..100 {
        client.signal_entity(&c, "add", &1).await.unwrap();
    }
    eventually_state(&client, &c, 100).await;
    let other = EntityId::new("counter", "k2").unwrap();
    client.signal_entity(&other, "add", &5).await.unwrap();
    eventually_state(&client, &other, 5).await;

    let page = client
        .list_entities(&EntityQuery {
            name: Some("COUNTER".into()),
            fetch_state: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let listed: Vec<_> = page
        .entities
        .iter()
        .map(|e| (e.entity_id.key.clone(), e.state.clone()))
        .collect();
    assert_eq!(
        listed,
        [
            ("k1".to_string(), Some(100.into())),
            ("k2".to_string(), Some(5.into()))
        ]
    );

    client.signal_entity(&c, "delete", &()).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while client.read_entity_state::<i64>(&c).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "never deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let page = client.list_entities(&EntityQuery::default()).await.unwrap();
    assert_eq!(page.entities.len(), 1, "a deleted entity is not listed");
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_signal_waits_for_its_time() {
    let (_dir, rt, client) = start().await;
    let c = EntityId::new("counter", "later").unwrap();
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(700);
    client.signal_entity_at(&c, "add", &7, at).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(client.read_entity_state::<i64>(&c).await.unwrap(), None);
    eventually_state(&client, &c, 7).await;
    assert!(chrono::Utc::now() >= at);
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn orchestrations_call_and_signal_entities() {
    let (_dir, rt, client) = start().await;
    let id = client.start_new("add_and_get", None, &"o1").await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(
        done.runtime_status,
        OrchestrationStatus::Completed,
        "{done:?}"
    );
    // The signal and the call come from one sender, so they run in order: 2 + 3.
    assert_eq!(done.output.to_string(), "5");
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn critical_sections_conserve_the_total_under_concurrency() {
    let (_dir, rt, client) = start().await;
    let keys = ["a", "b", "c"];
    for k in keys {
        client
            .signal_entity(&EntityId::new("counter", k).unwrap(), "add", &10)
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    for i in 0..30 {
        let (from, to) = (keys[i % 3], keys[(i * 7 + 1) % 3]);
        let to = if to == from { keys[(i + 1) % 3] } else { to };
        ids.push(client.start_new("move", None, &(from, to)).await.unwrap());
    }
    for id in &ids {
        let done = client.wait_for_completion(id, WAIT).await.unwrap();
        assert_eq!(
            done.runtime_status,
            OrchestrationStatus::Completed,
            "{done:?}"
        );
    }
    let mut total = 0;
    for k in keys {
        let id = EntityId::new("counter", k).unwrap();
        let v: i64 = client.read_entity_state(&id).await.unwrap().unwrap();
        assert!(v >= 0);
        total += v;
        // every lock was released: a new call goes through
        let lock_free = client.start_new("add_and_get", None, &k).await.unwrap();
        let done = client.wait_for_completion(&lock_free, WAIT).await.unwrap();
        assert_eq!(done.runtime_status, OrchestrationStatus::Completed);
    }
    assert_eq!(total, 30);
    rt.shutdown().await;
}

/// W5, quickly: 10,000 signals to one counter, then one read. Run with
/// `cargo test --release -p durable --test entities -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a quick throughput measurement, not a test"]
async fn w5_quick_measurement() {
    let (_dir, rt, client) = start().await;
    let c = EntityId::new("counter", "w5").unwrap();
    let n = 10_000;
    let started = Instant::now();
    let sends = (0..n).map(|_| {
        let client = client.clone();
        let c = c.clone();
        tokio::spawn(async move { client.signal_entity(&c, "add", &1).await.unwrap() })
    });
    futures::future::join_all(sends).await;
    let sent = started.elapsed();
    eventually_state(&client, &c, n).await;
    let all = started.elapsed();
    println!(
        "W5 quick: {n} signals sent in {sent:?}, all applied after {all:?}: {:.0} ops/s",
        n as f64 / all.as_secs_f64()
    );
    rt.shutdown().await;
}

/// W5's processing side alone: 10,000 signals queued before the runtime starts, then the time
/// until all are applied. Run like [`w5_quick_measurement`].
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a quick throughput measurement, not a test"]
async fn w5_processing_only() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    store.create_if_not_exists().await.unwrap();
    let client = DurableClient::new(store.clone());
    let c = EntityId::new("counter", "w5").unwrap();
    let n = 10_000;
    let sends = (0..n).map(|_| {
        let client = client.clone();
        let c = c.clone();
        tokio::spawn(async move { client.signal_entity(&c, "add", &1).await.unwrap() })
    });
    futures::future::join_all(sends).await;
    let started = Instant::now();
    let rt = Runtime::start(store, registry(), RuntimeOptions::default())
        .await
        .unwrap();
    eventually_state(&client, &c, n).await;
    let all = started.elapsed();
    println!(
        "W5 processing only: {n} queued signals applied in {all:?}: {:.0} ops/s",
        n as f64 / all.as_secs_f64()
    );
    rt.shutdown().await;
}

/// A client call on an id that cannot identify an entity is refused with a typed error, and
/// nothing is written.
#[tokio::test]
async fn the_client_refuses_an_invalid_entity_id() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    store.create_if_not_exists().await.unwrap();
    let client = durable_client::DurableClient::new(store.clone());
    let bad = EntityId {
        name: "counter".into(),
        key: "a/b".into(),
    };
    let err = client.signal_entity(&bad, "add", &1).await.unwrap_err();
    assert!(
        matches!(err, durable_client::ClientError::InvalidArgument(ref m) if m.contains("cannot contain")),
        "{err}"
    );
    let err = client.read_entity_state::<i64>(&bad).await.unwrap_err();
    assert!(
        matches!(err, durable_client::ClientError::InvalidArgument(_)),
        "{err}"
    );
    let page = store
        .query_instances(&durable_store::InstanceQuery::default())
        .await
        .unwrap();
    assert!(page.instances.is_empty());
}
