//! The sample app's sync-over-async pattern with a blob reply, end to end on Azurite: the
//! sample app (built with `azure`) answers `GET /api/weather` with the content of the blob
//! `weather-results/{requestId}.txt` that an outside system (here the test, with a storage
//! client) writes while the request waits; without a reply in time it answers 500 and the
//! orchestration is terminated.

#[path = "triggers_support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use tests::sample_app::functions_azure_binary;

fn start_sample(hub: &str) -> (AppDir, TestHost) {
    let dir = AppDir::new(
        functions_azure_binary(),
        json!({
            "AzureWebJobsStorage": azurite().connection_string(),
            "TaskHubName": hub,
        }),
        Some(json!({
            "version": "2.0",
            "extensions": { "blobs": { "maxPollingInterval": "00:00:00.5" } }
        })),
    );
    let host = TestHost::start(&dir, &[]);
    assert!(
        host.banner.contains("weather_result_blob: blobTrigger"),
        "{}",
        host.banner
    );
    (dir, host)
}

#[test]
fn the_weather_reply_arrives_as_a_blob() {
    let storage = Storage::new();
    let (_dir, host) = start_sample("WeatherBlobHub");
    let port = host.port;
    let request = std::thread::spawn(move || {
        get(
            port,
            "/api/weather?requestId=req-blob-1&city=Oslo&timeout=45",
        )
    });
    // The outside system replies once it has the request: the orchestration is running.
    let log = || host.log();
    wait_for(
        Duration::from_secs(30),
        "the weather request started",
        &log,
        || {
            let r = host.get("/runtime/webhooks/durabletask/instances/req-blob-1");
            (r.status == 202 && r.json()["runtimeStatus"] == "Running").then_some(())
        },
    );
    storage.put_blob("weather-results", "req-blob-1.txt", b"Oslo: sunny, 21 C");
    let response = request.join().expect("the GET thread");
    assert_eq!(response.status, 200, "{response:?}\n{}", host.log());
    assert_eq!(response.json(), json!("Oslo: sunny, 21 C"));
    let status = host
        .get("/runtime/webhooks/durabletask/instances/req-blob-1")
        .json();
    assert_eq!(status["runtimeStatus"], "Completed", "{status}");

    // The HTTP reply path still works next to the blob trigger.
    let port = host.port;
    let request =
        std::thread::spawn(move || get(port, "/api/weather?requestId=req-http-1&timeout=45"));
    wait_for(
        Duration::from_secs(30),
        "the second request started",
        &log,
        || {
            let r = host.get("/runtime/webhooks/durabletask/instances/req-http-1");
            (r.status == 202 && r.json()["runtimeStatus"] == "Running").then_some(())
        },
    );
    let posted = host
        .call("POST", "/api/weather-results/req-http-1")
        .json(r#"{"city": "Paris", "temperatureC": 18}"#)
        .send();
    assert_eq!(posted.status, 202, "{posted:?}");
    let response = request.join().expect("the GET thread");
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.json(),
        json!({"city": "Paris", "temperatureC": 18})
    );
    host.stop();
}

#[test]
fn without_a_reply_the_request_answers_with_the_check_status_response() {
    let (_dir, host) = start_sample("WeatherLateHub");
    let response = host.get("/api/weather?requestId=req-late-1&timeout=2");
    assert_eq!(response.status, 202, "{response:?}");
    assert_eq!(response.json()["id"], "req-late-1");
    // The orchestration goes on waiting for the reply.
    let status = host.get("/runtime/webhooks/durabletask/instances/req-late-1");
    assert_eq!(status.status, 202, "{status:?}");
    let runtime_status = status.json()["runtimeStatus"].clone();
    assert!(
        runtime_status == "Running" || runtime_status == "Pending",
        "{status:?}"
    );
    host.stop();
}
