//! Workers in JavaScript on this host, over the Durable Task gRPC protocol, with the official
//! npm SDK `@microsoft/durabletask-js` (pinned in tests/js/package-lock.json) as worker and
//! client (tests/js/hello_chain.mjs): the SDK's hello-world chain, an orchestrator calling the
//! activity `hello` for three cities in turn, run by the SDK's `TaskHubGrpcWorker` and started
//! and awaited with its `TaskHubGrpcClient`; the management HTTP API shows the instance like
//! any other.

use std::time::Duration;

use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

/// The orchestrator the script registers and schedules.
const ORCHESTRATOR: &str = "js_hello_chain";

#[test]
fn the_js_sdk_hello_chain_completes_on_the_embedded_store() {
    // Installed before the host starts, so that a first `npm ci` does not count against it.
    tests::js::set_up();
    let dir = AppDir::new(env!("CARGO_BIN_EXE_grpc-app"), json!({}), None);
    let host = TestHost::start(&dir, &[("DURABLE_GRPC_PORT", "0")]);
    let address = tests::grpc::address(&host);

    let out = tests::js::run(
        "hello_chain.mjs",
        &["--address", &address, "--timeout", "60"],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = || {
        format!(
            "stdout:\n{stdout}\nstderr:\n{stderr}\nhost log:\n{}",
            host.log()
        )
    };
    assert!(
        out.status.success(),
        "hello_chain.mjs failed ({}):\n{}",
        out.status,
        report()
    );
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len(), 1, "one JSON line expected:\n{}", report());
    let result = &lines[0];
    let greetings = json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]);
    assert_eq!(result["status"], "COMPLETED", "{}", report());
    assert_eq!(result["output"], greetings, "{}", report());
    let id = result["instance_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no instance id:\n{}", report()));

    // The management API shows the JavaScript instance like a Rust one.
    let status = host.wait_for_status(id, "Completed", None);
    assert_eq!(status["name"], ORCHESTRATOR, "{status}");
    assert_eq!(status["instanceId"], id, "{status}");
    assert_eq!(status["output"], greetings, "{status}");
    // The SDK's client sends an empty input for none: stored as no input.
    assert_eq!(status["input"], Value::Null, "{status}");

    // Its history: the three activity calls, each completed once, under the activity's name.
    let history = host
        .call("GET", &format!("{API}/instances/{id}?showHistory=true"))
        .send()
        .json();
    let events = history["historyEvents"]
        .as_array()
        .unwrap_or_else(|| panic!("no history: {history}"));
    let of_type =
        |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["EventType"] == t).collect() };
    let calls = of_type("TaskCompleted");
    assert_eq!(calls.len(), 3, "{history}");
    assert!(
        calls.iter().all(|e| e["FunctionName"] == "hello"),
        "{history}"
    );
    assert_eq!(of_type("ExecutionCompleted").len(), 1, "{history}");
}
