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
    let host_banner = host.banner.clone();
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
    // The banner on stdout is JSON lines as well, so the host's whole output parses. The
    // app's start-up timer prints its own plain line to stdout, which may land before the
    // banner's last line: that one is the app's, not the host's.
    for line in host_banner.lines().filter(|l| !l.starts_with("timer: ")) {
        let object: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("banner line: {e}: {line:?}"));
        assert_eq!(object["level"], "INFO", "{line}");
    }
    assert!(
        host_banner.contains("Listening on http://"),
        "{host_banner}"
    );

    // A host that cannot start says why in JSON too, and nothing else.
    let failed = dir.run_to_exit(
        &[],
        &[
            ("DurableLogFormat", "json"),
            ("DurableMasterKey", "only-one-key"),
        ],
    );
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let events: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        events.iter().any(|e| e["level"] == "ERROR"
            && e["error"]
                .as_str()
                .is_some_and(|m| m.contains("DurableFunctionKey"))),
        "{stderr}"
    );
}

/// Replicas of one app share their keys and keep their files where the platform mounts a
/// volume: keys and the data folder come from the environment, and no key is ever logged.
#[test]
fn keys_and_the_data_folder_come_from_the_environment() {
    let webhook = "/runtime/webhooks/durabletask/instances";
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("volume");
    let keys = [
        ("DurableMasterKey", "master-key-from-the-environment-0001"),
        ("DurableFunctionKey", "function-key-from-the-environment-02"),
        ("DurableSystemKey", "system-key-from-the-environment-0003"),
    ];
    let dir = support::app_dir(json!({"DurableLocalDevelopment": false}), None);
    let mut env = vec![("DurableDataDir", data_dir.to_str().unwrap())];
    env.extend(keys);
    let host = TestHost::start(&dir, &env);
    let system = ("x-functions-key", keys[2].1);
    assert_eq!(host.request("GET", webhook, &[system], b"").status, 200);
    let master = ("x-functions-key", keys[0].1);
    assert_eq!(host.request("GET", webhook, &[master], b"").status, 200);
    let function = ("x-functions-key", keys[1].1);
    assert_eq!(host.request("GET", webhook, &[function], b"").status, 401);
    assert_eq!(host.get(webhook).status, 401);
    let log = host.log();
    host.stop();

    assert!(
        data_dir.join("TestHubName.db").exists(),
        "the task hub is in the data folder"
    );
    assert!(!data_dir.join("secrets.json").exists(), "no secrets file");
    assert!(
        !dir.path().join(".durable").exists(),
        "nothing in the default folder"
    );
    for (_, key) in keys {
        assert!(!log.contains(key), "a key in the log:\n{log}");
    }

    // A partial set is refused, naming the missing setting and no key.
    let out = dir.run_to_exit(&[], &[("DurableMasterKey", keys[0].1)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("DurableFunctionKey"), "{stderr}");
    assert!(
        !stderr.contains(keys[0].1),
        "the key is not printed: {stderr}"
    );
}

/// With `DurableDrainDelay`, SIGTERM turns readiness to 503 while the host still serves, so a
/// platform stops routing to it before it stops taking connections; then it exits 0.
#[test]
fn readiness_answers_503_while_the_host_drains() {
    let dir = support::app_dir(json!({"DurableDrainDelay": "3"}), None);
    let mut host = TestHost::start(&dir, &[]);
    assert_eq!(host.get("/admin/host/ready").status, 200);
    host.signal(libc::SIGTERM);
    // The signal is handled asynchronously: wait (within the drain delay) for it to show.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let ready = loop {
        let r = host.get("/admin/host/ready");
        if r.status != 200 || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(ready.json()["reason"], "the host is shutting down");
    assert_eq!(host.get("/admin/host/ping").status, 200, "still serving");
    assert!(host.wait_exit(std::time::Duration::from_secs(30)).success());
}

/// Every host.json value can come from the environment, as in Azure Functions containers.
#[test]
fn host_json_values_come_from_the_environment() {
    let dir = support::app_dir(json!({}), None);
    let host = TestHost::start(
        &dir,
        &[("AzureFunctionsJobHost__extensions__http__routePrefix", "v1")],
    );
    assert!(
        host.banner.contains("/v1/hello/{name}"),
        "the route prefix from the environment:\n{}",
        host.banner
    );
    assert_eq!(host.get("/v1/hello/ada").status, 200);
    assert_eq!(host.get("/api/hello/ada").status, 404);
    host.stop();
}
