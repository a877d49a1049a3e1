//! A task hub that fails for good (an fsync of the embedded store's log that failed) turns
//! the host not-ready at once: `/admin/host/status` answers 503 with the reason, and
//! `FunctionHost::failed` wakes the caller, which shuts down and exits non-zero (the end-to-end
//! fault test in `tests/tests/faults_sqlite.rs` injects a real failed fsync).

use std::io::{Read, Write};
use std::time::Duration;

use durable_host::app::FunctionApp;
use durable_host::{FunctionHost, HostConfig, READY_PATH, STATUS_PATH};

/// `GET path` on `port`: the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_task_hub_makes_the_host_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("local.settings.json"),
        r#"{"IsEncrypted": false, "Values": {"DurableBindAddress": "127.0.0.1"}}"#,
    )
    .unwrap();
    let mut config = HostConfig::load(dir.path()).unwrap();
    config.port = 0;
    let host = FunctionHost::start(config, FunctionApp::collect().unwrap())
        .await
        .unwrap();
    let port = host.local_addr().port();
    let status = tokio::task::spawn_blocking(move || get(port, STATUS_PATH));
    assert_eq!(status.await.unwrap().0, 200);
    let ready = tokio::task::spawn_blocking(move || get(port, READY_PATH));
    assert_eq!(ready.await.unwrap().0, 200);

    host.client()
        .store()
        .signals()
        .failure
        .raise("an fsync of the task hub's log failed (injected)");

    let ready = tokio::task::spawn_blocking(move || get(port, READY_PATH));
    let (code, body) = ready.await.unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("injected"), "{body}");

    let status = tokio::task::spawn_blocking(move || get(port, STATUS_PATH));
    let (code, body) = status.await.unwrap();
    assert_eq!(code, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["state"], "Error");
    assert_eq!(
        body["errors"][0],
        "an fsync of the task hub's log failed (injected)"
    );
    let reason = tokio::time::timeout(Duration::from_secs(1), host.failed())
        .await
        .expect("failed() wakes once the failure is raised");
    assert!(reason.contains("injected"), "{reason}");
    host.shutdown().await;
}
