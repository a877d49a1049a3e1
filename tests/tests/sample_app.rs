//! The sample app's patterns, driven over HTTP against the real `functions` binary.

use std::time::Duration;

use serde_json::{json, Value};
use tests::sample_app::SampleApp;

const WAIT: Duration = Duration::from_secs(30);

/// Starts an orchestrator through the generic starter; returns its instance id.
fn start(app: &SampleApp, orchestrator: &str, input: Option<Value>) -> String {
    let path = format!("/api/orchestrators/{orchestrator}");
    let r = match input {
        Some(v) => app.post_json(&path, &v),
        None => app.host.request("POST", &path, &[], b""),
    };
    assert_eq!(r.status, 202, "{r:?}");
    let body = r.json();
    assert_eq!(r.header("location"), body["statusQueryGetUri"].as_str());
    body["id"].as_str().unwrap().to_string()
}

#[test]
fn chaining_greets_three_cities_in_order() {
    let app = SampleApp::start(json!({}));
    let id = start(&app, "hello_cities", None);
    let done = app.wait_for_instance(&id, WAIT);
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(
        done["output"],
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
}

#[test]
fn fan_out_fan_in_sums_the_doubled_items_computed_in_parallel() {
    let app = SampleApp::start(json!({}));
    let id = start(&app, "fan_out_fan_in", Some(json!(20)));
    assert_eq!(app.wait_for_instance(&id, WAIT)["output"], json!(420));
    let default = start(&app, "fan_out_fan_in", None);
    assert_eq!(app.wait_for_instance(&default, WAIT)["output"], json!(110));

    // Every F2 was scheduled before any of them finished: they ran in parallel.
    let r = app.host.get(&format!(
        "/runtime/webhooks/durabletask/instances/{id}?showHistory=true"
    ));
    let history = r.json()["historyEvents"].as_array().unwrap().clone();
    let f2: Vec<&Value> = history
        .iter()
        .filter(|e| e["FunctionName"] == "f2_double")
        .collect();
    assert_eq!(f2.len(), 20);
    let time = |e: &Value, key: &str| e[key].as_str().unwrap().to_string(); // ISO 8601 sorts
    let last_scheduled = f2.iter().map(|e| time(e, "ScheduledTime")).max().unwrap();
    let first_done = f2.iter().map(|e| time(e, "Timestamp")).min().unwrap();
    assert!(
        last_scheduled < first_done,
        "an F2 finished before all were scheduled: {f2:?}"
    );
}

#[test]
fn async_http_api_reports_progress_then_the_decision() {
    let app = SampleApp::start(json!({}));
    let r = app.post_json(
        "/api/submissions",
        &json!({"title": "Durable Rust", "speaker": "Ada"}),
    );
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.header("retry-after"), Some("1"));
    let location = r.header("location").unwrap().to_string();
    let body = r.json();
    let id = body["id"].as_str().unwrap();
    assert!(location.ends_with(&format!("/api/submissions/{id}")));
    let text = String::from_utf8_lossy(&r.body).to_string();
    assert!(
        !text.contains("webhooks") && !text.contains("code="),
        "{text}"
    );

    let path = location
        .split_once("127.0.0.1")
        .map_or(location.as_str(), |(_, rest)| {
            rest.split_once('/').map_or(rest, |(_, p)| p)
        });
    let path = format!("/{}", path.trim_start_matches('/'));
    let mut stages = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    let final_status = loop {
        let s = app.host.get(&path);
        let status = s.json();
        assert!(
            status.get("statusQueryGetUri").is_none(),
            "management URLs leak: {status}"
        );
        if s.status == 200 {
            break status;
        }
        assert_eq!(s.status, 202, "{s:?}");
        assert_eq!(s.header("location"), Some(location.as_str()));
        if let Some(stage) = status["customStatus"]["stage"].as_str() {
            if stages.last().map(String::as_str) != Some(stage) {
                stages.push(stage.to_string());
            }
        }
        assert!(std::time::Instant::now() < deadline, "no decision in time");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(final_status["runtimeStatus"], "Completed");
    assert_eq!(final_status["output"]["decision"], "accepted");
    assert_eq!(final_status["customStatus"]["stage"], "done");
    assert!(stages.len() >= 2, "progress was not visible: {stages:?}");

    let bad = app.post_json("/api/submissions", &json!({"title": "No speaker"}));
    assert_eq!(bad.status, 400);
    assert!(!bad.error_message().is_empty());
    let unknown = app.host.get("/api/submissions/nope");
    assert_eq!(unknown.status, 404);
}

#[test]
fn monitor_polls_until_the_job_completes_or_the_monitor_expires() {
    let app = SampleApp::start(json!({}));
    let watched = start(
        &app,
        "monitor_job",
        Some(json!({"job_id": "job-1", "polling_interval_seconds": 1, "expiry_seconds": 60})),
    );
    let expiring = start(
        &app,
        "monitor_job",
        Some(json!({"job_id": "job-2", "polling_interval_seconds": 1, "expiry_seconds": 2})),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let r = app.post_json("/api/jobs/job-1/status", &json!("Completed"));
    assert_eq!(r.status, 204, "{r:?}");
    let done = app.wait_for_instance(&watched, WAIT);
    assert_eq!(done["output"]["outcome"], "completed");
    assert!(done["output"]["checks"].as_u64().unwrap() >= 2, "{done}");
    let expired = app.wait_for_instance(&expiring, WAIT);
    assert_eq!(expired["output"]["outcome"], "expired");
}

#[test]
fn human_interaction_is_approved_rejected_or_escalated() {
    let app = SampleApp::start(json!({}));
    let approve = start(
        &app,
        "approval_workflow",
        Some(json!({"timeout_seconds": 60})),
    );
    let reject = start(
        &app,
        "approval_workflow",
        Some(json!({"timeout_seconds": 60})),
    );
    let ignore = start(
        &app,
        "approval_workflow",
        Some(json!({"timeout_seconds": 1})),
    );
    let answer = |id: &str, decision: &str| {
        let r = app
            .host
            .call(
                "POST",
                &format!("/runtime/webhooks/durabletask/instances/{id}/raiseEvent/ApprovalEvent"),
            )
            .json(decision)
            .send();
        assert_eq!(r.status, 202, "{r:?}");
    };
    // A person answers "yes": not understood, and the workflow keeps waiting.
    answer(&approve, "\"yes\"");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let s = app
            .host
            .get(&format!(
                "/runtime/webhooks/durabletask/instances/{approve}"
            ))
            .json();
        if s["customStatus"]["lastAnswer"].is_string() {
            assert_eq!(s["runtimeStatus"], "Running", "{s}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    answer(&approve, "true");
    answer(&reject, "false");
    assert_eq!(app.wait_for_instance(&approve, WAIT)["output"], "approved");
    assert_eq!(app.wait_for_instance(&reject, WAIT)["output"], "rejected");
    assert_eq!(app.wait_for_instance(&ignore, WAIT)["output"], "escalated");
}

#[test]
fn sync_over_async_answers_with_the_reply_or_the_check_status_response_on_timeout() {
    let app = SampleApp::start(json!({}));
    let port = app.host.port;
    let waiting = std::thread::spawn(move || {
        tests::app_host::get(port, "/api/weather?requestId=req-1&city=Paris")
    });
    // The reply can only be raised once the request's orchestration exists.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let r = app.post_json(
            "/api/weather-results/req-1",
            &json!({"city": "Paris", "temperatureC": 21}),
        );
        if r.status == 202 {
            break;
        }
        assert_eq!(r.status, 404, "{r:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "the request never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let answer = waiting.join().unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json(), json!({"city": "Paris", "temperatureC": 21}));

    // No reply in time: the check-status response, and the orchestration goes on waiting.
    let timed_out = app.host.get("/api/weather?requestId=req-2&timeout=1");
    assert_eq!(timed_out.status, 202, "{timed_out:?}");
    let body = timed_out.json();
    assert_eq!(body["id"], "req-2");
    assert_eq!(
        timed_out.header("location"),
        body["statusQueryGetUri"].as_str()
    );
    let late = app.post_json("/api/weather-results/req-2", &json!({"temperatureC": 5}));
    assert_eq!(late.status, 202, "{late:?}");
    let status = app.wait_for_instance("req-2", WAIT);
    assert_eq!(status["runtimeStatus"], "Completed");
    assert_eq!(status["output"], json!({"temperatureC": 5}));
    let too_late = app.post_json("/api/weather-results/req-2", &json!({"temperatureC": 6}));
    assert_eq!(too_late.status, 410, "{too_late:?}");

    // A timeout the route cannot take is refused before anything starts (no panic, no 500).
    for timeout in ["10000000000000000000", "-1", "3601", "soon"] {
        let r = app
            .host
            .get(&format!("/api/weather?requestId=req-bad&timeout={timeout}"));
        assert_eq!(r.status, 400, "{timeout}: {r:?}");
        let status = app
            .host
            .get("/runtime/webhooks/durabletask/instances/req-bad")
            .status;
        assert_eq!(status, 404, "{timeout}: nothing was started");
    }
}

#[test]
fn the_generic_starter_rejects_unknown_functions_and_bad_json() {
    let app = SampleApp::start(json!({}));
    let r = app.post_json("/api/orchestrators/no_such_thing", &json!(1));
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("no_such_thing"));
    let r = app.host.request(
        "POST",
        "/api/orchestrators/hello_cities",
        &[("Content-Type", "application/json")],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    r.error_message();
}
