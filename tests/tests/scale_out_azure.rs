//! Scale-out on one Azure Storage task hub: three real host processes share a hub with four
//! partitions on Azurite (started by `durable`'s harness; the test fails, never skips, when
//! Azurite cannot run). The partition leases are balanced among them; 1,000 "Hello cities"
//! orchestrations run; one host is killed with SIGKILL mid-run, its partitions move to the
//! others after the lease interval, and every orchestration completes exactly once.

use durable::store::OrchestrationService;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable::client::DurableClient;
use durable::store::azure::{AzureOptions, AzureTaskHub, StorageAccount};
use durable::store::InstanceQuery;
use durable::OrchestrationStatus;
use serde_json::json;
use tests::app_host::AppDir;

const INSTANCES: usize = 1_000;
const PARTITIONS: usize = 4;

/// Lease and visibility timing short enough for a test: a dead host's leases lapse after
/// 15 s (the shortest blob lease) and its received messages show again after 20 s.
fn host_json() -> serde_json::Value {
    json!({
        "version": "2.0",
        "extensions": {"durableTask": {
            // Three hosts and the emulator share two cores: fewer requests in flight keep
            // each one's latency low.
            "maxConcurrentOrchestratorFunctions": 32,
            "maxConcurrentActivityFunctions": 32,
            "storageProvider": {
            "partitionCount": PARTITIONS,
            "leaseInterval": "00:00:15",
            "leaseRenewInterval": "00:00:03",
            "leaseAcquireInterval": "00:00:02",
            "controlQueueVisibilityTimeout": "00:00:20",
            "workItemQueueVisibilityTimeout": "00:00:20",
        }}}
    })
}

#[test]
fn three_hosts_share_a_hub_and_survive_a_sigkill() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let hub_name = format!("ScaleOut{}", rand::random::<u32>());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let account = StorageAccount::from_connection_string(&azurite.connection_string()).unwrap();
    let options = AzureOptions {
        partition_count: PARTITIONS as u32,
        worker_id: "test-client".into(),
        ..AzureOptions::default()
    };
    let hub = Arc::new(AzureTaskHub::with_options(account, &hub_name, options).unwrap());
    rt.block_on(hub.create_if_not_exists()).unwrap();
    let client = DurableClient::new(hub.clone());

    let dirs: Vec<AppDir> = (0..3)
        .map(|i| {
            AppDir::new(
                env!("CARGO_BIN_EXE_scale-out-app"),
                json!({
                    "AzureWebJobsStorage": azurite.connection_string(),
                    "TaskHubName": hub_name,
                    "DurableWorkerId": format!("worker-{i}"),
                }),
                Some(host_json()),
            )
        })
        .collect();
    let mut hosts = tests::app_host::start_hosts(&dirs);
    let logs = tests::app_host::logs_of;
    // Leases start with a host's first poll; a balanced hub has every partition leased and
    // every host holding one or two.
    let balanced = |owners: &BTreeMap<String, String>, workers: &[&str]| {
        let mut counts: BTreeMap<&str, usize> = workers.iter().map(|w| (*w, 0)).collect();
        for owner in owners.values() {
            *counts.entry(owner.as_str()).or_default() += 1;
        }
        owners.len() == PARTITIONS
            && counts.len() == workers.len()
            && counts.values().all(|c| (1..=2).contains(c))
    };
    let all = ["worker-0", "worker-1", "worker-2"];
    let owners = wait_for(Duration::from_secs(60), || {
        let owners = rt.block_on(hub.partition_owners()).unwrap_or_default();
        balanced(&owners, &all).then_some(owners)
    })
    .unwrap_or_else(|| panic!("leases not balanced among three hosts\n{}", logs(&hosts)));

    // 1,000 starts, 32 at a time.
    let ids: Vec<String> = (0..INSTANCES).map(|i| format!("city-{i:04}")).collect();
    rt.block_on(async {
        for chunk in ids.chunks(32) {
            let starts = chunk
                .iter()
                .map(|id| client.start_new("hello_cities", Some(id), &()));
            for started in futures::future::join_all(starts).await {
                started.expect("start");
            }
        }
    });

    // Kill the host with the most partitions once some work is done.
    let completed = |rt: &tokio::runtime::Runtime| count_completed(rt, &client);
    wait_for(Duration::from_secs(120), || {
        (completed(&rt) >= INSTANCES / 5).then_some(())
    })
    .unwrap_or_else(|| panic!("no progress\n{}", logs(&hosts)));
    let victim_worker = {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for o in owners.values() {
            *counts.entry(o.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(_, c)| *c)
            .unwrap()
            .0
            .to_owned()
    };
    let victim: usize = victim_worker["worker-".len()..].parse().unwrap();
    let done_at_kill = completed(&rt);
    let mut killed = hosts[victim].take().unwrap();
    killed.signal(libc::SIGKILL);
    killed.wait_exit(Duration::from_secs(10));
    assert!(
        done_at_kill < INSTANCES,
        "everything finished before the kill; the test proves nothing"
    );

    // Its partitions move to the survivors.
    let survivors: Vec<&str> = all
        .iter()
        .copied()
        .filter(|w| *w != victim_worker)
        .collect();
    wait_for(Duration::from_secs(60), || {
        let owners = rt.block_on(hub.partition_owners()).unwrap_or_default();
        balanced(&owners, &survivors).then_some(())
    })
    .unwrap_or_else(|| panic!("partitions did not move to the survivors\n{}", logs(&hosts)));

    wait_for(Duration::from_secs(240), || {
        (completed(&rt) == INSTANCES).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{} of {INSTANCES} completed\n{}",
            completed(&rt),
            logs(&hosts)
        )
    });

    // Exactly once: one execution, one completion, three activities answered once each,
    // the right output.
    rt.block_on(async {
        for id in &ids {
            if let Err(problem) = tests::faults::check_exactly_once(&client, id).await {
                panic!("{problem}");
            }
        }
    });

    // A graceful stop gives the leases up at once.
    for host in hosts.iter_mut().filter_map(Option::take) {
        host.stop();
    }
    let owners = rt.block_on(hub.partition_owners()).unwrap();
    assert!(
        owners.is_empty(),
        "leases still held after shutdown: {owners:?}"
    );
    eprintln!(
        "scale-out: {INSTANCES} completed; {done_at_kill} done when worker {victim} was killed"
    );
}

/// How many instances have completed (0 if the emulator is too busy to say right now).
fn count_completed(rt: &tokio::runtime::Runtime, client: &DurableClient) -> usize {
    let n = rt.block_on(async {
        let mut query = InstanceQuery {
            statuses: vec![OrchestrationStatus::Completed],
            page_size: 1000,
            ..InstanceQuery::default()
        };
        let mut n = 0;
        loop {
            let page = client.list_instances(&query).await?;
            n += page.statuses.len();
            match page.continuation {
                Some(c) => query.continuation = Some(c),
                None => return Ok::<_, durable::ClientError>(n),
            }
        }
    });
    match n {
        Ok(n) => {
            eprintln!("scale-out: {n} of {INSTANCES} completed");
            n
        }
        Err(e) => {
            eprintln!("scale-out: could not count completions: {e}");
            0
        }
    }
}

fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
