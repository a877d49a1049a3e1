//! Workers in Python on this host, over the Durable Task gRPC protocol, with the real PyPI
//! `durabletask` SDK (pinned in tests/python/requirements.txt) as worker and client
//! (tests/python/durabletask_scenarios.py): every scenario of the SDK (chain, fan-out, timers,
//! external events with and without timeout, sub-orchestrations, retries, continue-as-new,
//! terminate, suspend and resume, purge by id and by filter, custom status, rewind, queries,
//! a scheduled start, tags, a Python entity signalled, called, failing and locked, the entity
//! client calls on a Rust entity) on the embedded store and on Azurite; a Python orchestration
//! calling a Rust activity and a Rust entity, and the reverse; the management HTTP API
//! showing Python instances like any other; and a SIGKILL of the host, and of one of two
//! workers, in the middle of a run, after which every instance completes exactly once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

fn script() -> PathBuf {
    tests::python::python_dir().join("durabletask_scenarios.py")
}

fn start_host(values: &Value, grpc_port: u16) -> (AppDir, TestHost) {
    let dir = AppDir::new(env!("CARGO_BIN_EXE_grpc-app"), values.clone(), None);
    let host = start_in(&dir, grpc_port);
    (dir, host)
}

fn start_in(dir: &AppDir, grpc_port: u16) -> TestHost {
    TestHost::start(dir, &[("DURABLE_GRPC_PORT", &grpc_port.to_string())])
}

/// Runs a command of the scenario script to its end; returns whether it succeeded, its
/// stdout's JSON lines, and its output for a failure message.
fn run_script(address: &str, args: &[&str], limit: Duration) -> (bool, Vec<Value>, String) {
    let mut cmd = Command::new(tests::python::set_up());
    cmd.arg(script()).args(["--address", address]).args(args);
    let out = tests::bounded::run_to_end(cmd, &format!("the scenario script {args:?}"), limit);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let lines = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let tail: String = stderr.lines().rev().take(60).collect::<Vec<_>>().join("\n");
    (
        out.status.success(),
        lines,
        format!("stdout:\n{stdout}\nstderr (last lines, newest first):\n{tail}"),
    )
}

/// A Python worker process, stopped when dropped.
struct Worker(Child);

impl Worker {
    fn start(address: &str, log: &Path) -> Self {
        let python = tests::python::set_up();
        let mut child = Command::new(python)
            .arg(script())
            .args([
                "--address",
                address,
                "worker",
                "--work-item-filters",
                "--log",
            ])
            .arg(log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Python worker");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        assert_eq!(ready, "worker ready");
        Worker(child)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Runs every scenario of the SDK against a host on `values`' task hub.
fn scenarios_pass(values: Value) {
    let (_dir, host) = start_host(&values, 0);
    let address = tests::grpc::address(&host);
    let (ok, lines, output) = run_script(
        &address,
        &["scenarios", "--mixed", "--work-item-filters"],
        Duration::from_secs(300),
    );
    let failed: Vec<_> = lines.iter().filter(|l| l["ok"] == false).collect();
    assert!(
        ok && failed.is_empty(),
        "failed: {failed:?}\n{output}\nhost log:\n{}",
        host.log()
    );
    let done = lines.iter().find(|l| l["done"] == true).expect("a summary");
    assert_eq!(done["failed"], 0);
    assert_eq!(done["passed"], 25, "{done}");

    // The management API shows a Python instance like a Rust one.
    let chain = lines.iter().find(|l| l["scenario"] == "chain").unwrap();
    let id = chain["instance_id"].as_str().unwrap();
    let status = host.wait_for_status(id, "Completed", None);
    assert_eq!(status["name"], "hello_chain");
    assert_eq!(
        status["output"],
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
    // Tags given by the SDK's client are the instance's tags.
    let tagged = lines.iter().find(|l| l["scenario"] == "tags").unwrap();
    let id = tagged["instance_id"].as_str().unwrap();
    let status = host.wait_for_status(id, "Completed", None);
    assert_eq!(status["tags"], json!({"team": "python"}), "{status}");
    // A continue-as-new with a new version: the instance now runs at that version.
    let versioned = lines
        .iter()
        .find(|l| l["scenario"] == "continue_as_new_version")
        .unwrap();
    let id = versioned["instance_id"].as_str().unwrap();
    let status = host.wait_for_status(id, "Completed", None);
    assert_eq!(status["version"], "2", "{status}");
}

#[test]
fn python_sdk_scenarios_on_the_embedded_store() {
    scenarios_pass(json!({}));
}

#[test]
fn python_sdk_scenarios_on_azurite() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    scenarios_pass(json!({
        "AzureWebJobsStorage": azurite.connection_string(),
        "TaskHubName": format!("Grpc{}", rand::random::<u32>()),
    }));
}

#[test]
fn a_rust_orchestration_calls_a_python_activity_and_entity() {
    let (dir, host) = start_host(&json!({}), 0);
    let address = tests::grpc::address(&host);
    let _worker = Worker::start(&address, &dir.path().join("activities.log"));
    let r = host
        .call(
            "POST",
            &format!("{API}/orchestrators/RustCallsPython/mixed-1"),
        )
        .json("\"hello\"")
        .send();
    assert_eq!(r.status, 202, "{:?}\n{}", r.body, host.log());
    let done = host.wait_for_status("mixed-1", "Completed", None);
    assert_eq!(done["output"], "HELLO!");

    // A Python entity, called twice from Rust: 7 added, then read.
    let r = host
        .call(
            "POST",
            &format!("{API}/orchestrators/RustCallsPythonEntity/mixed-2"),
        )
        .json("\"k\"")
        .send();
    assert_eq!(r.status, 202, "{:?}\n{}", r.body, host.log());
    let done = host.wait_for_status("mixed-2", "Completed", None);
    assert_eq!(done["output"], 7, "{done}");
    // Its state is kept by the host like a Rust entity's.
    let state = host.get(&format!("{API}/entities/py_tally/k")).json();
    assert_eq!(state, 7);
}

/// Reads the worker's activity log: one JSON line per run.
fn activity_runs(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_sigkilled_host_resumes_and_every_python_instance_completes_once() {
    let (dir, mut host) = start_host(&json!({}), 0);
    let address = tests::grpc::address(&host);
    let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
    let log = dir.path().join("activities.log");
    // Started before any worker serves `hello_many`: they wait for one, they do not fail.
    let (ok, lines, output) = run_script(
        &address,
        &["start", "--orchestration", "hello_many", "--count", "40"],
        Duration::from_secs(60),
    );
    assert!(ok, "{output}");
    let ids: Vec<String> = serde_json::from_value(lines[0]["ids"].clone()).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let waiting = host.get(&format!("{API}/instances/{}", ids[0])).json();
    assert_eq!(waiting["runtimeStatus"], "Pending", "{waiting}");
    let _worker = Worker::start(&address, &log);
    // Kill the host while the instances are under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    while activity_runs(&log).len() < 20 {
        assert!(Instant::now() < deadline, "no progress:\n{}", host.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    host.signal(libc::SIGKILL);
    host.wait_exit(Duration::from_secs(10));
    let before = activity_runs(&log).len();
    assert!(before < 200, "all ran before the kill: {before}");
    eprintln!("activity runs before the kill: {before}");

    // The same task hub and port: the worker reconnects by itself.
    let host = start_in(&dir, port);
    every_instance_completed_once(&host, &address, &ids);
    // Each call ran at least once (at least once: a run cut by the kill runs again).
    let runs = activity_runs(&log);
    eprintln!("activity runs in all: {}", runs.len());
    for id in &ids {
        let of_id = runs.iter().filter(|r| r["instance_id"] == **id).count();
        assert!(of_id >= 5, "{id} ran {of_id} activities");
    }
}

#[test]
fn a_sigkilled_worker_leaves_its_work_to_another() {
    let (dir, host) = start_host(&json!({}), 0);
    let address = tests::grpc::address(&host);
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    // Scheduled first, so that the work starts when the workers connect.
    let (ok, lines, output) = run_script(
        &address,
        &["start", "--orchestration", "hello_many", "--count", "40"],
        Duration::from_secs(60),
    );
    assert!(ok, "{output}");
    let ids: Vec<String> = serde_json::from_value(lines[0]["ids"].clone()).unwrap();
    let mut a = Worker::start(&address, &log_a);
    let _b = Worker::start(&address, &log_b);
    let deadline = Instant::now() + Duration::from_secs(60);
    while activity_runs(&log_a).len() < 20 {
        assert!(Instant::now() < deadline, "no progress:\n{}", host.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Worker A dies with work items it has not answered: they go to B.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    let (a_runs, b_before) = (activity_runs(&log_a).len(), activity_runs(&log_b).len());
    every_instance_completed_once(&host, &address, &ids);
    let b_runs = activity_runs(&log_b).len();
    eprintln!("activity runs: A {a_runs} (killed), B {b_before} before the kill, {b_runs} in all");
    assert!(b_runs > b_before, "B ran nothing after A was killed");
    assert!(
        a_runs + b_runs >= 200,
        "A {a_runs} + B {b_runs} runs for 200 calls"
    );
}

/// Waits for the instances `ids` of `hello_many` to end; each completed with the five
/// greetings, and its history holds exactly one completion.
fn every_instance_completed_once(host: &TestHost, address: &str, ids: &[String]) {
    let (ok, lines, output) = run_script(
        address,
        &["wait", "--ids", &ids.join(","), "--timeout", "120"],
        Duration::from_secs(150),
    );
    assert!(ok, "{output}\n{}", host.log());
    let results = &lines[0]["results"];
    let cities = json!([
        "Hello Tokyo!",
        "Hello Seattle!",
        "Hello London!",
        "Hello Paris!",
        "Hello Cairo!"
    ]);
    for id in ids {
        assert_eq!(results[id]["status"], "COMPLETED", "{id}: {results}");
        assert_eq!(results[id]["output"], cities, "{id}");
        let status = host
            .call("GET", &format!("{API}/instances/{id}?showHistory=true"))
            .send()
            .json();
        let completions = status["historyEvents"]
            .as_array()
            .unwrap_or_else(|| panic!("no history: {status}"))
            .iter()
            .filter(|e| e["EventType"] == "ExecutionCompleted")
            .count();
        assert_eq!(completions, 1, "{id}: {status}");
    }
}
