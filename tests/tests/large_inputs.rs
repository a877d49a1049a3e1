//! The large-input attack, end to end: 200 orchestrations with 512 KB inputs are started over
//! HTTP by 16 clients while a monitor lists the running instances every half second; all of
//! them wait for an event, then all are released and complete exactly once. The host's peak
//! and resting memory are printed (`memory-report:`); the targets are measured on a release
//! build with `bench/large_inputs.py` (docs/reliability.md), not asserted here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable::client::DurableClient;
use durable::store::sqlite::SqliteTaskHub;
use durable::OrchestrationStatus;
use serde_json::json;
use tests::app_host::{get, request_to, AppDir, TestHost};

const INSTANCES: usize = 200;
const WEBHOOK: &str = "/runtime/webhooks/durabletask";

/// `VmHWM` and `VmRSS` of process `pid`, in MB.
fn memory_mb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (kb("VmHWM:"), kb("VmRSS:"))
}

/// How many instances the host lists as running (without their inputs).
fn running(port: u16) -> usize {
    let r = get(
        port,
        &format!("{WEBHOOK}/instances?runtimeStatus=Running&top=1000&showInput=false"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let listed = r.json();
    let listed = listed.as_array().expect("a list");
    assert!(
        listed.iter().all(|i| i["input"].is_null()),
        "showInput=false lists no inputs"
    );
    listed.len()
}

#[test]
fn two_hundred_half_megabyte_inputs_start_wait_and_complete() {
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_api-test-app"),
        json!({ "TaskHubName": "LargeHub" }),
        None,
    );
    let host = TestHost::start(&dir, &[]);
    let port = host.port;
    let body = serde_json::to_string(&"x".repeat(512 * 1024)).unwrap();
    let ids: Vec<String> = (0..INSTANCES).map(|i| format!("large-{i:04}")).collect();
    let stop = AtomicBool::new(false);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let monitor = scope.spawn(|| {
            let mut polls = 0;
            while !stop.load(Ordering::Relaxed) {
                running(port);
                polls += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            polls
        });
        let clients: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { return };
                    let r = request_to(
                        port,
                        "POST",
                        &format!("{WEBHOOK}/orchestrators/wait_event/{id}"),
                    )
                    .json(&body)
                    .send();
                    assert_eq!(r.status, 202, "{id}: {r:?}");
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while running(port) < INSTANCES {
            assert!(
                Instant::now() < deadline,
                "not all running:\n{}",
                host.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        stop.store(true, Ordering::Relaxed);
        assert!(monitor.join().unwrap() > 0);
    });
    let all_waiting = started.elapsed();
    let (peak, waiting) = memory_mb(host.pid());

    for id in &ids {
        let r = host
            .call("POST", &format!("{WEBHOOK}/instances/{id}/raiseEvent/Go"))
            .json("true")
            .send();
        assert_eq!(r.status, 202, "{id}: {r:?}");
    }
    let client = DurableClient::new(Arc::new(
        SqliteTaskHub::open(dir.path().join(".durable/LargeHub.db")).unwrap(),
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for id in &ids {
            let status = client
                .wait_for_completion(id, Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| panic!("{id}: {e}\n{}", host.log()));
            assert_eq!(
                status.runtime_status,
                OrchestrationStatus::Completed,
                "{id}"
            );
            assert_eq!(status.output, json!(true), "{id}");
        }
    });
    eprintln!(
        "memory-report: {INSTANCES} instances with 512 KB inputs (debug build) | started and \
         waiting in {:.1} s | peak {peak} MB | {waiting} MB while all wait",
        all_waiting.as_secs_f64()
    );
    host.stop();
}
