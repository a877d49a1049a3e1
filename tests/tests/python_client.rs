//! The real Python client (`azure-functions-durable`, pinned in tests/python/requirements.txt)
//! drives the host unmodified: start_new, get_status (with history), get_status_by,
//! get_status_all, raise_event, terminate, suspend, resume, rewind, restart,
//! purge_instance_history(_by) and wait_for_completion_or_create_check_status_response.
//!
//! The virtualenv comes from `tests::python::set_up` (`tests/python/setup.sh`).

mod durable_api_support;

use std::process::Command;

use durable_api_support::App;
use serde_json::Value;

/// The checks `drive_client.py` runs.
const CHECKS: [&str; 11] = [
    "start_new_and_get_status",
    "get_status_with_history",
    "raise_event",
    "terminate",
    "suspend_and_resume",
    "rewind",
    "query",
    "start_errors",
    "restart",
    "wait_or_check_status",
    "purge",
];

#[test]
fn the_python_client_drives_the_host_unmodified() {
    let python = tests::python::set_up();
    let app = App::start();
    let out = Command::new(&python)
        .arg(tests::python::python_dir().join("drive_client.py"))
        .arg(app.rpc_base_url())
        .output()
        .expect("run drive_client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = || {
        format!(
            "--- driver stdout\n{stdout}\n--- driver stderr\n{stderr}\n--- host log\n{}",
            app.log()
        )
    };
    let summary: Value = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| panic!("the driver printed no SUMMARY line\n{}", report()));
    assert_eq!(
        summary["failed"],
        serde_json::json!({}),
        "failed checks\n{}",
        report()
    );
    let passed: Vec<&str> = summary["passed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(passed, CHECKS, "{}", report());
    assert!(
        out.status.success(),
        "driver exit {}\n{}",
        out.status,
        report()
    );
}
