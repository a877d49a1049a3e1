//! Execution logs, read from outside: the real host's JSON log lines at the default level say
//! when each orchestration starts and how it ends, with the failure's message for every way
//! user code goes wrong (bad input, a bad event payload, a non-durable await, an activity that
//! keeps failing with its retries, a misspelt entity operation), and carry the execution's
//! span, so a user's own line inside an activity names its function and instance. At
//! `durable=debug` each activity's start and end appear too; after a SIGKILL the next host
//! says what it resumed.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

fn app() -> AppDir {
    AppDir::new(
        env!("CARGO_BIN_EXE_log-app"),
        json!({"TaskHubName": "Logs"}),
        None,
    )
}

/// Every JSON line the host logged so far.
fn log_lines(host: &TestHost) -> Vec<Value> {
    host.log()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The log lines once `ready` holds for them. An orchestration's lines are written just
/// after its episode commits, so they may trail its status by a moment.
fn wait_for_lines(host: &TestHost, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = log_lines(host);
        if ready(&lines) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "the expected lines are missing:\n{}",
            host.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines with `message`, in the span of `instance_id`.
fn of<'a>(lines: &'a [Value], message: &str, instance_id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["message"] == message && l["span"]["instance_id"] == instance_id)
        .collect()
}

fn start(host: &TestHost, name: &str, id: &str, input: &str) {
    let r = host
        .call("POST", &format!("{API}/orchestrators/{name}/{id}"))
        .json(input)
        .send();
    assert_eq!(r.status, 202, "{:?}", r.body);
}

/// The one `orchestration failed` line of `id`: at ERROR, naming the function, with an error
/// that contains `hint`.
fn assert_failed(lines: &[Value], id: &str, function: &str, hint: &str) {
    let failed = of(lines, "orchestration failed", id);
    assert_eq!(failed.len(), 1, "{id}: {failed:#?}");
    let line = failed[0];
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["span"]["function"], function, "{line}");
    assert_eq!(line["span"]["trigger"], "orchestration", "{line}");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(error.contains(hint), "{hint:?} not in {line}");
}

#[test]
fn the_default_level_tells_each_orchestrations_story_and_debug_each_step() {
    let dir = app();
    let json_logs = [("DurableLogFormat", "json")];
    let host = TestHost::start(&dir, &json_logs);

    start(&host, "typed_input", "bad-input", r#"{"wrong": 1}"#);
    start(&host, "typed_event", "bad-event", "null");
    start(&host, "non_durable", "not-durable", "null");
    start(&host, "retrying", "retries", "null");
    start(&host, "greet", "greets", r#""Ada""#);
    start(&host, "misspelt", "misspelt", "null");
    start(&host, "patient", "patient", "null");
    host.wait_for_status("bad-event", "Running", None);
    let raised = host
        .call(
            "POST",
            &format!("{API}/instances/bad-event/raiseEvent/amount"),
        )
        .json(r#""abc""#)
        .send();
    assert_eq!(raised.status, 202, "{:?}", raised.body);
    for id in [
        "bad-input",
        "bad-event",
        "not-durable",
        "retries",
        "misspelt",
    ] {
        host.wait_for_status(id, "Failed", None);
    }
    host.wait_for_status("greets", "Completed", None);

    assert_eq!(host.get("/api/ping").status, 200);
    let lines = wait_for_lines(&host, |lines| {
        [
            "bad-input",
            "bad-event",
            "not-durable",
            "retries",
            "misspelt",
        ]
        .iter()
        .all(|id| !of(lines, "orchestration failed", id).is_empty())
            && !of(lines, "orchestration completed", "greets").is_empty()
    });
    assert_failed(&lines, "bad-input", "typed_input", "missing field `id`");
    assert_failed(&lines, "bad-event", "typed_event", "abc");
    assert_failed(&lines, "not-durable", "non_durable", "not durable");
    assert_failed(&lines, "retries", "retrying", "downstream service is down");
    assert_failed(&lines, "misspelt", "misspelt", "\"ad\"");

    // Every instance says it started, once, with what started it.
    for id in ["bad-input", "bad-event", "not-durable", "retries", "greets"] {
        let started = of(&lines, "orchestration started", id);
        assert_eq!(started.len(), 1, "{id}: {started:#?}");
        assert_eq!(started[0]["level"], "INFO");
        assert_eq!(started[0]["reason"], "ExecutionStarted", "{}", started[0]);
    }
    let completed = of(&lines, "orchestration completed", "greets");
    assert_eq!(completed.len(), 1, "{completed:#?}");
    assert_eq!(completed[0]["span"]["function"], "greet");
    assert!(completed[0]["duration_ms"].is_u64(), "{}", completed[0]);

    // Three failed attempts of the activity, and two retries with their attempt numbers.
    let failed = of(&lines, "activity failed", "retries");
    assert_eq!(failed.len(), 3, "{failed:#?}");
    for line in &failed {
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["span"]["function"], "flaky");
        assert_eq!(line["error_type"], "Unavailable");
    }
    let retries = of(&lines, "call failed; retrying", "retries");
    let attempts: Vec<&Value> = retries.iter().map(|l| &l["attempt"]).collect();
    assert_eq!(attempts, [&json!(1), &json!(2)], "{retries:#?}");
    assert!(retries
        .iter()
        .all(|l| l["level"] == "WARN" && l["task"] == "flaky" && l["max_attempts"] == 3));

    // The misspelt operation, at the entity.
    let entity = lines
        .iter()
        .find(|l| l["message"] == "entity operation failed")
        .unwrap_or_else(|| panic!("no entity failure in {lines:#?}"));
    assert_eq!(entity["level"], "WARN");
    assert_eq!(entity["operation"], "ad");
    assert_eq!(entity["span"]["trigger"], "entity");
    assert_eq!(entity["span"]["function"], "tally");

    // The user's own line inside an activity names the activity and its instance.
    let own = lines
        .iter()
        .find(|l| l["message"] == "chatty says hello")
        .unwrap_or_else(|| panic!("the activity's own line is missing"));
    assert_eq!(own["span"]["function"], "chatty");
    assert_eq!(own["span"]["trigger"], "activity");
    assert_eq!(own["span"]["instance_id"], "greets");
    assert_eq!(own["name"], "Ada");

    // An HTTP function: its run, and its own line in its span.
    let http = log_lines(&host);
    let ping = |message: &str| {
        http.iter()
            .find(|l| l["message"] == message && l["span"]["function"] == "ping")
            .unwrap_or_else(|| panic!("no {message:?} line of the HTTP function"))
            .clone()
    };
    assert_eq!(ping("executing")["reason"], "GET /api/ping");
    let executed = ping("executed");
    assert_eq!(executed["status"], 200);
    assert_eq!(executed["outcome"], "Succeeded");
    assert_eq!(executed["span"]["trigger"], "http");
    assert_eq!(ping("ping received")["level"], "INFO");

    // Not noisy: no line per step at the default level.
    assert!(
        lines.iter().all(|l| l["level"] != "DEBUG"),
        "debug lines at the default level"
    );
    assert!(of(&lines, "executing", "greets").is_empty());

    // A host killed while an activity runs; the next one, at debug, says what it resumed and
    // logs each step.
    let raised = host
        .call("POST", &format!("{API}/instances/patient/raiseEvent/go"))
        .json("null")
        .send();
    assert_eq!(raised.status, 202);
    std::thread::sleep(Duration::from_secs(1));
    host.signal(libc::SIGKILL);
    drop(host);

    let host = TestHost::start(
        &dir,
        &[
            ("DurableLogFormat", "json"),
            ("RUST_LOG", "info,durable=debug"),
        ],
    );
    host.wait_for_status("patient", "Completed", None);
    let lines = wait_for_lines(&host, |lines| {
        !of(lines, "orchestration completed", "patient").is_empty()
    });
    let resumed = lines
        .iter()
        .find(|l| l["message"] == "resuming the work waiting in the task hub")
        .unwrap_or_else(|| panic!("no resume line in {lines:#?}"));
    let waiting = resumed["orchestration_messages"].as_u64().unwrap()
        + resumed["activity_requests"].as_u64().unwrap();
    assert!(waiting >= 1, "{resumed}");
    for message in ["executing", "executed"] {
        let step = lines
            .iter()
            .find(|l| {
                l["message"] == message
                    && l["span"]["function"] == "slow"
                    && l["span"]["instance_id"] == "patient"
            })
            .unwrap_or_else(|| panic!("no {message} line of the activity in {lines:#?}"));
        assert_eq!(step["level"], "DEBUG");
    }
    let executed = of(&lines, "executed", "patient");
    assert!(
        executed.iter().any(|l| l["outcome"] == "Succeeded"
            && l["span"]["trigger"] == "activity"
            && l["duration_ms"].as_u64() >= Some(2_900)),
        "{executed:#?}"
    );
    assert_eq!(of(&lines, "orchestration completed", "patient").len(), 1);
    host.stop();
}
