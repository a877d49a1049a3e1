//! The dashboard, driven in headless Chromium against the sample app with keys required (local
//! development mode off): the page asks for the key once; filters the list (by name, and by a
//! tag given at start); shows a completed
//! Hello cities with its three activities in order on the timeline; raises the approval event
//! of a waiting workflow and sees it complete without a reload; terminates one; and signals an
//! entity. Screenshots of the list and a timeline are kept under `target/browser-artifacts/`.

use std::time::Duration;

use serde_json::{json, Value};
use tests::browser;
use tests::sample_app::SampleApp;

const WAIT: Duration = Duration::from_secs(30);

/// Starts `orchestrator` with the system key; returns the instance id.
fn start(app: &SampleApp, key: &str, orchestrator: &str, input: Value) -> String {
    let path = format!("/api/orchestrators/{orchestrator}?code={key}");
    let r = app.post_json(&path, &input);
    assert_eq!(r.status, 202, "{r:?}");
    r.json()["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_user_lists_inspects_and_acts_on_instances_and_entities() {
    browser::set_up();
    let app = SampleApp::start(json!({ "DurableLocalDevelopment": "false" }));
    let key = app.dir.system_key();
    let function_key = app.dir.function_key();

    // Without the key, the page loads but its data does not.
    assert_eq!(app.host.get("/dashboard/").status, 200);
    let refused = app.host.get("/dashboard/api/instances");
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(
        refused.error_message().contains("system key"),
        "{refused:?}"
    );

    // Some ten thousand history events (two per activity), for the timeline's timing.
    let big = start(&app, &function_key, "fan_out_fan_in", json!(5000));
    let hello = start(&app, &function_key, "hello_cities", Value::Null);
    let approval = start(
        &app,
        &function_key,
        "approval_workflow",
        json!({"subject": "dashboard"}),
    );
    let doomed = start(
        &app,
        &function_key,
        "approval_workflow",
        json!({"subject": "terminate me"}),
    );
    // Tagged at start through the management API.
    let tagged = app.host.request(
        "POST",
        &format!(
            "/runtime/webhooks/durabletask/orchestrators/hello_cities/dash-tagged?tag.team=alpha&code={key}"
        ),
        &[],
        b"",
    );
    assert_eq!(tagged.status, 202, "{tagged:?}");
    let signal = app.host.request(
        "POST",
        &format!("/runtime/webhooks/durabletask/entities/counter/dash?op=add&code={key}"),
        &[("Content-Type", "application/json")],
        b"10",
    );
    assert_eq!(signal.status, 202, "{signal:?}");
    app.host
        .wait_for_status("dash-tagged", "Completed", Some(&key));
    for id in [&hello, &approval, &doomed] {
        let status = app.host.wait_for_status(
            id,
            if *id == hello { "Completed" } else { "Running" },
            Some(&key),
        );
        assert!(status.is_object(), "{status:?}");
    }
    let entity = format!("/runtime/webhooks/durabletask/entities/counter/dash?code={key}");
    poll(WAIT, "the entity never got a state", || {
        let r = app.host.get(&entity);
        (r.status == 200).then_some(()).ok_or(format!("{r:?}"))
    });
    app.host.wait_for_status(&big, "Completed", Some(&key));
    // An orchestration holding an entity's lock.
    let holder = start(&app, &function_key, "hold_locks", json!(["held"]));
    let held = poll(WAIT, "no lock shown", || {
        let listed = app
            .host
            .get(&format!("/dashboard/api/entities?name=counter&code={key}"))
            .json();
        listed["entities"]
            .as_array()
            .and_then(|all| all.iter().find(|e| e["key"] == "held"))
            .filter(|e| e["lockedBy"] == json!(holder))
            .cloned()
            .ok_or(listed.to_string())
    });
    assert_eq!(held["name"], "counter", "{held}");

    // The data the page reads, and bad requests answered in JSON.
    let counts = app
        .host
        .get(&format!("/dashboard/api/counts?code={key}"))
        .json();
    assert_eq!(counts["counts"]["Completed"], 3, "{counts}");
    assert_eq!(
        counts["total"], 6,
        "orchestrations, not the entities: {counts}"
    );
    let by_tag = app
        .host
        .get(&format!(
            "/dashboard/api/instances?tag.team=alpha&code={key}"
        ))
        .json();
    assert_eq!(
        by_tag["instances"][0]["tags"],
        json!({"team": "alpha"}),
        "{by_tag}"
    );
    assert_eq!(
        by_tag["instances"].as_array().map(Vec::len),
        Some(1),
        "{by_tag}"
    );
    let named = app
        .host
        .get(&format!(
            "/dashboard/api/counts?name=approval_workflow&code={key}"
        ))
        .json();
    assert_eq!(
        named,
        json!({"counts": {"Running": 2}, "total": 2, "complete": true})
    );
    let missing = app
        .host
        .get(&format!("/dashboard/api/instances/nope?code={key}"));
    assert_eq!(missing.status, 404);
    assert!(missing.error_message().contains("nope"), "{missing:?}");
    let bad = app.host.get(&format!(
        "/dashboard/api/instances?runtimeStatus=Sleeping&code={key}"
    ));
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(app.host.get("/dashboard/js/nope.js").status, 404);
    assert_eq!(
        app.host.request("POST", "/dashboard/", &[], b"").status,
        405
    );

    let scenario = json!({
        "hello": hello, "approval": approval, "terminate": doomed,
        "entity": {"name": "counter", "key": "dash"}, "key": key, "big": big,
        "locked": {"key": "held"}, "tagged": "dash-tagged",
    });
    let base = format!("http://127.0.0.1:{}", app.host.port);
    let artifacts = browser::artifacts_dir().join("dashboard");
    let _ = std::fs::remove_dir_all(&artifacts);
    let out = browser::run(
        "dashboard.mjs",
        &[&base, &scenario.to_string()],
        &[("BROWSER_ARTIFACTS", artifacts.to_str().unwrap())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the dashboard test failed:\n{stdout}\n{}\nhost log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        app.host.log()
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("a JSON report");
    assert_eq!(
        report["timeline"]["labels"],
        json!(["say_hello", "say_hello", "say_hello"])
    );
    assert_eq!(report["filter"]["rows"], 2, "hello_cities twice: {report}");
    assert_eq!(
        report["list"]["first"],
        json!(holder),
        "newest first: {report}"
    );
    assert_eq!(report["list"]["all"], "All 6", "{report}");
    assert_eq!(report["tags"]["rows"], 1, "{report}");
    assert_eq!(report["tags"]["shown"], "team=alpha", "{report}");
    assert_eq!(report["signal"]["before"], "10", "{report}");
    assert_eq!(report["signal"]["after"], "15", "{report}");
    assert_eq!(
        report["signal"]["read"], "15",
        "the entity's page: {report}"
    );
    assert!(report["keyboard"]["opened"].is_string(), "{report}");
    assert_eq!(
        report["approve"]["wait"], "waiting for ApprovalEvent",
        "the wait for the event is a step of the timeline: {report}"
    );
    assert_eq!(report["signal"]["lockedBy"], json!(holder), "{report}");
    let timeline = &report["big_timeline"];
    assert!(timeline["events"].as_u64().unwrap() >= 10_000, "{report}");
    assert_eq!(
        timeline["steps"], 5002,
        "every activity call is a step: {report}"
    );
    // Timed here, judged in docs/performance.md (a test does not assert a duration).
    eprintln!(
        "a timeline of {} history events drawn in {} ms",
        timeline["events"], timeline["ms"]
    );
    for shot in ["instances.png", "timeline.png"] {
        let png = std::fs::read(artifacts.join(shot)).expect("the screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }

    // What the page did, seen from outside it.
    let done = app.host.wait_for_status(&approval, "Completed", Some(&key));
    assert_eq!(done["output"], json!("approved"), "{done}");
    app.host.wait_for_status(&doomed, "Terminated", Some(&key));
}

/// Asks `probe` every 100 ms until it answers, for at most `limit`; panics with `what` and
/// the last thing `probe` saw.
fn poll<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        match probe() {
            Ok(found) => return found,
            Err(seen) => assert!(std::time::Instant::now() < deadline, "{what}: {seen}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_dashboard_reads_an_azure_storage_hub_in_instance_id_order() {
    let app = SampleApp::start_on_azurite("DashboardHub");
    let id = {
        let r = app
            .host
            .request("POST", "/api/orchestrators/hello_cities", &[], b"");
        assert_eq!(r.status, 202, "{r:?}");
        r.json()["id"].as_str().unwrap().to_owned()
    };
    app.host.wait_for_status(&id, "Completed", None);

    let access = app.host.get("/dashboard/api/access").json();
    assert_eq!(access, json!({"authorized": true, "newestFirst": false}));
    let page = app.host.get("/dashboard/api/instances?top=10").json();
    assert_eq!(page["instances"][0]["instanceId"], json!(id), "{page}");
    let refused = app.host.get("/dashboard/api/instances?order=newest");
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        refused.error_message().contains("instance id only"),
        "{refused:?}"
    );
    let counts = app.host.get("/dashboard/api/counts").json();
    assert_eq!(
        counts,
        json!({"counts": {"Completed": 1}, "total": 1, "complete": true})
    );
    let detail = app
        .host
        .get(&format!("/dashboard/api/instances/{id}"))
        .json();
    let scheduled = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["EventTypeName"] == "TaskScheduled")
        .count();
    assert_eq!(scheduled, 3, "{detail}");
    assert_eq!(detail["instance"]["status"], "Completed");
}
