//! Activity timeouts and cancellation from outside, on the embedded store and on Azurite: a
//! call with a timeout answers "timed out" and the run is dropped on the host (the app writes a
//! marker when a run of `slow` is dropped); host.json `activities.slow.timeout` does the same
//! for calls that name none; terminating an instance drops its running activity.

mod durable_api_support;

use std::time::{Duration, Instant};

use durable_api_support::App;
use serde_json::json;

/// Whether the app wrote the marker of a dropped run of `slow` for `id` (named as the app
/// names it: every character but letters and digits as `_`).
fn cancelled(app: &App, id: &str) -> bool {
    let safe: String = format!("cancelled-{id}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    app.dir().join("markers").join(safe).exists()
}

fn wait_cancelled(app: &App, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cancelled(app, id) {
        assert!(
            Instant::now() < deadline,
            "the run of {id} was not cancelled: {:?} in {:?}\n{}",
            std::fs::read_dir(app.dir().join("markers"))
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>()),
            app.dir(),
            app.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(app: &App, id: &str, timeout_ms: u64) -> String {
    let resp = app
        .api("POST", &format!("/orchestrators/call_slow/{id}"))
        .json(&timeout_ms.to_string())
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    let done = app.wait_status(id, |s| s == "Completed" || s == "Failed");
    done["output"].as_str().unwrap_or_default().to_string()
}

fn timeouts_cancel(connection: &str) {
    let app = App::start_on(connection);
    assert_eq!(run(&app, "timed", 500), "timed out");
    wait_cancelled(&app, "timed");

    // terminate drops the running activity
    let resp = app
        .api("POST", "/orchestrators/call_slow/ended")
        .json("0")
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    app.wait_status("ended", |s| s == "Running");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!cancelled(&app, "ended"));
    let resp = app
        .api("POST", "/instances/ended/terminate?reason=stop")
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    app.wait_status("ended", |s| s == "Terminated");
    wait_cancelled(&app, "ended");

    // the host's timeout for an activity
    let host_json = json!({"version": "2.0", "extensions": {"durableTask": {
        "activities": {"slow": {"timeout": "00:00:01"}}
    }}});
    let app = App::start_with(connection, Some(host_json));
    assert_eq!(run(&app, "by-host", 0), "timed out");
    wait_cancelled(&app, "by-host");
}

#[test]
fn activity_timeouts_and_cancellation_on_sqlite() {
    timeouts_cancel("");
}

#[test]
fn activity_timeouts_and_cancellation_on_azurite() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    timeouts_cancel(&azurite.connection_string());
}
