//! The replay check, from outside: in local development mode (the default) the host replays
//! every episode from history too, so an orchestrator that reads the system clock fails on its
//! first run with `NonDeterministicOrchestrationError` and an ERROR line saying what differs;
//! `DurableReplayCheck=false` turns the check off, and the same orchestrator then completes.

use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

fn run(host: &TestHost, id: &str, status: &str) -> Value {
    let r = host
        .call("POST", &format!("{API}/orchestrators/reads_the_clock/{id}"))
        .send();
    assert_eq!(r.status, 202, "{:?}", r.body);
    host.wait_for_status(id, status, None)
}

#[test]
fn a_non_deterministic_orchestrator_fails_its_first_run_in_local_development() {
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_log-app"),
        json!({"TaskHubName": "ReplayCheck"}),
        None,
    );
    let host = TestHost::start(&dir, &[("DurableLogFormat", "json")]);
    assert!(host.banner.contains("Replay check: on"), "{}", host.banner);
    let failed = run(&host, "clock-1", "Failed");
    let output = failed["output"].as_str().unwrap_or_default();
    assert!(
        output.contains("NonDeterministicOrchestrationError")
            && output.contains("calls activity \"chatty\" (id 0)"),
        "{failed}"
    );
    let log = host.log();
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("replay check found"))
        })
        .unwrap_or_else(|| panic!("no replay check line:\n{log}"));
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["instance_id"], "clock-1", "{line}");
    host.stop();

    let host = TestHost::start(&dir, &[("DurableReplayCheck", "false")]);
    assert!(!host.banner.contains("Replay check"), "{}", host.banner);
    run(&host, "clock-2", "Completed");
    host.stop();
}
