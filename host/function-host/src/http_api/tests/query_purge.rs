//! Instance queries with paging, and purges.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;

async fn get(h: &Harness, target: &str, token: Option<&str>) -> HttpResponse {
    let mut req = HttpRequest::new(
        Method::GET,
        format!("{WEBHOOK_PATH}{target}").parse().unwrap(),
    );
    if let Some(t) = token {
        req.headers
            .insert("x-ms-continuation-token", HeaderValue::from_str(t).unwrap());
    }
    handle(&h.api, target.split('?').next().unwrap(), req).await
}

#[tokio::test]
async fn queries_filter_and_page() {
    let h = harness().await;
    for i in 0..5 {
        post_json(&h, &format!("/orchestrators/echo/q-{i}"), &i.to_string()).await;
        wait_done(&h, &format!("q-{i}")).await;
    }
    post_json(&h, "/orchestrators/wait_event/q-running", "null").await;
    wait_started(&h, "q-running").await;
    post_json(&h, "/orchestrators/echo/other", "null").await;
    wait_done(&h, "other").await;

    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let resp = get(
            &h,
            "/instances/?instanceIdPrefix=q-&top=2&runtimeStatus=Completed",
            token.as_deref(),
        )
        .await;
        assert_eq!(resp.status, StatusCode::OK);
        pages += 1;
        for s in json(&resp).as_array().unwrap() {
            assert_eq!(s["runtimeStatus"], "Completed");
            assert!(s.get("historyEvents").is_none());
            ids.push(s["instanceId"].as_str().unwrap().to_string());
        }
        let next = header(&resp, "x-ms-continuation-token").unwrap();
        if next.is_empty() {
            break;
        }
        token = Some(next.to_string());
    }
    assert_eq!(ids, ["q-0", "q-1", "q-2", "q-3", "q-4"]);
    assert_eq!(pages, 3);

    let resp = get(
        &h,
        "/instances?runtimeStatus=Running&runtimeStatus=Pending",
        None,
    )
    .await;
    let running: Vec<Value> = json(&resp).as_array().unwrap().clone();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0]["instanceId"], "q-running");

    let resp = get(&h, "/instances?instanceIdPrefix=q-&showInput=false", None).await;
    let all = json(&resp);
    assert_eq!(all.as_array().unwrap().len(), 6);
    assert!(all.as_array().unwrap().iter().all(|s| s["input"].is_null()));

    let resp = get(&h, "/instances?createdTimeFrom=2999-01-01T00:00:00Z", None).await;
    assert_eq!(json(&resp), json!([]));
    assert_eq!(header(&resp, "x-ms-continuation-token"), Some(""));

    let resp = get(&h, "/instances?runtimeStatus=Sleeping", None).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    let resp = get(&h, "/instances", Some("not-a-token")).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn purges_one_and_by_filter() {
    let h = harness().await;
    for id in ["p-1", "p-2", "p-3"] {
        post_json(&h, &format!("/orchestrators/echo/{id}"), "1").await;
        wait_done(&h, id).await;
    }
    post_json(&h, "/orchestrators/wait_event/p-running", "null").await;

    let resp = call(&h, Method::DELETE, "/instances/p-1", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(json(&resp), json!({"instancesDeleted": 1}));
    let resp = call(&h, Method::DELETE, "/instances/p-1", None).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert!(resp.body.is_empty());

    let resp = call(&h, Method::DELETE, "/instances/", None).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(&resp),
        json!("Please provide value for 'createdTimeFrom' parameter.")
    );
    let resp = call(
        &h,
        Method::DELETE,
        "/instances?createdTimeFrom=garbage",
        None,
    )
    .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);

    // only non-terminal statuses asked for: nothing is deleted
    let from = "createdTimeFrom=2000-01-01T00:00:00.000000Z";
    let resp = call(
        &h,
        Method::DELETE,
        &format!("/instances?{from}&runtimeStatus=Running"),
        None,
    )
    .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);

    let resp = call(
        &h,
        Method::DELETE,
        &format!("/instances?{from}&runtimeStatus=Completed,Failed"),
        None,
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(json(&resp), json!({"instancesDeleted": 2}));
    let resp = call(&h, Method::DELETE, &format!("/instances?{from}"), None).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    // the running instance is still there
    let resp = call(&h, Method::GET, "/instances/p-running", None).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
}
