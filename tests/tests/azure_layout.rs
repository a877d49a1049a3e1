//! The DTFx layout, read raw: the real host runs one "Hello cities" orchestration on Azurite
//! (started by `durable`'s harness; the test fails, never skips, when Azurite cannot run),
//! then this test reads the Instances and History tables, the queues and the lease blobs with
//! plain storage requests and checks column names, row keys, the sentinel row, `EventType`
//! names and `RuntimeStatus` strings as Azure tooling would read them.

use std::time::Duration;

use durable::store::azure::StorageAccount;
use durable_azure_storage::entity::EdmValue;
use durable_azure_storage::StorageClients;
use serde_json::json;
use tests::app_host::{AppDir, TestHost};

#[test]
fn a_completed_hello_cities_in_the_dtfx_layout() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let hub = format!("Layout{}", rand::random::<u32>());
    let lower = hub.to_ascii_lowercase();
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_scale-out-app"),
        json!({
            "AzureWebJobsStorage": azurite.connection_string(),
            "TaskHubName": hub,
            "DurableWorkerId": "layout-worker",
        }),
        None,
    );
    let host = TestHost::start(&dir, &[]);
    let resp = host
        .call(
            "POST",
            "/runtime/webhooks/durabletask/orchestrators/hello_cities/layout%5Ehello-1?timeout=60&pollingInterval=1",
        )
        .send();
    assert_eq!(resp.status, 200, "{resp:?}\n{}", host.log());
    assert_eq!(
        resp.json(),
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let account = StorageAccount::from_connection_string(&azurite.connection_string()).unwrap();
    let clients = StorageClients::new(account).unwrap();
    rt.block_on(async {
        // Instances: PartitionKey = escaped id, RowKey "", DTFx columns and status names.
        let pk = "layout^^hello-1";
        let row = clients
            .table(&format!("{hub}Instances"))
            .get(pk, "")
            .await
            .unwrap()
            .expect("the Instances row");
        assert_eq!(row.str("RuntimeStatus"), Some("Completed"));
        assert_eq!(row.str("Name"), Some("hello_cities"));
        assert_eq!(row.str("TaskHubName"), Some(hub.as_str()));
        assert_eq!(row.str("CustomStatus"), Some("null"));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(row.str("Output").unwrap()).unwrap(),
            json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
        );
        for column in ["CreatedTime", "LastUpdatedTime", "CompletedTime"] {
            assert!(
                matches!(row.get(column), Some(EdmValue::DateTime(_))),
                "{column} is an Edm.DateTime: {:?}",
                row.get(column)
            );
        }
        let execution_id = row.str("ExecutionId").expect("ExecutionId").to_owned();
        assert_eq!(execution_id.len(), 32, "an execution id without dashes");

        // History: zero-padded hex row keys, event names, then the sentinel.
        let rows = clients
            .table(&format!("{hub}History"))
            .query_all(&format!("PartitionKey eq '{pk}'"))
            .await
            .unwrap();
        let (sentinel, events) = rows.split_last().expect("history rows");
        assert_eq!(sentinel.row_key, "sentinel");
        assert_eq!(sentinel.str("ExecutionId"), Some(execution_id.as_str()));
        assert_eq!(
            sentinel.get("HistoryEventCount").and_then(EdmValue::as_i64),
            Some(events.len() as i64)
        );
        assert_eq!(
            sentinel
                .get("IsCheckpointComplete")
                .and_then(|v| v.as_bool()),
            Some(true)
        );
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.row_key, format!("{i:016X}"));
            assert_eq!(e.str("ExecutionId"), Some(execution_id.as_str()));
            assert!(e.get("_Timestamp").is_some(), "row {i} has _Timestamp");
        }
        let types: Vec<&str> = events.iter().filter_map(|e| e.str("EventType")).collect();
        let mut expected = vec!["OrchestratorStarted", "ExecutionStarted", "TaskScheduled"];
        expected.push("OrchestratorCompleted");
        for _ in 0..2 {
            expected.extend([
                "OrchestratorStarted",
                "TaskCompleted",
                "TaskScheduled",
                "OrchestratorCompleted",
            ]);
        }
        expected.extend([
            "OrchestratorStarted",
            "TaskCompleted",
            "ExecutionCompleted",
            "OrchestratorCompleted",
        ]);
        assert_eq!(types, expected);
        let completed = &events[events.len() - 2];
        assert_eq!(completed.str("OrchestrationStatus"), Some("Completed"));
        let scheduled = &events[2];
        assert_eq!(scheduled.str("Name"), Some("say_hello"));
        assert_eq!(scheduled.get("EventId").and_then(EdmValue::as_i64), Some(0));

        // Queues: four control queues and the work-item queue exist, and nothing is left in
        // them (every consumed message was deleted).
        for q in (0..4)
            .map(|p| format!("{lower}-control-{p:02}"))
            .chain([format!("{lower}-workitems")])
        {
            let left = clients
                .queue(&q)
                .get(32, Duration::from_secs(1))
                .await
                .unwrap_or_else(|e| panic!("queue {q}: {e}"));
            assert!(left.is_empty(), "{q} still holds {left:?}");
        }

        // Leases: taskhub.json and one lease blob per control queue, owned by this host.
        let leases = clients.container(&format!("{lower}-leases"));
        let info: serde_json::Value =
            serde_json::from_slice(&leases.get("taskhub.json").await.unwrap().unwrap()).unwrap();
        assert_eq!(info["TaskHubName"], hub.as_str());
        assert_eq!(info["PartitionCount"], 4);
        for p in 0..4 {
            let name = format!("default/{lower}-control-{p:02}");
            let (body, leased) = leases
                .get_with_lease(&name)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("lease blob {name}"));
            let lease: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(leased, "{name} is leased while the host runs");
            assert_eq!(lease["PartitionId"], format!("{lower}-control-{p:02}"));
            assert_eq!(lease["Owner"], "layout-worker");
            assert!(lease["Token"].is_string() && lease["Epoch"].as_i64() >= Some(1));
        }
    });
    host.stop();
}
