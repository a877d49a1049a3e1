//! What a container platform and a log collector see of the host process: liveness
//! (`/admin/host/ping`), readiness (`/admin/host/ready`), the `health` command a
//! `HEALTHCHECK` runs, and JSON logs (`DurableLogFormat=json`).

#[path = "host_support/mod.rs"]
mod support;

use serde_json::{json, Value};
use support::TestHost;

#[test]
fn liveness_readiness_and_the_health_command() {
    let dir = support::app_dir(json!({}), None);
    let mut host = TestHost::start(&dir, &[]);
    assert_eq!(host.get("/admin/host/ping").status, 200);
    let ready = host.get("/admin/host/ready");
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json(), json!({ "ready": true }));
    let post = host.request("POST", "/admin/host/ready", &[], b"");
    assert_eq!(post.status, 405, "{post:?}");

    let port = host.port.to_string();
    let out = dir.run_to_exit(&["health", "--port", &port], &[]);
    assert!(
        out.status.success(),
        "health of a ready host: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ready");

    host.signal(libc::SIGTERM);
    assert!(host.wait_exit(std::time::Duration::from_secs(30)).success());
    let out = dir.run_to_exit(&["health", "--port", &port], &[]);
    assert_eq!(out.status.code(), Some(1), "health of a stopped host");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not ready"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = support::app_dir(json!({}), None);
    let host = TestHost::start(&dir, &[("DurableLogFormat", "json")]);
    assert_eq!(host.get("/admin/host/ping").status, 200);
    let log = host.log();
    host.stop();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let started = lines
        .iter()
        .find(|l| l["message"] == "host started")
        .unwrap_or_else(|| panic!("no host started line in\n{log}"));
    for field in ["timestamp", "level", "target"] {
        assert!(started[field].is_string(), "{field} in {started}");
    }
    assert_eq!(started["level"], "INFO");
    assert!(
        started["addr"].is_string(),
        "event fields at the top level: {started}"
    );
}
