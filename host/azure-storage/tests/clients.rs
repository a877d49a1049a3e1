//! The storage clients against a real Azurite: Shared Key signing through a parsed connection
//! string, table entities with ETags, queries with continuation, transactions, queue leases
//! and blobs. One Azurite per test binary; every test uses names of its own.

use std::time::Duration;

use durable_azure_storage::blobs::WriteCondition;
use durable_azure_storage::entity::{EdmValue, Entity};
use durable_azure_storage::tables::{literal, IfMatch, UpdateMode};
use durable_azure_storage::transaction::TableOperation;
use durable_azure_storage::StorageAccount;
use durable_azure_storage::{AzureError, StorageClients};
use durable_testing::azurite;

/// Clients for the shared Azurite, reached through a parsed full connection string.
fn clients() -> StorageClients {
    let azurite = azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let account = StorageAccount::from_connection_string(&azurite.connection_string())
        .expect("the harness's connection string parses");
    StorageClients::new(account).expect("clients")
}

/// A name unique to one test: letters and digits only, as table names need.
fn unique(tag: &str) -> String {
    format!("{tag}{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

#[tokio::test]
async fn a_wrong_key_is_refused() {
    let mut account = clients().account().clone();
    account.credential = durable_azure_storage::Credential::AccountKey(vec![1; 64]);
    let bad = StorageClients::new(account).unwrap();
    let err = bad
        .queue(&unique("q"))
        .create_if_not_exists()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
}

#[tokio::test]
async fn table_entities_with_etags() {
    let table = clients().table(&unique("T"));
    table.create_if_not_exists().await.unwrap();
    table.create_if_not_exists().await.expect("idempotent");
    // Azure Storage keeps 100 ns ticks.
    let now = chrono::Utc::now();
    let t = now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 100));
    let entity = Entity::new("p'1 x%", "r")
        .with("Name", EdmValue::String("a & b".into()))
        .with("Count", EdmValue::Int32(3))
        .with("Big", EdmValue::Int64(1 << 40))
        .with("Flag", EdmValue::Bool(true))
        .with("At", EdmValue::DateTime(t));
    let etag = table.insert(&entity).await.unwrap();
    let err = table.insert(&entity).await.unwrap_err();
    assert_eq!(err.status(), Some(409));

    let read = table.get("p'1 x%", "r").await.unwrap().expect("row");
    assert_eq!(read.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(read.properties, entity.properties);

    let merge = Entity::new("p'1 x%", "r").with("Count", EdmValue::Int32(4));
    let etag2 = table
        .update(&merge, UpdateMode::Merge, IfMatch::Etag(&etag))
        .await
        .unwrap();
    let stale = table
        .update(&merge, UpdateMode::Merge, IfMatch::Etag(&etag))
        .await
        .unwrap_err();
    assert_eq!(stale.status(), Some(412));
    let read = table.get("p'1 x%", "r").await.unwrap().unwrap();
    assert_eq!(read.str("Name"), Some("a & b"), "merge keeps other columns");
    assert_eq!(read.get("Count"), Some(&EdmValue::Int32(4)));

    table
        .update(&merge, UpdateMode::Replace, IfMatch::Etag(&etag2))
        .await
        .unwrap();
    let read = table.get("p'1 x%", "r").await.unwrap().unwrap();
    assert_eq!(read.str("Name"), None, "replace drops other columns");

    let missing = Entity::new("nope", "r");
    let err = table
        .update(&missing, UpdateMode::Merge, IfMatch::Exists)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    table
        .update(&missing, UpdateMode::Merge, IfMatch::Upsert)
        .await
        .expect("upsert inserts");
    assert!(table.delete("nope", "r", None).await.unwrap());
    assert!(!table.delete("nope", "r", None).await.unwrap());
    table.delete_table().await.unwrap();
}

#[tokio::test]
async fn queries_follow_continuations() {
    let table = clients().table(&unique("Q"));
    table.create_if_not_exists().await.unwrap();
    for p in 0..3 {
        let ops: Vec<_> = (0..10)
            .map(|r| {
                let e = Entity::new(format!("p{p}"), format!("{r:02}"))
                    .with("Even", EdmValue::Bool(r % 2 == 0));
                TableOperation::Insert(e)
            })
            .collect();
        table.transact(&ops).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut next = None;
    let mut pages = 0;
    loop {
        let page = table.query("Even eq true", 4, next.as_ref()).await.unwrap();
        pages += 1;
        seen.extend(
            page.entities
                .into_iter()
                .map(|e| (e.partition_key, e.row_key)),
        );
        match page.continuation {
            Some(c) => next = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 15);
    assert!(pages >= 4, "pages of at most 4: {pages}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "key order");
    let filter = format!("PartitionKey eq {}", literal("p1"));
    assert_eq!(table.query_all(&filter).await.unwrap().len(), 10);
}

#[tokio::test]
async fn transactions_are_all_or_nothing_and_name_the_failure() {
    let table = clients().table(&unique("X"));
    table.create_if_not_exists().await.unwrap();
    let etags = table
        .transact(&[
            TableOperation::Insert(Entity::new("p", "a")),
            TableOperation::Upsert(Entity::new("p", "b"), UpdateMode::Replace),
        ])
        .await
        .unwrap();
    assert!(etags.iter().all(Option::is_some));
    let err = table
        .transact(&[
            TableOperation::Insert(Entity::new("p", "c")),
            TableOperation::Update(
                Entity::new("p", "a"),
                UpdateMode::Merge,
                Some("W/\"datetime'2000-01-01T00%3A00%3A00.0000000Z'\"".into()),
            ),
        ])
        .await
        .unwrap_err();
    match err {
        AzureError::Transaction { index, status, .. } => {
            assert_eq!((index, status), (1, 412), "{err}")
        }
        other => panic!("expected a transaction error, got {other}"),
    }
    assert!(table.get("p", "c").await.unwrap().is_none(), "rolled back");
    let two = table
        .transact(&[
            TableOperation::Insert(Entity::new("p", "d")),
            TableOperation::Insert(Entity::new("q", "d")),
        ])
        .await
        .unwrap_err();
    assert!(matches!(two, AzureError::Invalid(_)), "{two}");
}

#[tokio::test]
async fn queue_messages_with_receipts() {
    let queue = clients().queue(&unique("q"));
    queue.create_if_not_exists().await.unwrap();
    queue.create_if_not_exists().await.expect("idempotent");
    queue.put(b"{\"a\":1}", Duration::ZERO).await.unwrap();
    queue.put(b"later", Duration::from_secs(2)).await.unwrap();
    let got = queue.get(32, Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.len(), 1, "the delayed message is invisible");
    assert_eq!(got[0].body, b"{\"a\":1}");
    assert_eq!(got[0].dequeue_count, 1);
    assert!(queue
        .get(32, Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty());
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let got = queue.get(32, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 2, "both visible again");
    let first = got.iter().find(|m| m.body == b"{\"a\":1}").unwrap();
    assert_eq!(first.dequeue_count, 2);
    let (receipt, _) = queue
        .update(&first.id, &first.pop_receipt, Duration::ZERO)
        .await
        .unwrap();
    assert!(
        !queue
            .delete_message(&first.id, &first.pop_receipt)
            .await
            .unwrap(),
        "the old receipt is stale"
    );
    assert!(queue.delete_message(&first.id, &receipt).await.unwrap());
    queue.delete().await.unwrap();
}

#[tokio::test]
async fn blobs_conditional_writes_listing_and_leases() {
    let container = clients().container(&unique("c"));
    container.create_if_not_exists().await.unwrap();
    container
        .put("dir/a b.json", b"one".to_vec(), WriteCondition::IfNotExists)
        .await
        .unwrap();
    let err = container
        .put("dir/a b.json", b"two".to_vec(), WriteCondition::IfNotExists)
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(409) | Some(412)), "{err}");
    assert_eq!(
        container.get("dir/a b.json").await.unwrap().unwrap(),
        b"one"
    );
    container
        .put("other", Vec::new(), WriteCondition::Always)
        .await
        .unwrap();
    assert_eq!(container.list("dir/").await.unwrap(), ["dir/a b.json"]);
    assert_eq!(container.list("").await.unwrap().len(), 2);

    let lease = uuid::Uuid::new_v4().to_string();
    let held = container
        .acquire_lease("other", &lease, Some(Duration::from_secs(15)))
        .await
        .unwrap();
    assert_eq!(held, lease);
    let err = container
        .put("other", b"x".to_vec(), WriteCondition::Always)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(412), "writes need the lease id");
    container
        .put("other", b"x".to_vec(), WriteCondition::Lease(&lease))
        .await
        .unwrap();
    container.renew_lease("other", &lease).await.unwrap();
    container.release_lease("other", &lease).await.unwrap();
    container
        .acquire_lease("other", &lease, None)
        .await
        .unwrap();
    container.break_lease("other").await.unwrap();
    assert!(container.delete_blob("dir/a b.json").await.unwrap());
    assert!(container.get("dir/a b.json").await.unwrap().is_none());
    container.delete().await.unwrap();
}
