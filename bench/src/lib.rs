//! Shared pieces of the benchmark runner: the workloads' orchestrations and activities, the
//! fresh task hubs they run on, and the JSON line each workload prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use chrono::{DateTime, Utc};
use durable::store::sqlite::{SqliteOptions, SqliteTaskHub};
use durable::store::{InstanceQuery, InstanceState, TaskHub};
use durable::{OrchestrationContext, OrchestrationStatus, Registry};
use parking_lot::Mutex;
use serde_json::Value;

pub mod host;

/// The five cities of the "Hello cities" chain (W1, W7).
pub const CITIES: [&str; 5] = ["Tokyo", "Seattle", "London", "Paris", "Cairo"];

/// The output every hello5 orchestration must finish with.
pub fn hello5_output() -> String {
    let v: Vec<String> = CITIES.iter().map(|c| format!("Hello {c}!")).collect();
    serde_json::to_string(&v).expect("strings serialize")
}

/// How many times the last step of hello5 ran in this process (progress for W7).
pub static HELLO5_LAST_STEPS: AtomicU64 = AtomicU64::new(0);

/// When each step of the W2 chain ran, by step index.
pub static CHAIN_STEPS: Mutex<Vec<Option<Instant>>> = Mutex::new(Vec::new());

/// When each W6 orchestration saw its timer fire (first execution only, not replays).
pub static TIMER_SEEN: Mutex<Option<HashMap<String, SystemTime>>> = Mutex::new(None);

/// The orchestrators and activities of every workload.
pub fn registry() -> Registry {
    Registry::new()
        // W1 / W7: the "Hello cities" chain.
        .activity("say_hello", |_ctx, city: String| async move {
            if city == CITIES[4] {
                HELLO5_LAST_STEPS.fetch_add(1, Ordering::Relaxed);
            }
            Ok(format!("Hello {city}!"))
        })
        .orchestration(
            "hello5",
            |ctx: OrchestrationContext, _input: serde_json::Value| async move {
                let mut out = Vec::with_capacity(CITIES.len());
                for city in CITIES {
                    let s: String = ctx.call_activity_by_name("say_hello", city).await?;
                    out.push(s);
                }
                Ok(out)
            },
        )
        // W2: one long chain; the activity stamps the time of each step.
        .activity("chain_step", |_ctx, step: u64| async move {
            let mut steps = CHAIN_STEPS.lock();
            if let Some(slot) = steps.get_mut(step as usize) {
                slot.get_or_insert_with(Instant::now);
            }
            Ok(step + 1)
        })
        .orchestration("chain", |ctx: OrchestrationContext, n: u64| async move {
            let mut v = 0u64;
            for _ in 0..n {
                v = ctx.call_activity_by_name("chain_step", &v).await?;
            }
            Ok(v)
        })
        // W3: fan-out / fan-in of no-op activities.
        .activity("noop", |_ctx, i: u64| async move { Ok(i) })
        .orchestration("fanout", |ctx: OrchestrationContext, n: u64| async move {
            let tasks = (0..n).map(|i| ctx.call_activity_by_name::<_, u64>("noop", &i));
            let mut sum = 0u64;
            for r in durable::when_all(tasks).await {
                sum += r?;
            }
            Ok(sum)
        })
        // W4: one activity.
        .orchestration(
            "one_activity",
            |ctx: OrchestrationContext, i: u64| async move {
                Ok(ctx.call_activity_by_name::<_, u64>("noop", &i).await?)
            },
        )
        // The dashboard workload: instances that complete, fail, or wait.
        .orchestration(
            "dash_done",
            |_ctx: OrchestrationContext, i: u64| async move { Ok(i) },
        )
        .orchestration(
            "dash_fail",
            |_ctx: OrchestrationContext, i: u64| async move {
                Err::<u64, _>(durable::Failure::new(
                    "Refused",
                    format!("instance {i} fails"),
                ))
            },
        )
        .orchestration(
            "dash_wait",
            |ctx: OrchestrationContext, _i: u64| async move {
                let go: bool = ctx.wait_for_external_event("go").await?;
                Ok(go)
            },
        )
        // W5: a counter entity.
        .add_entity_fn(
            "counter",
            durable::engine::entity::entity_fn(|ctx| {
                let v: i64 = ctx.get_state(|| 0)?;
                let by: i64 = if ctx.has_input() { ctx.get_input()? } else { 1 };
                if ctx.operation_name() == "add" {
                    ctx.set_state(&(v + by))?;
                }
                Ok(())
            }),
        )
        // W6: a one-second durable timer; returns its due time (ms since the epoch).
        .orchestration("timer1s", |ctx: OrchestrationContext, _i: u64| async move {
            let due = ctx.current_utc_datetime() + chrono::Duration::seconds(1);
            ctx.create_timer(due).await;
            if !ctx.is_replaying() {
                let now = SystemTime::now();
                TIMER_SEEN
                    .lock()
                    .get_or_insert_with(HashMap::new)
                    .entry(ctx.instance_id())
                    .or_insert(now);
            }
            Ok(due.timestamp_millis())
        })
}

/// A fresh directory for one workload's task hub, on the same disk as the project.
pub fn temp_dir() -> anyhow::Result<tempfile::TempDir> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("bench-tmp");
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::Builder::new().prefix("hub-").tempdir_in(base)?)
}

/// Opens a task hub in `dir` with the given durability.
pub fn open_hub(dir: &Path, full: bool) -> anyhow::Result<(Arc<dyn TaskHub>, PathBuf)> {
    let path = dir.join("hub.db");
    let hub = SqliteTaskHub::open_with(
        &path,
        SqliteOptions {
            synchronous_full: full,
        },
    )?;
    Ok((Arc::new(hub), path))
}

/// The durability label of the JSON line.
pub fn durability_label(full: bool) -> &'static str {
    if full {
        "sqlite-wal-full"
    } else {
        "sqlite-wal-normal"
    }
}

/// Peak resident set size of a process (`VmHWM`), in MiB; `pid` `None` is this process.
pub fn peak_rss_mb(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Every instance whose id starts with `prefix`, paging through the store.
pub async fn list_instances(
    store: &Arc<dyn TaskHub>,
    prefix: &str,
) -> anyhow::Result<Vec<InstanceState>> {
    let mut out = Vec::new();
    let mut continuation = None;
    loop {
        let page = store
            .query_instances(&InstanceQuery {
                instance_id_prefix: Some(prefix.to_string()),
                page_size: 1000,
                continuation,
                ..Default::default()
            })
            .await?;
        out.extend(page.instances);
        match page.continuation {
            Some(c) => continuation = Some(c),
            None => return Ok(out),
        }
    }
}

/// Checks that all `n` W1 instances with `prefix` completed with the hello5 output; returns
/// the latest completion time.
pub async fn check_hello5(
    store: &Arc<dyn TaskHub>,
    prefix: &str,
    n: u64,
) -> anyhow::Result<DateTime<Utc>> {
    let all = list_instances(store, prefix).await?;
    let expected = hello5_output();
    let ok = all
        .iter()
        .filter(|s| {
            s.status == OrchestrationStatus::Completed && s.output.as_deref() == Some(&expected)
        })
        .count();
    anyhow::ensure!(ok as u64 == n, "{ok} of {n} completed correctly");
    all.iter()
        .filter_map(|s| s.completed_at)
        .max()
        .ok_or_else(|| anyhow::anyhow!("no completions"))
}

/// What the hello5 instances of a run ended with: when the last completed, and each one's
/// latency from its creation to its completion.
pub struct Hello5Results {
    /// The latest `completed_at`.
    pub last: DateTime<Utc>,
    /// Per instance, `completed_at - created_at` in milliseconds, sorted.
    pub latencies_ms: Vec<f64>,
}

/// Checks that all `n` hello5 instances with `prefix` completed with the hello5 output,
/// compared as JSON (a Python worker's `json.dumps` spaces it differently), and returns their
/// times.
pub async fn hello5_results(
    store: &Arc<dyn TaskHub>,
    prefix: &str,
    n: u64,
) -> anyhow::Result<Hello5Results> {
    let all = list_instances(store, prefix).await?;
    let expected: Value = serde_json::from_str(&hello5_output())?;
    let parsed = |s: &InstanceState| {
        s.output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
    };
    let ok: Vec<&InstanceState> = all
        .iter()
        .filter(|s| {
            s.status == OrchestrationStatus::Completed && parsed(s).as_ref() == Some(&expected)
        })
        .collect();
    anyhow::ensure!(
        ok.len() as u64 == n,
        "{} of {n} completed correctly",
        ok.len()
    );
    let mut latencies_ms: Vec<f64> = ok
        .iter()
        .filter_map(|s| Some(secs_between(s.created_at.into(), s.completed_at?) * 1e3))
        .collect();
    latencies_ms.sort_by(f64::total_cmp);
    let last = ok
        .iter()
        .filter_map(|s| s.completed_at)
        .max()
        .ok_or_else(|| anyhow::anyhow!("no completions"))?;
    Ok(Hello5Results { last, latencies_ms })
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`; `None`
/// is this process. 0 where /proc cannot be read.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let ticks = std::fs::read_to_string(path).ok().and_then(|stat| {
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
    });
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks.unwrap_or(0) as f64 / hz
}

/// Whether any instance with the prefix is still pending or running (one indexed query).
pub async fn any_unfinished(store: &Arc<dyn TaskHub>, prefix: &str) -> anyhow::Result<bool> {
    let page = store
        .query_instances(&InstanceQuery {
            statuses: vec![OrchestrationStatus::Pending, OrchestrationStatus::Running],
            instance_id_prefix: Some(prefix.to_string()),
            page_size: 1,
            ..Default::default()
        })
        .await?;
    Ok(!page.instances.is_empty())
}

/// Seconds from `from` to `to` (negative if `to` is earlier).
pub fn secs_between(from: SystemTime, to: DateTime<Utc>) -> f64 {
    let to: SystemTime = to.into();
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The `q`-quantile (0..=1) of sorted samples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Rounds to `d` decimals for printing.
pub fn round(x: f64, d: i32) -> f64 {
    let p = 10f64.powi(d);
    (x * p).round() / p
}

/// One workload's result line.
pub struct Line {
    fields: Vec<(String, Value)>,
}

impl Line {
    /// The common fields.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        workload: &str,
        store: &str,
        durability: &str,
        n: u64,
        seconds: f64,
        value: f64,
        unit: &str,
    ) -> Self {
        let fields = vec![
            ("workload".into(), workload.into()),
            ("store".into(), store.into()),
            ("durability".into(), durability.into()),
            ("cores".into(), (cores() as u64).into()),
            ("n".into(), n.into()),
            ("seconds".into(), round(seconds, 3).into()),
            ("value".into(), round(value, 2).into()),
            ("unit".into(), unit.into()),
        ];
        Self { fields }
    }

    /// A further figure.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        let v: Value = value.into();
        let v = match v.as_f64() {
            Some(f) if v.is_f64() => Value::from(round(f, 3)),
            _ => v,
        };
        self.fields.push((name.into(), v));
        self
    }

    /// Prints the line (with `peak_rss_mb` last).
    pub fn print(mut self, peak_rss_mb: Option<f64>) {
        // Other processes' load (e.g. a concurrent build) distorts the figures: say so.
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok());
        self.fields.push(("load_1m".into(), load.into()));
        self.fields.push((
            "peak_rss_mb".into(),
            peak_rss_mb.map(|m| round(m, 1)).into(),
        ));
        // In this order (a JSON map would sort the keys).
        let body: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| format!("{}: {v}", Value::from(k.as_str())))
            .collect();
        println!("{{{}}}", body.join(", "));
    }
}

/// Prints a skipped line.
pub fn skipped(workload: &str, reason: &str) {
    println!(
        "{}",
        serde_json::json!({ "workload": workload, "skipped": reason })
    );
}
