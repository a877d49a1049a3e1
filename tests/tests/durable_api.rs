//! The built-in management API over real HTTP, against the `api-test-app` host binary: status
//! codes, headers, JSON shapes, bad input, wrong states and continuation paging.

mod durable_api_support;

use durable_api_support::App;
use serde_json::{json, Value};

#[test]
fn start_status_and_check_status_payload() {
    let app = App::start();
    let resp = app
        .api("POST", "/orchestrators/echo/order-1")
        .json(r#"{"a": 1}"#)
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    let body = resp.json();
    let base = format!(
        "{}/runtime/webhooks/durabletask/instances/order-1",
        app.origin()
    );
    let common = "taskHub=ApiTestHub&connection=Storage";
    assert_eq!(
        body,
        json!({
            "id": "order-1",
            "statusQueryGetUri": format!("{base}?{common}"),
            "sendEventPostUri": format!("{base}/raiseEvent/{{eventName}}?{common}"),
            "terminatePostUri": format!("{base}/terminate?reason={{text}}&{common}"),
            "purgeHistoryDeleteUri": format!("{base}?{common}"),
            "restartPostUri": format!("{base}/restart?{common}"),
            "suspendPostUri": format!("{base}/suspend?reason={{text}}&{common}"),
            "resumePostUri": format!("{base}/resume?reason={{text}}&{common}"),
        })
    );
    assert_eq!(resp.header("location"), body["statusQueryGetUri"].as_str());
    assert_eq!(resp.header("retry-after"), Some("10"));
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));

    let done = app.wait_done("order-1");
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(done["output"], json!({"a": 1}));
    let resp = app.api("GET", "/instances/order-1").send();
    assert_eq!(resp.status, 200);
    assert!(resp.header("location").is_none());
    let keys: Vec<String> = resp.json().as_object().unwrap().keys().cloned().collect();
    for k in [
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    ] {
        assert!(keys.contains(&k.to_string()), "{k} missing from {keys:?}");
    }

    // running: 202 with Location = the request URL and Retry-After 5
    app.api("POST", "/orchestrators/wait_event/w-1").send();
    let running = app.wait_status("w-1", |s| s == "Running");
    assert_eq!(running["input"], Value::Null);
    let resp = app
        .api("GET", "/instances/w-1?showHistory=True&showInput=True")
        .send();
    assert_eq!(resp.status, 202);
    assert_eq!(
        resp.header("location").unwrap(),
        format!(
            "{}/runtime/webhooks/durabletask/instances/w-1?showHistory=True&showInput=True",
            app.origin()
        )
    );
    assert_eq!(resp.header("retry-after"), Some("5"));
    let events = resp.json()["historyEvents"].as_array().unwrap().clone();
    assert_eq!(events[0]["EventType"], "ExecutionStarted");
    assert_eq!(events[0]["FunctionName"], "wait_event");

    // waiting start: the output directly
    let resp = app
        .api("POST", "/orchestrators/echo?timeout=20&pollingInterval=1")
        .json(r#"[1, "two"]"#)
        .send();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!([1, "two"]));
    let resp = app
        .api(
            "POST",
            "/orchestrators/wait_event?timeout=0.5&pollingInterval=0.1",
        )
        .send();
    assert_eq!(resp.status, 202);
    assert!(resp.json()["statusQueryGetUri"].is_string());
}

#[test]
fn bad_input_is_rejected_with_json_errors() {
    let app = App::start();
    let cases: Vec<(&str, String, Option<&str>, u16)> = vec![
        ("POST", "/orchestrators/no_such_function".into(), None, 400),
        ("POST", "/orchestrators/echo/@entity@id".into(), None, 400),
        ("POST", "/orchestrators/echo/a/b".into(), None, 400),
        ("POST", "/orchestrators/echo/a%3Fb".into(), None, 400),
        (
            "POST",
            format!("/orchestrators/echo/{}", "x".repeat(257)),
            None,
            400,
        ),
        (
            "POST",
            "/orchestrators/echo".into(),
            Some("{\"unterminated\": "),
            400,
        ),
        (
            "POST",
            "/orchestrators/echo?timeout=1&pollingInterval=5".into(),
            None,
            400,
        ),
        ("GET", "/instances?runtimeStatus=Bogus".into(), None, 400),
        // Every query parameter is checked for type and range.
        ("GET", "/instances?top=-5".into(), None, 400),
        ("GET", "/instances?top=0".into(), None, 400),
        ("GET", "/instances?top=many".into(), None, 400),
        ("GET", "/instances?top=1000000".into(), None, 400),
        ("GET", "/instances?showInput=maybe".into(), None, 400),
        (
            "GET",
            "/instances?createdTimeFrom=yesterday".into(),
            None,
            400,
        ),
        (
            "GET",
            "/instances?createdTimeFrom=2024-02-01&createdTimeTo=2024-01-01".into(),
            None,
            400,
        ),
        ("GET", "/instances?order=oldest".into(), None, 400),
        ("GET", "/instances/ghost?showHistory=1".into(), None, 400),
        (
            "GET",
            "/instances/ghost?returnInternalServerErrorOnFailure=yes".into(),
            None,
            400,
        ),
        (
            "DELETE",
            "/instances?createdTimeFrom=soon".into(),
            None,
            400,
        ),
        ("GET", "/entities?top=-1".into(), None, 400),
        ("GET", "/entities?fetchState=yes".into(), None, 400),
        (
            "GET",
            "/entities?lastOperationTimeFrom=never".into(),
            None,
            400,
        ),
        (
            "POST",
            "/orchestrators/echo?returnInternalServerErrorOnFailure=sure".into(),
            None,
            400,
        ),
        ("POST", "/orchestrators/echo?timeout=-1".into(), None, 400),
        ("DELETE", "/instances".into(), None, 400),
        ("POST", "/instances/ghost/restart".into(), None, 400),
        ("GET", "/instances/ghost".into(), None, 404),
        ("DELETE", "/instances/ghost".into(), None, 404),
        (
            "POST",
            "/instances/ghost/raiseEvent/Go".into(),
            Some("1"),
            404,
        ),
        (
            "POST",
            "/instances/ghost/terminate?reason=x".into(),
            None,
            404,
        ),
        ("POST", "/instances/ghost/rewind?reason=x".into(), None, 404),
        ("GET", "/no/such/route".into(), None, 404),
        ("PATCH", "/instances/ghost".into(), None, 404),
        ("POST", "/makeprimary".into(), None, 200),
        ("GET", "/entities/counter/c1".into(), None, 404),
        // Invalid UTF-8 in an id, an event name or the query is refused, never decoded
        // lossily (which would make different names the same).
        ("POST", "/orchestrators/echo/ab%FFcd".into(), None, 400),
        ("GET", "/instances/ab%FFcd".into(), None, 400),
        (
            "POST",
            "/instances/ghost/raiseEvent/%C0%AF".into(),
            Some("1"),
            400,
        ),
        (
            "POST",
            "/instances/ghost/terminate?reason=%FF%FE".into(),
            None,
            400,
        ),
    ];
    for (method, target, body, code) in cases {
        let mut req = app.api(method, &target);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send();
        assert_eq!(resp.status, code, "{method} {target}: {resp:?}");
        resp.assert_empty_or_json();
        if code == 400 {
            assert!(!resp.body.is_empty(), "{method} {target}: a 400 says why");
        }
        if code == 400 && target.contains('?') && !target.contains("%FF") {
            let message = resp.json()["ExceptionMessage"].clone();
            let name = target.split('?').nth(1).unwrap().split('=').next().unwrap();
            assert!(
                message.as_str().is_some_and(|m| m.contains(name)),
                "{method} {target}: {message}"
            );
        }
        if code == 400 && target.starts_with("/orchestrators") {
            let body = resp.json();
            assert!(body["Message"].is_string(), "{body}");
            if body["Message"] != "Invalid JSON content" {
                assert!(body["ExceptionMessage"].is_string(), "{body}");
            }
        }
    }
    // An entity operation's text input must be text.
    let resp = app
        .api("POST", "/entities/counter/c1?op=add")
        .bytes_with("text/plain", b"ab\xFFcd")
        .send();
    assert_eq!(resp.status, 400, "{resp:?}");
    let resp = app
        .api("POST", "/entities/counter/c1?op=add")
        .bytes_with("text/plain", b"abcd")
        .send();
    assert_eq!(resp.status, 202, "valid text is taken: {resp:?}");
    let resp = app.api("DELETE", "/instances/").send();
    assert_eq!(
        resp.json(),
        json!("Please provide value for 'createdTimeFrom' parameter.")
    );

    // already running → 500
    assert_eq!(
        app.api("POST", "/orchestrators/wait_event/dup")
            .send()
            .status,
        202
    );
    let resp = app.api("POST", "/orchestrators/wait_event/dup").send();
    assert_eq!(resp.status, 500);
    assert!(resp.json()["ExceptionMessage"]
        .as_str()
        .unwrap()
        .contains("dup"));
    // raise event needs application/json and valid JSON
    let resp = app
        .api("POST", "/instances/dup/raiseEvent/Go")
        .body_with("text/plain", "1")
        .send();
    assert_eq!(resp.status, 400);
    resp.assert_empty_or_json();
    let resp = app
        .api("POST", "/instances/dup/raiseEvent/Go")
        .json("{bad")
        .send();
    assert_eq!(resp.status, 400);
}

#[test]
fn events_and_lifecycle_operations() {
    let app = App::start();
    app.api("POST", "/orchestrators/wait_event/ev-1").send();
    app.wait_status("ev-1", |s| s == "Running");
    // suspend, suspend again (500), resume, resume again (500)
    assert_eq!(
        app.api("POST", "/instances/ev-1/suspend?reason=pause")
            .send()
            .status,
        202
    );
    app.wait_status("ev-1", |s| s == "Suspended");
    assert_eq!(
        app.api("POST", "/instances/ev-1/suspend?reason=again")
            .send()
            .status,
        500
    );
    let resp = app
        .api("POST", "/instances/ev-1/raiseEvent/Go")
        .json(r#"{"approved": true}"#)
        .send();
    assert_eq!(resp.status, 202, "events are kept while suspended");
    assert_eq!(
        app.api("POST", "/instances/ev-1/resume?reason=go")
            .send()
            .status,
        202
    );
    let done = app.wait_done("ev-1");
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(done["output"], json!({"approved": true}));
    for op in ["raiseEvent/Go", "terminate", "suspend", "resume", "rewind"] {
        let resp = app
            .api("POST", &format!("/instances/ev-1/{op}"))
            .json("1")
            .send();
        assert_eq!(resp.status, 410, "{op}");
        resp.assert_empty_or_json();
    }

    app.api("POST", "/orchestrators/wait_event/t-1").send();
    app.wait_status("t-1", |s| s == "Running");
    assert_eq!(app.api("POST", "/instances/t-1/resume").send().status, 500);
    assert_eq!(app.api("POST", "/instances/t-1/rewind").send().status, 500);
    let resp = app
        .api(
            "POST",
            "/instances/t-1/terminate?reason=no%20longer%20needed",
        )
        .send();
    assert_eq!(resp.status, 202);
    assert!(resp.body.is_empty());
    let done = app.wait_done("t-1");
    assert_eq!(done["runtimeStatus"], "Terminated");
    assert_eq!(done["output"], "no longer needed");

    // restart with the same id and with a new one
    let resp = app
        .api(
            "POST",
            "/instances/ev-1/restart?restartWithNewInstanceId=false",
        )
        .send();
    assert_eq!(resp.status, 202);
    assert_eq!(resp.json()["id"], "ev-1");
    let resp = app.api("POST", "/instances/t-1/restart").send();
    assert_eq!(resp.status, 202);
    let new_id = resp.json()["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, "t-1");
    app.wait_status(&new_id, |s| s == "Running");
}

#[test]
fn rewind_completes_a_failed_instance() {
    let app = App::start();
    app.api("POST", "/orchestrators/flaky_chain/rw-1")
        .json("4")
        .send();
    let failed = app.wait_done("rw-1");
    assert_eq!(failed["runtimeStatus"], "Failed");
    let resp = app
        .api(
            "GET",
            "/instances/rw-1?returnInternalServerErrorOnFailure=true",
        )
        .send();
    assert_eq!(resp.status, 500);
    assert_eq!(resp.json()["runtimeStatus"], "Failed");
    assert_eq!(
        app.api("POST", "/instances/rw-1/rewind?reason=fixed")
            .send()
            .status,
        202
    );
    let done = app.wait_status("rw-1", |s| s == "Completed");
    assert_eq!(done["output"], 51, "(4 + 1) * 10 + 1");
    let history = app
        .api(
            "GET",
            "/instances/rw-1?showHistory=true&showHistoryOutput=true",
        )
        .send()
        .json();
    let types: Vec<&str> = history["historyEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EventType"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"ExecutionRewound"), "{types:?}");
    assert!(!types.contains(&"TaskFailed"), "{types:?}");
    assert_eq!(types.last(), Some(&"ExecutionCompleted"));

    // an activity that always fails fails again after a rewind
    app.api("POST", "/orchestrators/always_fails/rw-2").send();
    app.wait_done("rw-2");
    assert_eq!(app.api("POST", "/instances/rw-2/rewind").send().status, 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = app
            .api("GET", "/instances/rw-2?showHistory=true")
            .send()
            .json();
        let rewound = status["historyEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["EventType"] == "ExecutionRewound");
        if rewound && status["runtimeStatus"] == "Failed" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn queries_page_with_continuation_tokens_and_purges() {
    let app = App::start();
    for i in 0..7 {
        app.api("POST", &format!("/orchestrators/echo/page-{i}"))
            .json(&i.to_string())
            .send();
    }
    app.api("POST", "/orchestrators/wait_event/page-running")
        .send();
    for i in 0..7 {
        app.wait_done(&format!("page-{i}"));
    }
    app.wait_status("page-running", |s| s == "Running");

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let mut req = app.api(
            "GET",
            "/instances/?instanceIdPrefix=page-&top=3&runtimeStatus=Completed,Failed",
        );
        if !token.is_empty() {
            req = req.header("x-ms-continuation-token", &token);
        }
        let resp = req.send();
        assert_eq!(resp.status, 200);
        pages += 1;
        for s in resp.json().as_array().unwrap() {
            seen.push(s["instanceId"].as_str().unwrap().to_string());
        }
        token = resp
            .header("x-ms-continuation-token")
            .expect("the continuation header is always present")
            .to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    let resp = app
        .api(
            "GET",
            "/instances?runtimeStatus=Running&runtimeStatus=Pending",
        )
        .send();
    let running = resp.json();
    assert_eq!(running.as_array().unwrap().len(), 1);
    assert_eq!(running[0]["instanceId"], "page-running");
    let resp = app
        .api("GET", "/instances")
        .header("x-ms-continuation-token", "garbage")
        .send();
    assert_eq!(resp.status, 400);

    // purge one, then by filter (terminal only)
    let resp = app.api("DELETE", "/instances/page-0").send();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"instancesDeleted": 1}));
    assert_eq!(app.api("DELETE", "/instances/page-0").send().status, 404);
    let from = "createdTimeFrom=2000-01-01T00:00:00.000000Z";
    let resp = app
        .api(
            "DELETE",
            &format!("/instances?{from}&runtimeStatus=Completed"),
        )
        .send();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"instancesDeleted": 6}));
    let resp = app.api("DELETE", &format!("/instances/?{from}")).send();
    assert_eq!(resp.status, 404);
    assert_eq!(app.api("GET", "/instances/page-running").send().status, 202);
}

/// A wait the caller cannot have (not a number, negative, longer than a day, or a polling
/// interval longer than the timeout) is a 400 before anything starts or restarts.
#[test]
fn a_bad_wait_is_refused_before_anything_starts() {
    let app = App::start();
    let queries = [
        "timeout=1e19&pollingInterval=1",
        "timeout=-1&pollingInterval=1",
        "timeout=abc&pollingInterval=1",
        "timeout=NaN&pollingInterval=1",
        "timeout=1&pollingInterval=5",
        "timeout=86401&pollingInterval=1",
    ];
    for (i, query) in queries.iter().enumerate() {
        let id = format!("bad-wait-{i}");
        let resp = app
            .api("POST", &format!("/orchestrators/echo/{id}?{query}"))
            .send();
        assert_eq!(resp.status, 400, "{query}: {resp:?}");
        let body = resp.json();
        assert!(body["ExceptionMessage"].is_string(), "{query}: {body}");
        let status = app.api("GET", &format!("/instances/{id}")).send().status;
        assert_eq!(status, 404, "{query}: nothing was started");
    }
    // A restart is checked before it restarts.
    assert_eq!(
        app.api("POST", "/orchestrators/echo/done").send().status,
        202
    );
    assert_eq!(app.wait_done("done")["runtimeStatus"], "Completed");
    let resp = app
        .api(
            "POST",
            "/instances/done/restart?restartWithNewInstanceId=false&timeout=1e19&pollingInterval=1",
        )
        .send();
    assert_eq!(resp.status, 400, "{resp:?}");
    let page = app.api("GET", "/instances").send().json();
    let ids: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["instanceId"].as_str())
        .collect();
    assert_eq!(ids, ["done"], "no restart happened");
    // A wait of a day at most is taken.
    let resp = app
        .api(
            "POST",
            "/orchestrators/echo/ok-wait?timeout=86400&pollingInterval=1",
        )
        .send();
    assert_eq!(resp.status, 200, "{resp:?}");
}
