//! Raise event, terminate, suspend, resume, rewind and restart.

use http::{Method, StatusCode};
use serde_json::json;

use super::*;

async fn post(h: &Harness, target: &str) -> HttpResponse {
    let resp = call(h, Method::POST, target, None).await;
    assert_empty_or_json(&resp);
    resp
}

async fn status_of(h: &Harness, id: &str) -> String {
    h.api
        .client
        .get_status(id)
        .await
        .unwrap()
        .unwrap()
        .runtime_status
        .name()
        .to_string()
}

async fn wait_for(h: &Harness, id: &str, status: &str) {
    for _ in 0..500 {
        if status_of(h, id).await == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "{id} never became {status}; it is {}",
        status_of(h, id).await
    );
}

#[tokio::test]
async fn raise_event_checks_state_content_type_and_json() {
    let h = harness().await;
    let resp = post_json(&h, "/instances/none/raiseEvent/Go", "1").await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);

    post_json(&h, "/orchestrators/wait_event/ev", "null").await;
    let resp = call(
        &h,
        Method::POST,
        "/instances/ev/raiseEvent/Go",
        Some(("text/plain", "1")),
    )
    .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    let resp = post_json(&h, "/instances/ev/raiseEvent/Go", "{oops").await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_empty_or_json(&resp);
    // the Python client double-encodes: the event value is the string
    let resp = call(
        &h,
        Method::POST,
        "/instances/ev/raiseEvent/Go",
        Some(("application/json; charset=utf-8", r#""{\"ok\": true}""#)),
    )
    .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    assert!(resp.body.is_empty());
    let status = wait_done(&h, "ev").await;
    assert_eq!(status["output"], json!("{\"ok\": true}"));

    let resp = post_json(&h, "/instances/ev/raiseEvent/Go", "1").await;
    assert_eq!(resp.status, StatusCode::GONE);
    assert_empty_or_json(&resp);
}

#[tokio::test]
async fn suspend_resume_terminate_follow_the_state_rules() {
    let h = harness().await;
    for op in ["terminate", "suspend", "resume", "rewind"] {
        let resp = post(&h, &format!("/instances/ghost/{op}?reason=x")).await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{op}");
    }
    post_json(&h, "/orchestrators/wait_event/s1", "null").await;
    wait_started(&h, "s1").await;
    let resp = post(&h, "/instances/s1/resume?reason=early").await;
    assert_eq!(
        resp.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "resume a running one"
    );
    assert_eq!(
        post(&h, "/instances/s1/suspend?reason=pause").await.status,
        StatusCode::ACCEPTED
    );
    wait_for(&h, "s1", "Suspended").await;
    let resp = post(&h, "/instances/s1/suspend?reason=again").await;
    assert_eq!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(json(&resp)["ExceptionMessage"].is_string());
    let resp = call(&h, Method::GET, "/instances/s1", None).await;
    assert_eq!(
        resp.status,
        StatusCode::ACCEPTED,
        "suspended counts as running"
    );
    assert_eq!(
        post(&h, "/instances/s1/resume?reason=go").await.status,
        StatusCode::ACCEPTED
    );
    wait_for(&h, "s1", "Running").await;
    let resp = post(&h, "/instances/s1/rewind?reason=no").await;
    assert_eq!(
        resp.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "rewind a running one"
    );
    let resp = post(&h, "/instances/s1/terminate?reason=enough%20now").await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let status = wait_done(&h, "s1").await;
    assert_eq!(status["runtimeStatus"], "Terminated");
    assert_eq!(status["output"], "enough now");
    for op in ["terminate", "suspend", "resume", "rewind"] {
        let resp = post(&h, &format!("/instances/s1/{op}")).await;
        assert_eq!(resp.status, StatusCode::GONE, "{op}");
    }
}

#[tokio::test]
async fn rewind_retries_the_failed_activity_and_runs_on() {
    let h = harness().await;
    post_json(&h, "/orchestrators/flaky_chain/rw", "1").await;
    let failed = wait_done(&h, "rw").await;
    assert_eq!(failed["runtimeStatus"], "Failed");
    let store = h.api.client.store();
    let before = store.get_instance("rw").await.unwrap().unwrap();
    // reason arrives unencoded from the Python client
    let resp = post(&h, "/instances/rw/rewind?reason=fixed it").await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    wait_for(&h, "rw", "Completed").await;
    let after = store.get_instance("rw").await.unwrap().unwrap();
    assert_eq!(after.execution_id, before.execution_id);
    assert_eq!(after.output.as_deref(), Some("21"), "(1+1)*10+1");
    let body = json(
        &call(
            &h,
            Method::GET,
            "/instances/rw?showHistory=true&showHistoryOutput=true",
            None,
        )
        .await,
    );
    let types: Vec<&str> = body["historyEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskCompleted",
            "ExecutionRewound",
            "TaskCompleted",
            "TaskCompleted",
            "ExecutionCompleted"
        ]
    );
    let resp = post(&h, "/instances/rw/rewind").await;
    assert_eq!(
        resp.status,
        StatusCode::GONE,
        "completed instances are not rewound"
    );
}

#[tokio::test]
async fn restart_with_the_same_or_a_new_id() {
    let h = harness().await;
    let resp = post(&h, "/instances/ghost/restart").await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(json(&resp)["ExceptionMessage"].is_string());

    post_json(&h, "/orchestrators/echo/r1", r#"[1, 2]"#).await;
    wait_done(&h, "r1").await;
    let resp = post(&h, "/instances/r1/restart?restartWithNewInstanceId=false").await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    assert_eq!(json(&resp)["id"], "r1");
    assert!(header(&resp, "location")
        .unwrap()
        .contains("/instances/r1?"));
    let status = wait_done(&h, "r1").await;
    assert_eq!(status["output"], json!([1, 2]));

    let resp = post(&h, "/instances/r1/restart").await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let new_id = json(&resp)["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, "r1");
    assert_eq!(wait_done(&h, &new_id).await["input"], json!([1, 2]));

    let resp = post(&h, "/instances/r1/restart?timeout=10&pollingInterval=1").await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(json(&resp), json!([1, 2]));

    // a running instance cannot be restarted under its own id
    post_json(&h, "/orchestrators/wait_event/r2", "null").await;
    let resp = post(&h, "/instances/r2/restart?restartWithNewInstanceId=false").await;
    assert_eq!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
}
