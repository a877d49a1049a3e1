//! The benchmark runner: `bench <W1..W7> [--store sqlite|azurite] [--n N] [--sync normal]
//! [--otel [grpc|http]]`, and the workloads outside W1-W7 (`bench grpc`, `bench limits`, ...).
//!
//! Prints one JSON line per workload on stdout (the shape of `../shared/bench/README.md`);
//! progress goes to stderr. Every workload runs on a fresh task hub in
//! `target/bench-tmp/` (durable WAL + `synchronous=FULL` unless `--sync normal`).

mod azurite;
mod dashboard;
mod grpc;
mod http_sync;
mod limits;
mod observability;
mod recovery;
mod s3;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use bench::host::{self, start_all};
use bench::{
    any_unfinished, cpu_seconds, durability_label, hello5_results, list_instances, open_hub,
    peak_rss_mb, quantile, registry, secs_between, skipped, temp_dir, Line, CHAIN_STEPS,
    TIMER_SEEN,
};
use durable::store::TaskHub;
use durable::{OrchestrationStatus, Runtime, RuntimeOptions};
use durable_testing::otlp_receiver::Protocol;
use http_sync::w4;
use observability::{Otel, Scraper};
use recovery::w7;

const USAGE: &str = "\
usage: bench <W1|W2|W3|W4|W5|W6|W7|all|dashboard|grpc|limits|s3> [--store sqlite|azurite] [--n N] [--sync full|normal]
             [--short-locks]   (W7: 2 s locks instead of the host's defaults)
             [--container IMAGE]   (W4: the host in a container of IMAGE, see docs/deploy.md)
             [--otel [grpc|http]]   (W1, W4: traces exported over OTLP, grpc or http/protobuf
                                     (the default), to a receiver in this process, and the
                                     metrics scraped once per second)
             [--backend host|python-inmemory] [--concurrency C]   (grpc: where the Python
                                     worker's work runs; its SDK's maximum concurrent
                                     orchestration and activity work items, default the SDK's)

  W1 hello5     N orchestrations x 5 chained activities (default N = 10000)
  W2 chain      one orchestration, N chained activities (default 10000)
  W3 fanout     one orchestration fanning out N activities (default 10000)
  W4 http-sync  HTTP function starting a one-activity orchestration and waiting for it;
                N requests at concurrency 64 (default 10000), N/5 at concurrency 1
  W5 entity     N signals to one counter entity, then a read (default 10000)
  W6 timers     N orchestrations each awaiting a 1 s durable timer (default 10000)
  W7 recovery   W1 in a host process, SIGKILLed half way and restarted (default 10000)
  grpc          W1 run by a Python Durable Task SDK worker over the Durable Task protocol,
                on this host (SQLite, as W1) or with --backend python-inmemory on the SDK's own
                in-memory backend (default N = 2000; not in all; the venv of
                tests/python/setup.sh)
  limits        per-activity limits (5 at once; 100/s) and the global slots, N calls each
                (default 2000; not in all; also on azurite)
  s3            S3 blob trigger latency from PUT to function start on moto: N objects through
                S3 event notifications on SQS, N/4 by polling every second (default 200;
                not in all)
  dashboard     the dashboard's queries on a hub of N instances (default 100000; not in all;
                with --store azurite, Instances rows written straight into Azurite)";

struct Opts {
    workload: String,
    store: String,
    n: Option<u64>,
    full: bool,
    short_locks: bool,
    container: Option<String>,
    /// `--otel`: the OTLP transport to export traces over.
    otel: Option<Protocol>,
    /// `--backend` (grpc): where the Python worker's work runs.
    backend: grpc::Backend,
    /// `--concurrency` (grpc): the Python worker's maximum concurrent work items of each kind.
    concurrency: Option<usize>,
}

fn parse(args: &[String]) -> anyhow::Result<Opts> {
    let mut it = args.iter().peekable();
    let workload = it.next().context(USAGE)?.to_uppercase();
    let mut o = Opts {
        workload,
        store: "sqlite".into(),
        n: None,
        full: true,
        short_locks: false,
        container: None,
        otel: None,
        backend: grpc::Backend::Host,
        concurrency: None,
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--store" => o.store = it.next().context("--store needs a value")?.clone(),
            "--n" => o.n = Some(it.next().context("--n needs a value")?.parse()?),
            "--sync" => {
                o.full = match it.next().map(String::as_str) {
                    Some("full") => true,
                    Some("normal") => false,
                    other => bail!("--sync full|normal, not {other:?}"),
                }
            }
            "--short-locks" => o.short_locks = true,
            "--container" => {
                o.container = Some(it.next().context("--container needs an image")?.clone())
            }
            "--otel" => {
                let named = it.peek().and_then(|v| observability::protocol(v));
                if named.is_some() {
                    it.next();
                }
                o.otel = Some(named.unwrap_or(Protocol::HttpProtobuf));
            }
            "--backend" => o.backend = it.next().context("--backend needs a value")?.parse()?,
            "--concurrency" => {
                o.concurrency = Some(it.next().context("--concurrency needs a value")?.parse()?)
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if o.otel.is_some() {
        anyhow::ensure!(
            matches!(o.workload.as_str(), "W1" | "W4") && o.store == "sqlite",
            "--otel is for W1 and W4 on sqlite"
        );
        anyhow::ensure!(o.container.is_none(), "--otel runs the host as a process");
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Child-process modes (W4, W7): `bench host http <dir>` / `bench host w7 <dir> <n> [short]`.
    if args.first().map(String::as_str) == Some("host") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let dir = std::path::PathBuf::from(args.get(2).context("host needs a directory")?);
        return match args.get(1).map(String::as_str) {
            Some("http") => rt.block_on(host::run_http(&dir)),
            Some("w7") => {
                let n: u64 = args.get(3).context("w7 needs n")?.parse()?;
                let short = args.get(4).is_some_and(|a| a == "short-locks");
                rt.block_on(host::run_w7(&dir, n, short))
            }
            other => bail!("unknown host mode {other:?}"),
        };
    }
    if args.is_empty() || args[0] == "--help" || args[0] == "-h" {
        println!("{USAGE}");
        return Ok(());
    }
    let o = parse(&args)?;
    let all = ["W1", "W2", "W3", "W4", "W5", "W6", "W7"];
    let list: Vec<&str> = if o.workload == "ALL" {
        all.to_vec()
    } else if all.contains(&o.workload.as_str())
        || o.workload == "DASHBOARD"
        || o.workload == "GRPC"
        || o.workload == "LIMITS"
        || o.workload == "S3"
    {
        vec![o.workload.as_str()]
    } else {
        bail!("unknown workload {:?}\n{USAGE}", o.workload);
    };
    for w in list {
        if o.store == "azurite" && w == "DASHBOARD" {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if let Err(e) = rt.block_on(dashboard::dashboard(&o)) {
                eprintln!("{w} failed: {e:#}");
                println!(
                    "{}",
                    serde_json::json!({ "workload": w, "failed": format!("{e:#}") })
                );
            }
            continue;
        }
        if o.store == "azurite" && w == "LIMITS" {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if let Err(e) = rt.block_on(limits::limits(o.n, o.full, "azurite")) {
                eprintln!("{w} failed: {e:#}");
                println!(
                    "{}",
                    serde_json::json!({ "workload": w, "failed": format!("{e:#}") })
                );
            }
            continue;
        }
        if o.store == "azurite" {
            if w != "W1" {
                skipped(w, "only W1 runs on azurite");
                continue;
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if let Err(e) = rt.block_on(azurite::w1(o.n)) {
                eprintln!("{w} failed: {e:#}");
                println!(
                    "{}",
                    serde_json::json!({ "workload": w, "failed": format!("{e:#}") })
                );
            }
            continue;
        }
        if o.store != "sqlite" {
            bail!("--store sqlite|azurite, not {:?}", o.store);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let r = match w {
            "W1" => rt.block_on(w1(&o)),
            "W2" => rt.block_on(w2(&o)),
            "W3" => rt.block_on(w3(&o)),
            "W4" => rt.block_on(w4(&o)),
            "W5" => rt.block_on(w5(&o)),
            "W6" => rt.block_on(w6(&o)),
            "W7" => rt.block_on(w7(&o)),
            "DASHBOARD" => rt.block_on(dashboard::dashboard(&o)),
            "GRPC" => rt.block_on(grpc::grpc(&o)),
            "LIMITS" => rt.block_on(limits::limits(o.n, o.full, "sqlite")),
            "S3" => rt.block_on(s3::s3(o.n)),
            _ => unreachable!(),
        };
        if let Err(e) = r {
            eprintln!("{w} failed: {e:#}");
            println!(
                "{}",
                serde_json::json!({ "workload": w, "failed": format!("{e:#}") })
            );
        }
    }
    Ok(())
}

/// The runtime as an app gets it by default.
async fn start_runtime(full: bool) -> anyhow::Result<(tempfile::TempDir, Runtime)> {
    start_runtime_with(full, RuntimeOptions::default()).await
}

/// The runtime with `options`.
async fn start_runtime_with(
    full: bool,
    options: RuntimeOptions,
) -> anyhow::Result<(tempfile::TempDir, Runtime)> {
    let dir = temp_dir()?;
    let (store, _) = open_hub(dir.path(), full)?;
    let rt = Runtime::start(store, registry(), options).await?;
    Ok((dir, rt))
}

/// Waits until no instance with the prefix is unfinished, checking every 10 ms.
async fn wait_all(store: &Arc<dyn TaskHub>, prefix: &str, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while any_unfinished(store, prefix).await? {
        if Instant::now() > deadline {
            bail!("not finished within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// `line` with the runtime's counters.
fn stats_line(rt: &Runtime, line: Line) -> Line {
    let s = rt.stats();
    let g = durable::runtime::RuntimeStats::get;
    line.with("episodes", g(&s.episodes))
        .with("replays", g(&s.replays))
        .with("cache_hits", g(&s.cache_hits))
        .with("activities", g(&s.activities))
        .with("direct_episodes", g(&s.direct_episodes))
}

/// W1 hello5: N orchestrations x 5 chained activities, started by 64 concurrent starters;
/// latencies from each instance's creation to its completion, and this process's CPU time
/// from the first start until all completed. With `--otel`, the runtime exports its spans to
/// the receiver and its metrics are encoded once per second.
async fn w1(o: &Opts) -> anyhow::Result<()> {
    let n = o.n.unwrap_or(10_000);
    let otel = o.otel.map(Otel::start).transpose()?;
    let telemetry = otel.as_ref().map(Otel::telemetry).transpose()?;
    let options = RuntimeOptions {
        tracer: telemetry.as_ref().map(|t| t.tracer()).unwrap_or_default(),
        ..RuntimeOptions::default()
    };
    let (_dir, rt) = start_runtime_with(o.full, options).await?;
    let scraper = otel.as_ref().map(|_| Scraper::in_process(rt.metrics()));
    let client = rt.client();
    let store = client.store().clone();
    let ids: Vec<String> = (0..n).map(|i| format!("w1-{i:06}")).collect();
    eprintln!("W1: starting {n} hello5 orchestrations");
    let cpu0 = cpu_seconds(None);
    let t0 = SystemTime::now();
    let started = Instant::now();
    start_all(&client, "hello5", ids, 64).await?;
    let start_secs = started.elapsed().as_secs_f64();
    wait_all(&store, "w1-", Duration::from_secs(600)).await?;
    let cpu = cpu_seconds(None) - cpu0;
    let scrapes = match scraper {
        Some(s) => Some(s.stop().await),
        None => None,
    };
    let results = hello5_results(&store, "w1-", n).await?;
    let secs = secs_between(t0, results.last);
    let line = Line::new(
        "W1",
        "sqlite",
        durability_label(o.full),
        n,
        secs,
        n as f64 / secs,
        "orchestrations/s",
    )
    .with("events_per_s", 10.0 * n as f64 / secs)
    .with("start_seconds", start_secs)
    .with("starts_per_s", n as f64 / start_secs)
    .with("activities_per_s", 5.0 * n as f64 / secs)
    .with("p50_ms", quantile(&results.latencies_ms, 0.5))
    .with("p99_ms", quantile(&results.latencies_ms, 0.99))
    .with("bench_cpu_s", cpu)
    .with("bench_cpu_us_per_activity", cpu * 1e6 / (5 * n) as f64);
    let line = stats_line(&rt, line);
    // Before the receiver's spans are counted (which copies them).
    let rss = peak_rss_mb(None);
    rt.shutdown().await;
    let line = match (otel, telemetry, scrapes) {
        (Some(otel), Some(telemetry), Some(scrapes)) => {
            telemetry.shutdown(Duration::from_secs(30)).await;
            otel.finish(line, &scrapes).await?
        }
        _ => line,
    };
    line.print(rss);
    Ok(())
}

/// W2 chain: one orchestration, N chained activities; flatness from the activities' times.
async fn w2(o: &Opts) -> anyhow::Result<()> {
    let n = o.n.unwrap_or(10_000);
    anyhow::ensure!(n >= 3000, "W2 needs n >= 3000 for the flatness figure");
    *CHAIN_STEPS.lock() = vec![None; n as usize];
    let (_dir, rt) = start_runtime(o.full).await?;
    let client = rt.client();
    eprintln!("W2: one chain of {n} activities");
    let t0 = Instant::now();
    client.start_new("chain", Some("w2"), &n).await?;
    let done = client
        .wait_for_completion("w2", Duration::from_secs(900))
        .await?;
    let secs = t0.elapsed().as_secs_f64();
    anyhow::ensure!(
        done.output == serde_json::json!(n),
        "wrong output {:?}",
        done.output
    );
    let steps = CHAIN_STEPS.lock().clone();
    let t = |i: usize| steps[i].context("a step has no time");
    let per = |a: usize, b: usize| -> anyhow::Result<f64> {
        Ok(t(b)?.duration_since(t(a)?).as_secs_f64() / (b - a) as f64)
    };
    let n = n as usize;
    let early = per(1000, 2000)?;
    let late = per(n - 1001, n - 1)?;
    let line = Line::new(
        "W2",
        "sqlite",
        durability_label(o.full),
        n as u64,
        secs,
        n as f64 / secs,
        "activities/s",
    )
    .with("flatness", late / early)
    .with("step_ms_1000_2000", early * 1e3)
    .with("step_ms_last_1000", late * 1e3);
    stats_line(&rt, line).print(peak_rss_mb(None));
    rt.shutdown().await;
    Ok(())
}

/// W3 fanout: one orchestration fanning out N no-op activities and awaiting all.
async fn w3(o: &Opts) -> anyhow::Result<()> {
    let n = o.n.unwrap_or(10_000);
    let (_dir, rt) = start_runtime(o.full).await?;
    let client = rt.client();
    eprintln!("W3: fan-out of {n} activities");
    let t0 = Instant::now();
    client.start_new("fanout", Some("w3"), &n).await?;
    let done = client
        .wait_for_completion("w3", Duration::from_secs(900))
        .await?;
    let secs = t0.elapsed().as_secs_f64();
    let expected = n * (n.saturating_sub(1)) / 2;
    let history_len = client
        .store()
        .get_instance("w3")
        .await?
        .map_or(0, |i| i.history_len);
    anyhow::ensure!(
        done.output == serde_json::json!(expected),
        "W3 ended {:?} with {:?}",
        done.runtime_status,
        done.output
    );
    let line = Line::new(
        "W3",
        "sqlite",
        durability_label(o.full),
        n,
        secs,
        n as f64 / secs,
        "activities/s",
    )
    .with("history_len", history_len);
    stats_line(&rt, line).print(peak_rss_mb(None));
    rt.shutdown().await;
    Ok(())
}

/// W5 entity-counter: N signals (`add 1`) to one counter entity from 64 concurrent senders,
/// then reads until the state shows all of them; operations/s from the first signal to the
/// read that sees N.
async fn w5(o: &Opts) -> anyhow::Result<()> {
    let n = o.n.unwrap_or(10_000);
    let (_dir, rt) = start_runtime(o.full).await?;
    let client = rt.client();
    let id = durable::EntityId::new("counter", "w5")?;
    eprintln!("W5: {n} signals to one counter entity");
    let t0 = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (client, id, next) = (client.clone(), id.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                client.signal_entity(&id, "add", &1i64).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let signal_secs = t0.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let v: Option<i64> = client.read_entity_state(&id).await?;
        if v == Some(n as i64) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "counter at {v:?} of {n}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let line = Line::new(
        "W5",
        "sqlite",
        durability_label(o.full),
        n,
        secs,
        n as f64 / secs,
        "operations/s",
    )
    .with("signal_seconds", signal_secs);
    stats_line(&rt, line).print(peak_rss_mb(None));
    rt.shutdown().await;
    Ok(())
}

/// W6 timers: N orchestrations each awaiting a 1 s durable timer; lateness of the fire.
async fn w6(o: &Opts) -> anyhow::Result<()> {
    let n = o.n.unwrap_or(10_000);
    *TIMER_SEEN.lock() = Some(HashMap::new());
    let (_dir, rt) = start_runtime(o.full).await?;
    let client = rt.client();
    let store = client.store().clone();
    let ids: Vec<String> = (0..n).map(|i| format!("w6-{i:06}")).collect();
    eprintln!("W6: {n} orchestrations with a 1 s timer");
    let t0 = SystemTime::now();
    let started = Instant::now();
    start_all(&client, "timer1s", ids, 64).await?;
    let start_secs = started.elapsed().as_secs_f64();
    wait_all(&store, "w6-", Duration::from_secs(600)).await?;
    let all = list_instances(&store, "w6-").await?;
    let seen = TIMER_SEEN.lock().take().unwrap_or_default();
    let mut seen_late = Vec::new();
    let mut done_late = Vec::new();
    for s in &all {
        anyhow::ensure!(
            s.status == OrchestrationStatus::Completed,
            "{} {:?}",
            s.instance_id,
            s.status
        );
        let due_ms: i64 = s.output.as_deref().context("no output")?.parse()?;
        let due = SystemTime::UNIX_EPOCH + Duration::from_millis(due_ms as u64);
        if let Some(at) = seen.get(&s.instance_id) {
            seen_late.push(ms_after(due, *at));
        }
        if let Some(c) = s.completed_at {
            done_late.push(secs_between(due, c) * 1e3);
        }
    }
    anyhow::ensure!(all.len() as u64 == n, "{} of {n} instances", all.len());
    seen_late.sort_by(f64::total_cmp);
    done_late.sort_by(f64::total_cmp);
    let last = all
        .iter()
        .filter_map(|s| s.completed_at)
        .max()
        .context("no completions")?;
    let line = Line::new(
        "W6",
        "sqlite",
        durability_label(o.full),
        n,
        secs_between(t0, last),
        quantile(&seen_late, 0.99),
        "ms p99 lateness",
    )
    .with("p50_ms", quantile(&seen_late, 0.5))
    .with("p99_ms", quantile(&seen_late, 0.99))
    .with("max_ms", quantile(&seen_late, 1.0))
    .with("observed", seen_late.len() as u64)
    .with("completion_p50_ms", quantile(&done_late, 0.5))
    .with("completion_p99_ms", quantile(&done_late, 0.99))
    .with("start_seconds", start_secs);
    stats_line(&rt, line).print(peak_rss_mb(None));
    rt.shutdown().await;
    Ok(())
}

fn ms_after(due: SystemTime, at: SystemTime) -> f64 {
    match at.duration_since(due) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}
