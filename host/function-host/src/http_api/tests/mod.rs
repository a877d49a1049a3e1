//! The management API in process: requests built by hand, handled against a runtime over a
//! temporary SQLite task hub.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;

use super::{handle, DurableApi, WEBHOOK_PATH};
use crate::app::{FunctionApp, FunctionKind};
use durable_client::ManagementConfig;
use durable_engine::context::OrchestrationContext;
use durable_engine::failure::Failure;
use durable_engine::function::{activity_fn, orchestrator_fn, ActivityContext};
use durable_http::{HttpRequest, HttpResponse};
use durable_runtime::{Runtime, RuntimeOptions};
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

mod entities;
mod operations;
mod query_purge;
mod start_status;

/// Instances whose `flaky` activity already failed once.
fn failed_once() -> &'static Mutex<HashSet<String>> {
    static SET: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    SET.get_or_init(Default::default)
}

fn app() -> FunctionApp {
    let mut app = FunctionApp::default();
    let orchestrators = [
        (
            "echo",
            orchestrator_fn("echo", |_ctx: OrchestrationContext, v: Value| async move {
                Ok(v)
            }),
        ),
        (
            "wait_event",
            orchestrator_fn(
                "wait_event",
                |ctx: OrchestrationContext, _: Value| async move {
                    let v: Value = ctx.wait_for_external_event("Go").await?;
                    Ok(v)
                },
            ),
        ),
        (
            "flaky_chain",
            orchestrator_fn(
                "flaky_chain",
                |ctx: OrchestrationContext, n: i64| async move {
                    let a: i64 = ctx.call_activity_by_name("add_one", &n).await?;
                    let b: i64 = ctx.call_activity_by_name("flaky", &a).await?;
                    let c: i64 = ctx.call_activity_by_name("add_one", &b).await?;
                    Ok(c)
                },
            ),
        ),
    ];
    for (name, f) in orchestrators {
        app.add(name, FunctionKind::Orchestrator(f)).unwrap();
    }
    app.add(
        "add_one",
        FunctionKind::Activity(activity_fn(
            "add_one",
            |_c: ActivityContext, n: i64| async move { Ok(n + 1) },
        )),
    )
    .unwrap();
    app.add(
        "flaky",
        FunctionKind::Activity(activity_fn(
            "flaky",
            |c: ActivityContext, n: i64| async move {
                if failed_once().lock().unwrap().insert(c.instance_id.clone()) {
                    return Err(Failure::new("FlakyError", "the first attempt fails"));
                }
                Ok(n * 10)
            },
        )),
    )
    .unwrap();
    app.add("counter", FunctionKind::Entity(entities::counter()))
        .unwrap();
    app
}

/// A runtime and the API over it.
pub(super) struct Harness {
    _dir: tempfile::TempDir,
    _rt: Runtime,
    pub api: DurableApi,
}

pub(super) async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let app = Arc::new(app());
    let rt = Runtime::start(store, app.registry.clone(), RuntimeOptions::default())
        .await
        .unwrap();
    let client = rt.client().with_management(ManagementConfig {
        hub_name: "TestHub".into(),
        connection: "Storage".into(),
        system_key: Some("KEY".into()),
    });
    Harness {
        _dir: dir,
        _rt: rt,
        api: DurableApi { client, app },
    }
}

/// The base URL of generated links (the tests' Host header).
pub(super) const BASE: &str = "http://localhost:7071/runtime/webhooks/durabletask";

/// One request: `target` is the path after the webhook prefix, with its query.
pub(super) async fn call(
    h: &Harness,
    method: Method,
    target: &str,
    body: Option<(&str, &str)>,
) -> HttpResponse {
    // as an HTTP client would send it: spaces escaped
    let target = &target.replace(' ', "%20");
    let mut req = HttpRequest::new(method, format!("{WEBHOOK_PATH}{target}").parse().unwrap());
    req.headers
        .insert("host", HeaderValue::from_static("localhost:7071"));
    if let Some((content_type, body)) = body {
        req.headers
            .insert("content-type", HeaderValue::from_str(content_type).unwrap());
        req.body = body.to_string().into();
    }
    let path = target.split('?').next().unwrap();
    handle(&h.api, path, req).await
}

pub(super) async fn post_json(h: &Harness, target: &str, body: &str) -> HttpResponse {
    call(h, Method::POST, target, Some(("application/json", body))).await
}

pub(super) fn json(resp: &HttpResponse) -> Value {
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", resp.body))
}

pub(super) fn header<'a>(resp: &'a HttpResponse, name: &str) -> Option<&'a str> {
    resp.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every response is empty or JSON.
pub(super) fn assert_empty_or_json(resp: &HttpResponse) {
    if !resp.body.is_empty() {
        json(resp);
        assert!(header(resp, "content-type")
            .unwrap()
            .starts_with("application/json"));
    }
}

/// Polls the status until it is terminal.
pub(super) async fn wait_done(h: &Harness, id: &str) -> Value {
    let done = h
        .api
        .client
        .wait_for_completion(id, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(done.runtime_status.is_terminal());
    let resp = call(h, Method::GET, &format!("/instances/{id}"), None).await;
    json(&resp)
}

/// Waits until the instance has left `Pending` (it is running or further).
pub(super) async fn wait_started(h: &Harness, id: &str) {
    for _ in 0..400 {
        let s = h.api.client.get_status(id).await.unwrap().unwrap();
        if s.runtime_status != durable_engine::history::OrchestrationStatus::Pending {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{id} did not start");
}

#[tokio::test]
async fn unmatched_routes_and_fixed_endpoints() {
    let h = harness().await;
    for (method, target, code) in [
        (Method::GET, "/nothing", StatusCode::NOT_FOUND),
        (Method::GET, "/orchestrators/echo", StatusCode::NOT_FOUND),
        (Method::PUT, "/instances/x", StatusCode::NOT_FOUND),
        (Method::POST, "/instances/x/explode", StatusCode::NOT_FOUND),
        (Method::POST, "/makeprimary", StatusCode::OK),
        (Method::GET, "/MakePrimary", StatusCode::OK),
        (Method::GET, "/entities/counter/c1", StatusCode::NOT_FOUND),
    ] {
        let resp = call(&h, method.clone(), target, None).await;
        assert_eq!(resp.status, code, "{method} {target}");
        assert_empty_or_json(&resp);
        if code == StatusCode::NOT_FOUND {
            assert!(resp.body.is_empty());
        }
    }
}
