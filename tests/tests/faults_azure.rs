//! Faults between a host and Azure Storage: one real host process talks to Azurite through
//! the project's TCP fault proxy (one per service). While "Hello cities" orchestrations are
//! started through the host's HTTP API and run, the network delays and resets connections,
//! then black-holes them for a while, then Azurite itself is restarted. Afterwards every
//! acknowledged instance has completed exactly once with the right output and a well-formed
//! history, no start was falsely refused, and the host recovered by itself.

use std::sync::Arc;
use std::time::Duration;

use durable::client::DurableClient;
use durable::store::azure::{AzureTaskHub, StorageAccount};
use durable_testing::azurite::Azurite;
use durable_testing::fault_proxy::FaultProxy;
use serde_json::json;
use tests::app_host::{AppDir, TestHost};
use tests::faults::{self, FaultReport, Starts};

const FLAKY: usize = 120;
const AFTER: usize = 30;

fn host_json() -> serde_json::Value {
    json!({
        "version": "2.0",
        "extensions": {"durableTask": {
            "maxConcurrentOrchestratorFunctions": 32,
            "maxConcurrentActivityFunctions": 32,
            "storageProvider": {
                "partitionCount": 2,
                "leaseInterval": "00:00:15",
                "leaseRenewInterval": "00:00:03",
                "leaseAcquireInterval": "00:00:02",
                "controlQueueVisibilityTimeout": "00:00:10",
                "workItemQueueVisibilityTimeout": "00:00:10",
            }
        }}
    })
}

/// A fault proxy in front of each of `azurite`'s services: blob, queue, table.
fn proxies_to(azurite: &Azurite) -> Vec<FaultProxy> {
    let ports = azurite.ports();
    [ports.blob, ports.queue, ports.table]
        .into_iter()
        .map(|p| {
            FaultProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], p)))
                .expect("the fault proxy starts")
        })
        .collect()
}

/// The connection string of `azurite` with every endpoint moved to its proxy.
fn through(azurite: &Azurite, blob: &FaultProxy, queue: &FaultProxy, table: &FaultProxy) -> String {
    let ports = azurite.ports();
    azurite
        .connection_string()
        .replace(&format!(":{}/", ports.blob), &format!(":{}/", blob.port()))
        .replace(
            &format!(":{}/", ports.queue),
            &format!(":{}/", queue.port()),
        )
        .replace(
            &format!(":{}/", ports.table),
            &format!(":{}/", table.port()),
        )
}

#[test]
fn flaky_connections_a_partition_and_a_storage_restart_lose_and_duplicate_nothing() {
    let data = tempfile::tempdir().unwrap();
    let mut azurite = Azurite::start_persistent(data.path(), None)
        .unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let proxies = proxies_to(&azurite);
    let connection = through(&azurite, &proxies[0], &proxies[1], &proxies[2]);
    assert_ne!(
        connection,
        azurite.connection_string(),
        "every endpoint goes through a proxy"
    );
    let hub_name = format!("Faults{}", rand::random::<u32>());
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_scale-out-app"),
        json!({
            "AzureWebJobsStorage": connection,
            "TaskHubName": hub_name,
            "DurableWorkerId": "faulty-worker",
        }),
        Some(host_json()),
    );
    let host = TestHost::start(&dir, &[]);

    // The checks read the hub directly, not through the proxies.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let account = StorageAccount::from_connection_string(&azurite.connection_string()).unwrap();
    let client = DurableClient::new(Arc::new(AzureTaskHub::new(account, &hub_name).unwrap()));

    // 1. Flaky connections: 10-60 ms per chunk, 1 % of chunks reset.
    for p in &proxies {
        p.set_delay(Duration::from_millis(10), Duration::from_millis(60));
        p.set_reset_probability(0.01);
    }
    let mut starts = faults::start_all(host.port, &faults::ids("flaky", FLAKY), 8);

    // 2. A partition: nothing gets through for 4 s.
    for p in &proxies {
        p.blackhole(true);
    }
    std::thread::sleep(Duration::from_secs(4));
    for p in &proxies {
        p.blackhole(false);
    }

    // 3. Azurite restarts (the proxies stay; connections to the old process break).
    azurite.restart_gracefully().expect("Azurite restarts");
    for p in &proxies {
        p.clear();
    }
    let fault_end = chrono::Utc::now();
    let resets: u64 = proxies.iter().map(|p| p.stats().resets_injected).sum();

    // The host carries on by itself: new starts are acknowledged, and everything completes.
    starts.extend(faults::start_all(
        host.port,
        &faults::ids("after", AFTER),
        8,
    ));
    let Starts {
        acknowledged,
        unanswered,
        refused,
    } = &starts;
    let done = rt.block_on(faults::wait_completed(
        &client,
        acknowledged,
        Duration::from_secs(180),
    ));
    let lost = match &done {
        Ok(_) => Vec::new(),
        Err(open) => open.clone(),
    };
    let problems = rt.block_on(faults::check_all(&client, &starts));
    let (recovery, last) = faults::recovery(fault_end, &done);
    let report = FaultReport {
        fault: "Azure Storage: delay + 1% resets, 4 s partition, Azurite restart",
        instances: acknowledged.len(),
        unanswered: unanswered.len(),
        injected: format!("{resets} resets, 1 partition, 1 restart"),
        lost: lost.len(),
        duplicated: problems.len(),
        falsely_refused: refused.len(),
        recovery,
        last,
    };
    eprintln!("{report}");
    if std::env::var_os("DURABLE_FAULTS_LOG").is_some() {
        eprintln!("host log:\n{}", host.log());
    }
    assert!(resets > 0, "no reset was injected; the test proves nothing");
    assert!(
        lost.is_empty() && problems.is_empty() && refused.is_empty(),
        "{report}\nnot completed: {lost:?}\nproblems: {problems:#?}\nrefused: {refused:?}\nhost log:\n{}",
        host.log()
    );
    assert!(
        acknowledged.len() >= FLAKY / 2 + AFTER,
        "too few starts acknowledged: {report}\n{}",
        host.log()
    );
    host.stop();
}

/// A host asked to stop while its storage is unreachable still stops within its shutdown
/// deadline (and exits 0): handing its messages and partition leases back is attempted with
/// what is left of the deadline, and what it cannot hand back expires by itself.
#[test]
fn shutdown_keeps_its_deadline_while_storage_is_unreachable() {
    const DEADLINE: Duration = Duration::from_secs(3);
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let proxies = proxies_to(azurite);
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_scale-out-app"),
        json!({
            "AzureWebJobsStorage": through(azurite, &proxies[0], &proxies[1], &proxies[2]),
            "TaskHubName": format!("Unreachable{}", rand::random::<u32>()),
            "DurableShutdownDeadline": DEADLINE.as_secs_f64().to_string(),
        }),
        Some(host_json()),
    );
    let mut host = TestHost::start(&dir, &[]);
    // Some work, so that the host holds leases and messages when storage goes away.
    let starts = faults::start_all(host.port, &faults::ids("unreachable", 8), 4);
    assert_eq!(starts.acknowledged.len(), 8, "{starts:?}");
    for p in &proxies {
        p.blackhole(true);
    }
    let asked = std::time::Instant::now();
    host.signal(libc::SIGTERM);
    let status = host.wait_exit(DEADLINE + Duration::from_secs(30));
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}\n{}", host.log());
    assert!(
        took <= DEADLINE + Duration::from_secs(2),
        "stopped after {took:?}, deadline {DEADLINE:?}\n{}",
        host.log()
    );
}
