//! The real host on Azure Storage: `AzureWebJobsStorage` holds the connection string of the
//! Azurite this test binary starts (installed and started by `durable`'s harness; the test
//! fails, never skips, when Azurite cannot run), and orchestrations run end to end on it.

use serde_json::json;
use tests::app_host::{AppDir, TestHost};

#[test]
fn orchestrations_run_on_azurite() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_api-test-app"),
        json!({
            "AzureWebJobsStorage": azurite.connection_string(),
            "TaskHubName": "AzureHostTest",
        }),
        None,
    );
    let host = TestHost::start(&dir, &[]);

    let webhook = "/runtime/webhooks/durabletask";
    let resp = host
        .call(
            "POST",
            &format!("{webhook}/orchestrators/echo/on-azure?timeout=30&pollingInterval=1"),
        )
        .json(r#"{"hello": "azure"}"#)
        .send();
    assert_eq!(resp.status, 200, "{resp:?}\n{}", host.log());
    assert_eq!(resp.json(), json!({"hello": "azure"}));

    let resp = host.get(&format!("{webhook}/instances/on-azure?showHistory=true"));
    assert_eq!(resp.status, 200, "{resp:?}");
    let status = resp.json();
    assert_eq!(status["runtimeStatus"], "Completed");
    let events = status["historyEvents"].as_array().expect("history").clone();
    assert_eq!(events[0]["EventType"], "ExecutionStarted");
    assert_eq!(
        events.last().expect("an event")["EventType"],
        "ExecutionCompleted"
    );

    // An activity round trip (work-item queue out, control queue back): the activity fails,
    // so does the orchestration.
    let resp = host
        .call(
            "POST",
            &format!("{webhook}/orchestrators/always_fails/fails-on-azure"),
        )
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = host
            .get(&format!("{webhook}/instances/fails-on-azure"))
            .json();
        if status["runtimeStatus"] == "Failed" {
            let output = status["output"].to_string();
            assert!(output.contains("this activity always fails"), "{status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not failed in time: {status}\n{}",
            host.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
