//! `bench limits`: per-activity limits and the global activity limit, measured.
//!
//! One runtime with 16 activity slots runs three fan-outs, one after the other:
//!
//! - `concurrent`: N calls of an activity limited to 5 at once (each run sleeps 20 ms): the
//!   most runs seen at once, and the throughput against what the limit allows (5 runs per
//!   average run's duration, measured);
//! - `rate`: N calls of an activity limited to 100 starts a second (each run is instant): the
//!   start rate from the first start to the last, against 100/s;
//! - `global`: N calls of an unlimited activity (each run sleeps 5 ms): the most runs seen at
//!   once, against the 16 slots.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;
use bench::{durability_label, open_hub, peak_rss_mb, temp_dir, Line};
use durable::store::azure::{AzureTaskHub, StorageAccount};
use durable::store::TaskHub;
use durable::{when_all, ActivityLimits, OrchestrationContext, Registry, Runtime, RuntimeOptions};
use durable_testing::azurite;
use parking_lot::Mutex;

/// Runs of an activity in flight now and the most seen at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
    /// Microseconds the runs took, together.
    busy_us: AtomicU64,
}

impl InFlight {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self, since: Instant) {
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.busy_us
            .fetch_add(since.elapsed().as_micros() as u64, Ordering::SeqCst);
    }
}

const CONCURRENT_LIMIT: u32 = 5;
const CONCURRENT_RUN: Duration = Duration::from_millis(20);
const RATE_LIMIT: f64 = 100.0;
const SLOTS: usize = 16;
const GLOBAL_RUN: Duration = Duration::from_millis(5);

struct Probes {
    concurrent: InFlight,
    global: InFlight,
    starts: Mutex<Vec<Instant>>,
}

fn registry(probes: &Arc<Probes>) -> Registry {
    let (p1, p2, p3) = (probes.clone(), probes.clone(), probes.clone());
    Registry::new()
        .activity("limited_concurrent", move |_ctx, _: u64| {
            let p = p1.clone();
            async move {
                let since = Instant::now();
                p.concurrent.enter();
                tokio::time::sleep(CONCURRENT_RUN).await;
                p.concurrent.leave(since);
                Ok(())
            }
        })
        .limit_activity(
            "limited_concurrent",
            ActivityLimits {
                max_concurrent: Some(CONCURRENT_LIMIT),
                max_per_second: None,
            },
        )
        .activity("limited_rate", move |_ctx, _: u64| {
            let p = p2.clone();
            async move {
                p.starts.lock().push(Instant::now());
                Ok(())
            }
        })
        .limit_activity(
            "limited_rate",
            ActivityLimits {
                max_concurrent: None,
                max_per_second: Some(RATE_LIMIT),
            },
        )
        .activity("unlimited", move |_ctx, _: u64| {
            let p = p3.clone();
            async move {
                let since = Instant::now();
                p.global.enter();
                tokio::time::sleep(GLOBAL_RUN).await;
                p.global.leave(since);
                Ok(())
            }
        })
        .orchestration(
            "fan_named",
            |ctx: OrchestrationContext, (name, n): (String, u64)| async move {
                let calls = (0..n).map(|i| ctx.call_activity_by_name::<_, ()>(&name, &i));
                for r in when_all(calls).await {
                    r?;
                }
                Ok(n)
            },
        )
}

/// Runs one fan-out of `n` calls of `activity` to its end; returns its seconds.
async fn fan_out(rt: &Runtime, activity: &str, n: u64) -> anyhow::Result<f64> {
    let client = rt.client();
    let t0 = Instant::now();
    client
        .start_new("fan_named", Some(activity), &(activity.to_string(), n))
        .await?;
    let done = client
        .wait_for_completion(activity, Duration::from_secs(900))
        .await?;
    ensure!(done.output == serde_json::json!(n), "{activity}: {done:?}");
    Ok(t0.elapsed().as_secs_f64())
}

/// The workload on `store` (`sqlite` or `azurite`); `n` calls per fan-out (default 2000).
pub async fn limits(n: Option<u64>, full: bool, store: &str) -> anyhow::Result<()> {
    let n = n.unwrap_or(2000);
    let probes = Arc::new(Probes {
        concurrent: InFlight::default(),
        global: InFlight::default(),
        starts: Mutex::new(Vec::new()),
    });
    let dir = temp_dir()?;
    let (hub, durability): (Arc<dyn TaskHub>, &str) = match store {
        "azurite" => {
            let emulator = azurite::shared().map_err(|e| anyhow::anyhow!("Azurite: {e}"))?;
            let account = StorageAccount::from_connection_string(&emulator.connection_string())?;
            let name = format!("BenchLimits{}", std::process::id());
            (
                Arc::new(AzureTaskHub::new(account, &name)?),
                "azure-storage",
            )
        }
        _ => (open_hub(dir.path(), full)?.0, durability_label(full)),
    };
    let options = RuntimeOptions {
        max_concurrent_activities: SLOTS,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(hub, registry(&probes), options).await?;

    eprintln!("limits: {n} calls of an activity limited to {CONCURRENT_LIMIT} at once");
    let concurrent_secs = fan_out(&rt, "limited_concurrent", n).await?;
    let concurrent_most = probes.concurrent.most.load(Ordering::SeqCst);
    // What the limit allows with runs as long as they really took (a 20 ms sleep takes a
    // little longer).
    let average_run = probes.concurrent.busy_us.load(Ordering::SeqCst) as f64 / 1e6 / n as f64;
    let allowed = f64::from(CONCURRENT_LIMIT) / average_run;

    eprintln!("limits: {n} calls of an activity limited to {RATE_LIMIT}/s");
    let rate_secs = fan_out(&rt, "limited_rate", n).await?;
    let starts = probes.starts.lock().clone();
    let (first, last) = (starts.iter().min(), starts.iter().max());
    let span = match (first, last) {
        (Some(a), Some(b)) => b.duration_since(*a).as_secs_f64(),
        _ => 0.0,
    };
    ensure!(starts.len() as u64 == n, "{} starts of {n}", starts.len());
    let rate = (starts.len() - 1) as f64 / span;
    let most_in_a_second = most_in_a_second(&starts);

    eprintln!("limits: {n} calls of an unlimited activity on {SLOTS} slots");
    let global_secs = fan_out(&rt, "unlimited", n).await?;
    let global_most = probes.global.most.load(Ordering::SeqCst);

    let line = Line::new(
        "limits",
        store,
        durability,
        n,
        concurrent_secs + rate_secs + global_secs,
        rate,
        "starts/s of the rate-limited activity",
    )
    .with("concurrent_limit", CONCURRENT_LIMIT)
    .with("concurrent_most_at_once", concurrent_most as u64)
    .with("concurrent_runs_per_s", n as f64 / concurrent_secs)
    .with("concurrent_average_run_ms", average_run * 1e3)
    .with("concurrent_runs_per_s_allowed", allowed)
    .with(
        "concurrent_error_pct",
        (n as f64 / concurrent_secs / allowed - 1.0) * 100.0,
    )
    .with("rate_limit_per_s", RATE_LIMIT)
    .with("rate_measured_per_s", rate)
    .with("rate_error_pct", (rate / RATE_LIMIT - 1.0) * 100.0)
    .with("rate_most_starts_in_a_second", most_in_a_second as u64)
    .with(
        "deferred_runs",
        durable::runtime::RuntimeStats::get(&rt.stats().deferred_runs),
    )
    .with("global_slots", SLOTS as u64)
    .with("global_most_at_once", global_most as u64)
    .with("global_runs_per_s", n as f64 / global_secs);
    let rss = peak_rss_mb(None);
    rt.shutdown().await;
    ensure!(
        concurrent_most <= CONCURRENT_LIMIT as usize,
        "{concurrent_most} runs at once over the limit {CONCURRENT_LIMIT}"
    );
    ensure!(
        global_most <= SLOTS,
        "{global_most} runs at once over {SLOTS} slots"
    );
    line.print(rss);
    Ok(())
}

/// The most of `starts` within any one second.
fn most_in_a_second(starts: &[Instant]) -> usize {
    let mut sorted = starts.to_vec();
    sorted.sort_unstable();
    let mut most = 0;
    let mut from = 0;
    for (to, t) in sorted.iter().enumerate() {
        while t.duration_since(sorted[from]) >= Duration::from_secs(1) {
            from += 1;
        }
        most = most.max(to - from + 1);
    }
    most
}
