//! The task hub conformance suite against Azure Storage, on the Azurite this test binary
//! starts (installed and started by the harness; it fails, never skips, when it cannot).
//! Each check runs on a task hub of its own name.

use durable_store::InstanceStore;
use durable_store::OrchestrationService;
use std::sync::Arc;

use durable_azure::{AzureTaskHub, StorageAccount};
use durable_store::TaskHub;
use durable_testing::azurite;

/// A new, created hub with a fresh name on the shared Azurite.
async fn new_hub() -> Arc<dyn TaskHub> {
    let azurite = azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let account = StorageAccount::from_connection_string(&azurite.connection_string())
        .expect("the harness's connection string parses");
    let name = format!("conf{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let hub = AzureTaskHub::new(account, &name).expect("hub");
    hub.create_if_not_exists().await.expect("create the hub");
    Arc::new(hub)
}

durable_store::task_hub_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async {
        ((), new_hub().await)
    }
);

/// A created hub with its name and account, for checks that look at the raw layout.
async fn named_hub() -> (AzureTaskHub, StorageAccount, String) {
    let azurite = azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let account = azurite.account();
    let name = format!("Layout{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let hub = AzureTaskHub::new(account.clone(), &name).expect("hub");
    hub.create_if_not_exists().await.expect("create the hub");
    (hub, account, name)
}

/// Payloads over the queue (45 KB) and table (60 KB) limits travel through gzip blobs in
/// `{hub}-largemessages` and come back whole; the rows, the sentinel and `taskhub.json` are
/// where the DTFx layout puts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads_and_the_raw_layout() {
    use std::time::Duration;

    use durable_azure::layout::{escape_partition_key, SENTINEL};
    use durable_azure_storage::StorageClients;
    use durable_engine::history::{
        EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance, OrchestrationStatus,
    };
    use durable_engine::message::TaskMessage;
    use durable_store::{HistoryUpdate, InstanceState, OrchestrationCommit};

    let (hub, account, name) = named_hub().await;
    let big = format!("\"{}\"", "x".repeat(100 * 1024));
    let id = "big/one";
    let target = OrchestrationInstance {
        instance_id: id.into(),
        execution_id: Some(uuid::Uuid::new_v4().simple().to_string()),
    };
    let started = ExecutionStarted {
        orchestration_instance: target.clone(),
        name: "Big".into(),
        input: Some(big.clone()),
        ..ExecutionStarted::default()
    };
    let start = TaskMessage::new(
        target,
        HistoryEvent::new(
            durable_store::clock::now(),
            EventKind::ExecutionStarted(Box::new(started)),
        ),
    );
    hub.create_instance(start.clone()).await.expect("create");
    let row = hub.get_instance(id).await.expect("get").expect("row");
    assert_eq!(row.input.as_deref(), Some(big.as_str()));

    let batch = hub
        .lock_orchestrations(10, Duration::from_secs(60))
        .await
        .expect("lock");
    let item = &batch.items[0];
    assert_eq!(
        item.messages[0].message, start,
        "the large message came back whole"
    );
    let events = vec![
        HistoryEvent::new(durable_store::clock::now(), EventKind::OrchestratorStarted),
        start.event.clone(),
        HistoryEvent::with_id(
            0,
            durable_store::clock::now(),
            EventKind::ExecutionCompleted {
                status: OrchestrationStatus::Completed,
                result: Some(big.clone()),
                failure_details: None,
            },
        ),
    ];
    let done = InstanceState {
        status: OrchestrationStatus::Completed,
        output: Some(big.clone()),
        completed_at: Some(durable_store::clock::now()),
        ..row
    };
    let commit = OrchestrationCommit {
        history: HistoryUpdate::Append(events.clone()),
        instance: Some(done),
        orchestrator_messages: Vec::new(),
        activity_messages: Vec::new(),
    };
    hub.complete_orchestration(item, commit)
        .await
        .expect("commit");
    assert_eq!(hub.get_history(id).await.expect("history"), events);
    let row = hub.get_instance(id).await.expect("get").expect("row");
    assert_eq!(row.output.as_deref(), Some(big.as_str()));
    assert_eq!(row.history_len, 3);

    // The raw layout.
    let clients = StorageClients::new(account).expect("clients");
    let lower = name.to_ascii_lowercase();
    let pk = escape_partition_key(id);
    assert_eq!(pk, "big^0one");
    let raw = clients
        .table(&format!("{name}Instances"))
        .get(&pk, "")
        .await
        .expect("get")
        .expect("the Instances row");
    let large_url = clients
        .container(&format!("{lower}-largemessages"))
        .blob_url("");
    for column in ["Input", "Output"] {
        let value = raw.str(column).expect(column);
        assert!(
            value.starts_with(&large_url),
            "{column} is a blob URL: {value}"
        );
    }
    assert_eq!(raw.str("RuntimeStatus"), Some("Completed"));
    assert_eq!(raw.str("CustomStatus"), Some("null"));
    assert_eq!(raw.str("TaskHubName"), Some(name.as_str()));

    let rows = clients
        .table(&format!("{name}History"))
        .query_all(&format!("PartitionKey eq '{pk}'"))
        .await
        .expect("history rows");
    let keys: Vec<&str> = rows.iter().map(|r| r.row_key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "0000000000000000",
            "0000000000000001",
            "0000000000000002",
            SENTINEL
        ]
    );
    assert_eq!(rows[1].str("EventType"), Some("ExecutionStarted"));
    assert_eq!(rows[1].str("Input"), Some(""));
    let blob = rows[1].str("InputBlobName").expect("InputBlobName");
    assert!(
        blob.starts_with("big^0one/history-0000000000000001-ExecutionStarted-")
            && blob.ends_with("-Input.json.gz"),
        "{blob}"
    );
    assert_eq!(rows[2].str("OrchestrationStatus"), Some("Completed"));
    assert!(rows[2].str("ResultBlobName").is_some());
    assert_eq!(
        rows[3].str("ExecutionId"),
        start.orchestration_instance.execution_id.as_deref()
    );
    assert_eq!(
        rows[3]
            .get("IsCheckpointComplete")
            .and_then(|v| v.as_bool()),
        Some(true)
    );

    let blobs = clients
        .container(&format!("{lower}-largemessages"))
        .list("big/one/message-")
        .await
        .expect("list");
    assert!(
        blobs.len() == 1 && blobs[0].ends_with("-ExecutionStarted.json.gz"),
        "the start message went to a blob: {blobs:?}"
    );
    let info = clients
        .container(&format!("{lower}-leases"))
        .get("taskhub.json")
        .await
        .expect("get")
        .expect("taskhub.json");
    let info: serde_json::Value = serde_json::from_slice(&info).expect("JSON");
    assert_eq!(info["TaskHubName"], name.as_str());
    assert_eq!(info["PartitionCount"], 4);
}
