//! The real Python client (`azure-functions-durable`, pinned in tests/python/requirements.txt)
//! drives the host unmodified: start_new, get_status (with history), get_status_by,
//! get_status_all, raise_event, terminate, suspend, resume, rewind, restart,
//! purge_instance_history(_by) and wait_for_completion_or_create_check_status_response.
//!
//! `tests/python/setup.sh` creates the virtualenv under `target/pyenv` on first use (about ten
//! seconds with PyPI reachable) and is instant afterwards. A failing set-up fails this test with
//! the script's output; it is never skipped.

mod durable_api_support;

use std::path::PathBuf;
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

fn python_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// Runs the set-up script; returns the venv's python.
fn set_up_python() -> PathBuf {
    let out = Command::new("bash")
        .arg(python_dir().join("setup.sh"))
        .output()
        .expect("run tests/python/setup.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/python/setup.sh failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    let python = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        python.exists(),
        "setup.sh did not print the venv's python (got {python:?}):\n{stdout}\n{stderr}"
    );
    python
}

#[test]
fn the_python_client_drives_the_host_unmodified() {
    let python = set_up_python();
    let app = App::start();
    let out = Command::new(&python)
        .arg(python_dir().join("drive_client.py"))
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
