//! Durable HTTP from outside, on the embedded store and on Azurite: the test runs its own HTTP
//! server on 127.0.0.1 and the `http-app` host calls it from an orchestration with
//! `ctx.call_http`. A request with headers and a body gets its answer (status, headers,
//! content) back, and both are in the instance's history; a 404 is an answer; a `202` with a
//! relative `Location` is polled after `Retry-After` (or host.json's
//! `defaultAsyncRequestSleepTimeMilliseconds`) until the final answer; the request's timeout
//! ends the polling; a closed port and a bad URI are errors the orchestration catches. A host
//! killed with SIGKILL while the orchestration waits between polls is replaced by a new one
//! on the same task hub, which goes on polling without sending the first request again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable::DurableHttpRequest;
use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};
use tests::http_server::{Answer, Received, TestServer};

const API: &str = "/runtime/webhooks/durabletask";
const HTTP_ACTIVITY: &str = "BuiltIn::HttpActivity";

/// How the test's server answers; `/slow/status` says 202 until `released`.
fn route(released: Arc<AtomicBool>) -> impl Fn(&Received, usize) -> Answer + Send + Sync {
    move |r, before| {
        let accepted = |location: &str| Answer::status(202).header("Location", location);
        match (r.method.as_str(), r.path()) {
            ("POST", "/echo") => Answer::status(201)
                .header("Content-Type", "text/plain")
                .header("X-Seen-Test", r.header("x-test").unwrap_or("none"))
                .header("X-Many", "a")
                .header("X-Many", "b")
                .body(&format!("echo: {}", r.body)),
            // 202 twice (the request, then the first poll), then 200
            ("POST", "/jobs") => accepted("jobs/1/status").header("Retry-After", "1"),
            ("GET", "/jobs/1/status") if before < 1 => {
                accepted("/jobs/1/status").header("Retry-After", "1")
            }
            ("GET", "/jobs/1/status") => Answer::status(200).body("finished"),
            // no Retry-After: host.json's default wait
            ("POST", "/default") => accepted("/default/status"),
            ("GET", "/default/status") => Answer::status(200).body("default done"),
            ("GET", "/forever" | "/forever/status") => {
                accepted("/forever/status").header("Retry-After", "1")
            }
            ("POST", "/slow") => accepted("/slow/status").header("Retry-After", "1"),
            ("GET", "/slow/status") if !released.load(Ordering::SeqCst) => {
                accepted("/slow/status").header("Retry-After", "1")
            }
            ("GET", "/slow/status") => Answer::status(200).body("after the restart"),
            _ => Answer::status(404).body("no such path"),
        }
    }
}

fn host_json(azure: bool) -> Value {
    let mut durable =
        json!({ "httpSettings": { "defaultAsyncRequestSleepTimeMilliseconds": 1500 } });
    if azure {
        // Short lease and visibility timing, should the new host have to wait for what the
        // killed one held: its leases lapse after 15 s (the shortest blob lease) and the
        // messages it had received show again after 20 s.
        durable["storageProvider"] = json!({
            "leaseInterval": "00:00:15",
            "leaseRenewInterval": "00:00:03",
            "leaseAcquireInterval": "00:00:02",
            "controlQueueVisibilityTimeout": "00:00:20",
            "workItemQueueVisibilityTimeout": "00:00:20",
        });
    }
    json!({ "version": "2.0", "extensions": { "durableTask": durable } })
}

/// Starts `fetch` with `request` under `id`.
fn start(host: &TestHost, id: &str, request: &DurableHttpRequest) {
    let r = host
        .call("POST", &format!("{API}/orchestrators/fetch/{id}"))
        .json(&serde_json::to_string(request).unwrap())
        .send();
    assert_eq!(r.status, 202, "{:?}\n{}", r.body, host.log());
}

/// The status (with history and its outputs) of `id`.
fn status(host: &TestHost, id: &str) -> Value {
    let r = host.get(&format!(
        "{API}/instances/{id}?showHistory=true&showHistoryOutput=true"
    ));
    assert!(matches!(r.status, 200 | 202), "{} {:?}", r.status, r.body);
    r.json()
}

/// Waits until `check` holds for the status of `id`; panics with the host's log after `limit`.
fn wait_until(host: &TestHost, id: &str, limit: Duration, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let s = status(host, id);
        assert_ne!(s["runtimeStatus"], "Failed", "{s:#}\n{}", host.log());
        if check(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{id}: {s:#}\n{}", host.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The output of `id` once it completed.
fn output(host: &TestHost, id: &str, limit: Duration) -> Value {
    wait_until(host, id, limit, |s| s["runtimeStatus"] == "Completed")["output"].clone()
}

/// The history events of a status (empty without history).
fn history(status: &Value) -> Vec<Value> {
    status["historyEvents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The durable HTTP requests and answers in a status's history, in order.
fn http_calls(status: &Value) -> Vec<(Value, Value)> {
    history(status)
        .iter()
        .filter(|e| e["EventType"] == "TaskCompleted" && e["FunctionName"] == HTTP_ACTIVITY)
        .map(|e| {
            let request = match &e["Input"] {
                Value::String(text) => serde_json::from_str(text).unwrap(),
                other => other.clone(),
            };
            (request, e["Result"].clone())
        })
        .collect()
}

/// The waits of the durable timers in a status's history (due time minus creation), in ms.
fn timer_waits(status: &Value) -> Vec<i64> {
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    history(status)
        .iter()
        .filter(|e| e["EventType"] == "TimerCreated")
        .map(|e| (time(&e["FireAt"]) - time(&e["Timestamp"])).num_milliseconds())
        .collect()
}

fn app(values: &Value, azure: bool) -> AppDir {
    AppDir::new(
        env!("CARGO_BIN_EXE_http-app"),
        values.clone(),
        Some(host_json(azure)),
    )
}

fn calls_are_answered_and_recorded(values: Value, azure: bool) {
    let server = TestServer::start(route(Arc::default()));
    let dir = app(&values, azure);
    let host = TestHost::start(&dir, &[]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);

    let plain = DurableHttpRequest::post(server.url("/echo?x=1"), "hello")
        .with_header("X-Test", "yes")
        .with_header("Content-Type", "text/plain");
    start(&host, "plain", &plain);
    start(
        &host,
        "missing",
        &DurableHttpRequest::get(server.url("/nope")),
    );
    start(
        &host,
        "jobs",
        &DurableHttpRequest::post(server.url("/jobs"), "{}"),
    );
    start(
        &host,
        "default",
        &DurableHttpRequest::post(server.url("/default"), ""),
    );
    let forever =
        DurableHttpRequest::get(server.url("/forever")).with_timeout(Duration::from_secs(3));
    start(&host, "forever", &forever);
    let refused = format!("http://127.0.0.1:{closed_port}/refused");
    start(&host, "refused", &DurableHttpRequest::get(&refused));
    start(&host, "invalid", &DurableHttpRequest::get("not a uri"));
    let limit = Duration::from_secs(60);

    // A request with headers and a body: its answer, and both in history.
    let out = output(&host, "plain", limit);
    let answer = &out["answer"];
    assert_eq!(answer["statusCode"], 201, "{out}");
    assert_eq!(answer["content"], "echo: hello");
    assert_eq!(answer["headers"]["x-seen-test"], "yes");
    assert_eq!(answer["headers"]["x-many"], json!(["a", "b"]));
    assert_eq!(answer["headers"]["content-type"], "text/plain");
    let seen = server.received();
    let echo = seen.iter().find(|r| r.path() == "/echo").unwrap();
    assert_eq!(
        (echo.method.as_str(), echo.target.as_str()),
        ("POST", "/echo?x=1")
    );
    assert_eq!(
        (echo.header("x-test"), echo.body.as_str()),
        (Some("yes"), "hello")
    );
    let calls = http_calls(&status(&host, "plain"));
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let (request, response) = &calls[0];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["uri"], server.url("/echo?x=1"));
    assert_eq!(request["headers"]["X-Test"], "yes");
    assert_eq!(request["content"], "hello");
    assert_eq!(response, answer);

    // A 404 is an answer.
    let out = output(&host, "missing", limit);
    assert_eq!(out["answer"]["statusCode"], 404, "{out}");
    assert_eq!(out["answer"]["content"], "no such path");

    // 202, 202, 200: polled at the relative Location after Retry-After.
    let out = output(&host, "jobs", limit);
    assert_eq!(out["answer"]["statusCode"], 200, "{out}");
    assert_eq!(out["answer"]["content"], "finished");
    assert_eq!(server.count("POST", "/jobs"), 1);
    assert_eq!(server.count("GET", "/jobs/1/status"), 2);
    let jobs = status(&host, "jobs");
    let statuses: Vec<Value> = http_calls(&jobs)
        .into_iter()
        .map(|(_, r)| r["statusCode"].clone())
        .collect();
    assert_eq!(statuses, [json!(202), json!(202), json!(200)]);
    let uris: Vec<String> = http_calls(&jobs)
        .iter()
        .map(|(q, _)| {
            format!(
                "{} {}",
                q["method"].as_str().unwrap(),
                q["uri"].as_str().unwrap()
            )
        })
        .collect();
    let poll = format!("GET {}", server.url("/jobs/1/status"));
    assert_eq!(
        uris,
        [format!("POST {}", server.url("/jobs")), poll.clone(), poll]
    );
    assert_eq!(timer_waits(&jobs), [1000, 1000]);

    // No Retry-After: host.json's defaultAsyncRequestSleepTimeMilliseconds.
    let out = output(&host, "default", limit);
    assert_eq!(out["answer"]["content"], "default done", "{out}");
    assert_eq!(timer_waits(&status(&host, "default")), [1500]);

    // The timeout ends the polling.
    let out = output(&host, "forever", limit);
    let what = out["timedOut"].as_str().unwrap_or_else(|| panic!("{out}"));
    assert!(
        what.contains(&format!("GET {}", server.url("/forever"))),
        "{what}"
    );
    assert_eq!(server.count("GET", "/forever"), 1, "the first request once");

    // No answer at all, and a request that cannot be sent: errors the orchestration caught.
    let out = output(&host, "refused", limit);
    assert_eq!(out["failed"], "HttpRequestFailed", "{out}");
    let message = out["message"].as_str().unwrap();
    assert!(message.contains(&refused), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    let out = output(&host, "invalid", limit);
    assert!(
        out["invalid"]
            .as_str()
            .unwrap_or_default()
            .contains("not a uri"),
        "{out}"
    );
    assert!(http_calls(&status(&host, "invalid")).is_empty());
    host.stop();
}

fn a_restart_while_polling_sends_nothing_twice(values: Value, azure: bool) {
    let released = Arc::new(AtomicBool::new(false));
    let server = TestServer::start(route(Arc::clone(&released)));
    let dir = app(&values, azure);
    let host = TestHost::start(&dir, &[]);
    start(
        &host,
        "slow",
        &DurableHttpRequest::post(server.url("/slow"), "once"),
    );
    // The 202 is in history and the orchestration waits on its polling timer.
    wait_until(&host, "slow", Duration::from_secs(60), |s| {
        !timer_waits(s).is_empty()
    });
    host.signal(libc::SIGKILL);
    let mut host = host;
    host.wait_exit(Duration::from_secs(30));
    drop(host);

    let host = TestHost::start(&dir, &[]);
    released.store(true, Ordering::SeqCst);
    // Only the new host can finish the polling: the answer it waits for comes after the kill.
    let out = output(&host, "slow", Duration::from_secs(120));
    assert_eq!(out["answer"]["statusCode"], 200, "{out}");
    assert_eq!(out["answer"]["content"], "after the restart");
    assert_eq!(
        server.count("POST", "/slow"),
        1,
        "the first request is sent once"
    );
    let calls = http_calls(&status(&host, "slow"));
    assert_eq!(
        calls.iter().filter(|(q, _)| q["method"] == "POST").count(),
        1
    );
    assert_eq!(calls.last().unwrap().1["statusCode"], 200);
    host.stop();
}

#[test]
fn durable_http_calls_on_sqlite() {
    calls_are_answered_and_recorded(json!({}), false);
}

#[test]
fn durable_http_survives_a_restart_while_polling_on_sqlite() {
    a_restart_while_polling_sends_nothing_twice(json!({}), false);
}

fn azurite_values(prefix: &str) -> Value {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    json!({
        "AzureWebJobsStorage": azurite.connection_string(),
        "TaskHubName": format!("{prefix}{}", rand::random::<u32>()),
    })
}

#[test]
fn durable_http_calls_on_azurite() {
    calls_are_answered_and_recorded(azurite_values("Http"), true);
}

#[test]
fn durable_http_survives_a_restart_while_polling_on_azurite() {
    a_restart_while_polling_sends_nothing_twice(azurite_values("HttpRestart"), true);
}
