//! Start, status, check-status payloads and the wait semantics.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn start_returns_the_check_status_response() {
    let h = harness().await;
    let resp = post_json(&h, "/orchestrators/echo/order-1", r#"{"a": 1}"#).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let body = json(&resp);
    let common = "taskHub=TestHub&connection=Storage&code=KEY";
    let inst = format!("{BASE}/instances/order-1");
    assert_eq!(
        body,
        json!({
            "id": "order-1",
            "statusQueryGetUri": format!("{inst}?{common}"),
            "sendEventPostUri": format!("{inst}/raiseEvent/{{eventName}}?{common}"),
            "terminatePostUri": format!("{inst}/terminate?reason={{text}}&{common}"),
            "purgeHistoryDeleteUri": format!("{inst}?{common}"),
            "restartPostUri": format!("{inst}/restart?{common}"),
            "suspendPostUri": format!("{inst}/suspend?reason={{text}}&{common}"),
            "resumePostUri": format!("{inst}/resume?reason={{text}}&{common}"),
        })
    );
    assert_eq!(
        header(&resp, "location"),
        body["statusQueryGetUri"].as_str()
    );
    assert_eq!(header(&resp, "retry-after"), Some("10"));
    let status = wait_done(&h, "order-1").await;
    assert_eq!(status["runtimeStatus"], "Completed");
    assert_eq!(status["input"], json!({"a": 1}));
    assert_eq!(status["output"], json!({"a": 1}));
    assert_eq!(status["name"], "echo");
    assert_eq!(status["customStatus"], Value::Null);
    let created = status["createdTime"].as_str().unwrap();
    assert_eq!(created.len(), "2024-01-01T00:00:00Z".len(), "{created}");
    assert!(status.get("historyEvents").is_none());
}

#[tokio::test]
async fn generated_ids_and_empty_bodies() {
    let h = harness().await;
    let resp = call(&h, Method::POST, "/orchestrators/ECHO", None).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let id = json(&resp)["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let status = wait_done(&h, &id).await;
    assert_eq!(status["input"], Value::Null);
    assert_eq!(status["output"], Value::Null);
}

#[tokio::test]
async fn double_encoded_json_is_stored_as_the_string() {
    // what the Python client sends for start_new("echo", None, {"a": 1})
    let h = harness().await;
    let resp = post_json(&h, "/orchestrators/echo/py", r#""{\"a\": 1}""#).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let status = wait_done(&h, "py").await;
    assert_eq!(status["input"], json!("{\"a\": 1}"));
    assert_eq!(status["output"], json!("{\"a\": 1}"));
}

#[tokio::test]
async fn bad_starts() {
    let h = harness().await;
    let resp = post_json(&h, "/orchestrators/nope", "1").await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(json(&resp)["ExceptionMessage"]
        .as_str()
        .unwrap()
        .contains("nope"));
    let long = "x".repeat(257);
    for target in [
        "/orchestrators/echo/@counter@x".to_string(),
        "/orchestrators/echo/a/b".to_string(),
        "/orchestrators/echo/a%23b".to_string(),
        format!("/orchestrators/echo/{long}"),
    ] {
        let resp = post_json(&h, &target, "1").await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{target}");
        assert!(json(&resp)["ExceptionMessage"].is_string());
    }
    let resp = post_json(&h, "/orchestrators/echo", "{not json").await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&resp)["Message"], "Invalid JSON content");

    let resp = post_json(&h, "/orchestrators/wait_event/dup", "1").await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let resp = post_json(&h, "/orchestrators/wait_event/dup", "1").await;
    assert_eq!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(json(&resp)["ExceptionMessage"]
        .as_str()
        .unwrap()
        .contains("dup"));
}

#[tokio::test]
async fn status_codes_follow_the_runtime_status() {
    let h = harness().await;
    let resp = call(&h, Method::GET, "/instances/missing", None).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert!(resp.body.is_empty());

    post_json(&h, "/orchestrators/wait_event/w1", r#"{"x": true}"#).await;
    wait_started(&h, "w1").await;
    let target = "/instances/w1?showInput=False";
    let resp = call(&h, Method::GET, target, None).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    assert_eq!(
        header(&resp, "location"),
        Some(format!("http://localhost:7071{WEBHOOK_PATH}{target}").as_str())
    );
    assert_eq!(header(&resp, "retry-after"), Some("5"));
    let body = json(&resp);
    assert_eq!(body["runtimeStatus"], "Running");
    assert_eq!(body["input"], Value::Null);
    // names and values case-insensitively
    let body = json(&call(&h, Method::GET, "/INSTANCES/w1?SHOWINPUT=TRUE", None).await);
    assert_eq!(body["input"], json!({"x": true}));
}

#[tokio::test]
async fn history_is_shaped_and_optional() {
    let h = harness().await;
    post_json(&h, "/orchestrators/flaky_chain/hist", "1").await;
    wait_done(&h, "hist").await;
    let resp = call(
        &h,
        Method::GET,
        "/instances/hist?showHistory=True&showHistoryOutput=True",
        None,
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK);
    let body = json(&resp);
    assert_eq!(body["runtimeStatus"], "Failed");
    let events = body["historyEvents"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["EventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskCompleted",
            "TaskFailed",
            "ExecutionCompleted"
        ]
    );
    assert_eq!(events[0]["FunctionName"], "flaky_chain");
    assert_eq!(events[1]["FunctionName"], "add_one");
    assert_eq!(events[1]["Result"], 2);
    assert!(events[1].get("ScheduledTime").is_some());
    assert!(events[1].get("TaskScheduledId").is_none());
    assert!(events[1].get("EventId").is_none());
    assert_eq!(events[3]["OrchestrationStatus"], "Failed");
    let body = json(&call(&h, Method::GET, "/instances/hist?showHistory=true", None).await);
    assert!(body["historyEvents"][1].get("Result").is_none());
    let resp = call(
        &h,
        Method::GET,
        "/instances/hist?returnInternalServerErrorOnFailure=true",
        None,
    )
    .await;
    assert_eq!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json(&resp)["runtimeStatus"], "Failed");
}

#[tokio::test]
async fn ids_with_spaces_round_trip_through_generated_urls() {
    let h = harness().await;
    let resp = post_json(&h, "/orchestrators/echo/a%20b", "1").await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let url = json(&resp)["statusQueryGetUri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.contains("/instances/a+b?"), "{url}");
    wait_done(&h, "a b").await;
    let resp = call(&h, Method::GET, "/instances/a+b", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(json(&resp)["instanceId"], "a b");
}

#[tokio::test]
async fn start_can_wait_for_the_result() {
    let h = harness().await;
    let resp = post_json(
        &h,
        "/orchestrators/echo/sync?timeout=10&pollingInterval=1",
        r#"{"hello": "world"}"#,
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(json(&resp), json!({"hello": "world"}));

    // not done in time: the check-status response
    let resp = post_json(
        &h,
        "/orchestrators/wait_event/slow?timeout=0.3&pollingInterval=0.1",
        "null",
    )
    .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    assert_eq!(json(&resp)["id"], "slow");

    // failed: the status object, 500 when asked for
    let resp = post_json(
        &h,
        "/orchestrators/flaky_chain/f?timeout=10&pollingInterval=1&returnInternalServerErrorOnFailure=true",
        "1",
    )
    .await;
    assert_eq!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json(&resp)["runtimeStatus"], "Failed");

    let resp = post_json(&h, "/orchestrators/echo?timeout=1&pollingInterval=2", "1").await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn waiting_is_woken_by_the_completion_not_the_poll() {
    let h = harness().await;
    let api = h.api.clone();
    let raise = tokio::spawn(async move {
        for _ in 0..200 {
            if let Ok(()) = api.client.raise_event("notified", "Go", &42).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let began = Instant::now();
    let resp = post_json(
        &h,
        "/orchestrators/wait_event/notified?timeout=30&pollingInterval=20",
        "null",
    )
    .await;
    raise.await.unwrap();
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(json(&resp), json!(42));
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "took {:?}: the wait was not woken by the completion",
        began.elapsed()
    );
}

#[tokio::test]
async fn management_payload_for_a_base_url_has_rewind_and_no_code_without_a_key() {
    let h = harness().await;
    let client = h
        .api
        .client
        .clone()
        .with_management(ManagementConfig::default());
    let p = client.create_http_management_payload("http://127.0.0.1:9/", "x y");
    assert_eq!(
        p.rewind_post_uri.as_deref(),
        Some(
            "http://127.0.0.1:9/runtime/webhooks/durabletask/instances/x+y/rewind?reason={text}\
             &taskHub=TestHubName&connection=Storage"
        )
    );
    assert!(!p.status_query_get_uri.contains("code="));
}
