//! W1 on the Azure Storage task hub, against an Azurite the harness starts (in memory, on
//! this machine): orchestrations per second and storage requests per orchestration.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use durable::runtime::{Runtime, RuntimeOptions};
use durable::store::azure::{AzureTaskHub, StorageAccount};
use durable::store::TaskHub;
use durable_testing::azurite;

use bench::host::start_all;
use bench::{any_unfinished, check_hello5, registry, secs_between, Line};

/// W1 hello5 on Azurite: N orchestrations × 5 chained activities, 64 concurrent starters,
/// one host (this process).
pub async fn w1(n: Option<u64>) -> anyhow::Result<()> {
    let n = n.unwrap_or(2_000);
    let emulator = azurite::shared().map_err(|e| anyhow::anyhow!("Azurite: {e}"))?;
    let account = StorageAccount::from_connection_string(&emulator.connection_string())?;
    let hub_name = format!("BenchW1{}", std::process::id());
    let hub = Arc::new(AzureTaskHub::new(account.clone(), &hub_name)?);
    let store: Arc<dyn TaskHub> = hub.clone();
    // The waiting loop and the final check read through a hub object of their own, so the
    // counts below are the host's requests only.
    let observer: Arc<dyn TaskHub> = Arc::new(AzureTaskHub::new(account, &hub_name)?);
    let rt = Runtime::start(store.clone(), registry(), RuntimeOptions::default()).await?;
    let client = rt.client();
    let ids: Vec<String> = (0..n).map(|i| format!("w1-{i:06}")).collect();
    eprintln!("W1 (azurite): starting {n} hello5 orchestrations");
    let before = hub.request_counts();
    let operations_before = hub.operation_counts();
    let empty_before = hub.empty_receives();
    let cpu_before = tree_cpu_seconds(emulator.pid());
    let t0 = SystemTime::now();
    let started = Instant::now();
    start_all(&client, "hello5", ids, 64).await?;
    let start_secs = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(1_200);
    while any_unfinished(&observer, "w1-").await? {
        anyhow::ensure!(Instant::now() < deadline, "not finished in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = hub.request_counts().since(&before);
    let operations = hub.operation_counts();
    let empty_receives = hub.empty_receives() - empty_before;
    let azurite_cpu = tree_cpu_seconds(emulator.pid()) - cpu_before;
    let last = check_hello5(&observer, "w1-", n).await?;
    let secs = secs_between(t0, last);
    // The requests counted include the polls the host made while the work ran down, so the
    // figure is an upper bound on what one orchestration costs.
    let per = |x: u64| x as f64 / n as f64;
    let line = Line::new(
        "W1",
        "azurite",
        "azure-storage",
        n,
        secs,
        n as f64 / secs,
        "orchestrations/s",
    )
    .with("start_seconds", start_secs)
    .with("storage_requests_per_orchestration", per(requests.total()))
    .with("table_requests_per_orchestration", per(requests.table))
    .with("queue_requests_per_orchestration", per(requests.queue))
    .with("blob_requests_per_orchestration", per(requests.blob))
    .with("empty_receives_per_orchestration", per(empty_receives))
    // The emulator's own CPU time per request, and the rate one core of it could sustain at
    // that cost: the ceiling of this workload on this machine, whatever the host does.
    .with(
        "azurite_cpu_ms_per_request",
        azurite_cpu * 1e3 / requests.total().max(1) as f64,
    )
    .with(
        "azurite_one_core_ceiling_orchestrations_per_s",
        n as f64 / azurite_cpu.max(1e-9),
    );
    let line = operations
        .iter()
        .zip(operations_before.iter())
        .filter(|((_, after), (_, before))| after > before)
        .fold(line, |line, ((operation, after), (_, before))| {
            line.with(
                &format!("{}_per_orchestration", operation.name()),
                per(after - before),
            )
        });
    crate::stats_line(&rt, line).print(bench::peak_rss_mb(None));
    rt.shutdown().await;
    Ok(())
}

/// CPU seconds (user + system) used so far by `root` and every process below it, from
/// /proc (0 where /proc cannot be read).
fn tree_cpu_seconds(root: u32) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    // (pid, parent, ticks) of every process.
    let procs: Vec<(u32, u32, u64)> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let parent = f.get(1)?.parse().ok()?;
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some((pid, parent, ticks))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(procs.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    let ticks: u64 = procs
        .iter()
        .filter(|p| tree.contains(&p.0))
        .map(|p| p.2)
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}
