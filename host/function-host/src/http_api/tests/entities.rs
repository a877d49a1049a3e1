//! `/entities/...` in process: signal, read, list, delete, and bad input.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::{assert_empty_or_json, call, harness, header, json, post_json, Harness};
use durable_engine::entity::{entity_fn, EntityFn};
use durable_engine::failure::Failure;

/// A counter of JSON values: `add` (number), `set` (any), `get`, `delete`.
pub(super) fn counter() -> EntityFn {
    entity_fn(|ctx| {
        let value: Value = ctx.get_state(|| json!(0))?;
        match ctx.operation_name() {
            "add" => {
                let n: i64 = ctx.get_input()?;
                ctx.set_state(&json!(value.as_i64().unwrap_or(0) + n))
            }
            "set" => {
                let v: Value = ctx.get_input()?;
                ctx.set_state(&v)
            }
            "get" => ctx.set_result(&value),
            "delete" => {
                ctx.delete_state();
                Ok(())
            }
            op => Err(Failure::new("UnknownOperation", op.to_string())),
        }
    })
}

async fn read_until(h: &Harness, target: &str, want: StatusCode, body: Option<Value>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = call(h, Method::GET, target, None).await;
        let ok = resp.status == want && body.as_ref().is_none_or(|b| &json(&resp) == b);
        if ok {
            assert_empty_or_json(&resp);
            return;
        }
        assert!(Instant::now() < deadline, "{target}: {:?}", resp.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signal_read_list_and_delete() {
    let h = harness().await;
    assert_eq!(
        call(&h, Method::GET, "/entities/counter/c1", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for _ in 0..3 {
        let resp = post_json(&h, "/entities/counter/c1?op=add", "2").await;
        assert_eq!(resp.status, StatusCode::ACCEPTED);
    }
    read_until(&h, "/entities/counter/c1", StatusCode::OK, Some(json!(6))).await;
    // text bodies are strings; `$` is the empty key
    let resp = call(
        &h,
        Method::POST,
        "/entities/Counter/$?op=set",
        Some(("text/plain", "hello")),
    )
    .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    read_until(
        &h,
        "/entities/counter/$",
        StatusCode::OK,
        Some(json!("hello")),
    )
    .await;

    let resp = call(&h, Method::GET, "/entities/counter?fetchState=true", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(header(&resp, "x-ms-continuation-token"), Some(""));
    let listed = json(&resp);
    let entries = listed.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{listed}");
    assert_eq!(
        entries[0]["entityId"],
        json!({"name": "counter", "key": ""})
    );
    assert_eq!(entries[0]["state"], json!("hello"));
    assert_eq!(
        entries[1]["entityId"],
        json!({"name": "counter", "key": "c1"})
    );
    assert!(entries[1]["lastOperationTime"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let resp = call(&h, Method::GET, "/entities/", None).await;
    assert!(
        json(&resp)[0].get("state").is_none(),
        "state only with fetchState"
    );

    let resp = call(&h, Method::DELETE, "/entities/counter/c1", None).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    read_until(&h, "/entities/counter/c1", StatusCode::NOT_FOUND, None).await;
    let resp = call(&h, Method::GET, "/entities/counter", None).await;
    assert_eq!(json(&resp).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_input() {
    let h = harness().await;
    for (method, target, body, code) in [
        (
            Method::POST,
            "/entities/counter/c1",
            None,
            StatusCode::BAD_REQUEST,
        ), // no op
        (
            Method::POST,
            "/entities/counter/c1?op=add",
            Some(("application/json", "{x")),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/entities/a%40b/c1?op=add",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/entities/counter/a%23b",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/entities/nobody/k",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            "/entities/counter/c1",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/entities/counter/c1/x",
            None,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let resp = call(&h, method.clone(), target, body).await;
        assert_eq!(resp.status, code, "{method} {target}");
        assert_empty_or_json(&resp);
    }
}
