//! The benchmark runner: `bench <W1..W7> [--store sqlite|azurite] [--n N] [--sync normal]`.
//!
//! Prints one JSON line per workload on stdout (the shape of `../shared/bench/README.md`);
//! progress goes to stderr. Every workload runs on a fresh task hub in
//! `target/bench-tmp/` (durable WAL + `synchronous=FULL` unless `--sync normal`).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use bench::host::{self, start_all, w7_id, SYNC_ROUTE, W7_PREFIX};
use bench::{
    any_unfinished, durability_label, hello5_output, list_instances, open_hub, peak_rss_mb,
    quantile, registry, secs_between, skipped, temp_dir, Line, CHAIN_STEPS, TIMER_SEEN,
};
use durable::engine::history::{EventKind, HistoryEvent};
use durable::store::TaskHub;
use durable::{OrchestrationStatus, Runtime, RuntimeOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

const USAGE: &str = "\
usage: bench <W1|W2|W3|W4|W5|W6|W7|all> [--store sqlite|azurite] [--n N] [--sync full|normal]
             [--short-locks]   (W7: 2 s locks instead of the host's defaults)

  W1 hello5     N orchestrations x 5 chained activities (default N = 10000)
  W2 chain      one orchestration, N chained activities (default 10000)
  W3 fanout     one orchestration fanning out N activities (default 10000)
  W4 http-sync  HTTP function starting a one-activity orchestration and waiting for it;
                N requests at concurrency 64 (default 10000), N/5 at concurrency 1
  W5 entity     N signals to one counter entity, then a read (default 10000)
  W6 timers     N orchestrations each awaiting a 1 s durable timer (default 10000)
  W7 recovery   W1 in a host process, SIGKILLed half way and restarted (default 10000)";

struct Opts {
    workload: String,
    store: String,
    n: Option<u64>,
    full: bool,
    short_locks: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Opts> {
    let mut it = args.iter();
    let workload = it.next().context(USAGE)?.to_uppercase();
    let mut o = Opts {
        workload,
        store: "sqlite".into(),
        n: None,
        full: true,
        short_locks: false,
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
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
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
    } else if all.contains(&o.workload.as_str()) {
        vec![o.workload.as_str()]
    } else {
        bail!("unknown workload {:?}\n{USAGE}", o.workload);
    };
    for w in list {
        if o.store == "azurite" {
            // The durable crate has no Azure Storage task hub yet; hook it up here when it does.
            skipped(w, "azurite store not built yet");
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
    let dir = temp_dir()?;
    let (store, _) = open_hub(dir.path(), full)?;
    let rt = Runtime::start(store, registry(), RuntimeOptions::default()).await?;
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

fn stats_line(rt: &Runtime, line: Line) -> Line {
    let s = rt.stats();
    let g = durable::runtime::RuntimeStats::get;
    line.with("episodes", g(&s.episodes))
        .with("replays", g(&s.replays))
        .with("cache_hits", g(&s.cache_hits))
        .with("activities", g(&s.activities))
}

/// W1 hello5: N orchestrations x 5 chained activities, started by 64 concurrent starters.
async fn w1(o: &Opts) -> anyhow::Result<()> {
    let n = o.n.unwrap_or(10_000);
    let (_dir, rt) = start_runtime(o.full).await?;
    let client = rt.client();
    let store = client.store().clone();
    let ids: Vec<String> = (0..n).map(|i| format!("w1-{i:06}")).collect();
    eprintln!("W1: starting {n} hello5 orchestrations");
    let t0 = SystemTime::now();
    let started = Instant::now();
    start_all(&client, "hello5", ids, 64).await?;
    let start_secs = started.elapsed().as_secs_f64();
    wait_all(&store, "w1-", Duration::from_secs(600)).await?;
    let all = list_instances(&store, "w1-").await?;
    let expected = hello5_output();
    let ok = all
        .iter()
        .filter(|s| {
            s.status == OrchestrationStatus::Completed && s.output.as_deref() == Some(&expected)
        })
        .count();
    anyhow::ensure!(ok as u64 == n, "{ok} of {n} completed correctly");
    let last = all
        .iter()
        .filter_map(|s| s.completed_at)
        .max()
        .context("no completions")?;
    let secs = secs_between(t0, last);
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
    .with("starts_per_s", n as f64 / start_secs);
    stats_line(&rt, line).print(peak_rss_mb(None));
    rt.shutdown().await;
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
        done.output.as_deref() == Some(n.to_string().as_str()),
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
    anyhow::ensure!(
        done.output.as_deref() == Some(expected.to_string().as_str()),
        "W3 ended {:?} with {:?}",
        done.status,
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
    .with("history_len", done.history_len);
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

/// A child host process (`bench host ...`) with its stdout read line by line on a thread.
struct HostChild {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl HostChild {
    fn spawn(args: &[&str], log: &std::path::Path) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("host")
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let out = child.stdout.take().context("no stdout")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self { child, lines })
    }

    /// The next line starting with `prefix` (others are skipped), or an error at EOF/timeout.
    fn expect(&self, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .with_context(|| format!("no {prefix:?} line from the host"))?;
            if let Some(rest) = line.strip_prefix(prefix) {
                return Ok(rest.trim().to_string());
            }
        }
    }
}

impl Drop for HostChild {
    /// A workload that fails half way must not leave its host running.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// W4 http-sync: the real HTTP host in a child process, driven by closed-loop keep-alive
/// clients in this process.
async fn w4(o: &Opts) -> anyhow::Result<()> {
    anyhow::ensure!(
        o.full,
        "W4 runs the host with its default (durable) store settings"
    );
    let n = o.n.unwrap_or(10_000);
    let dir = temp_dir()?;
    let log = dir.path().join("host.log");
    let dir_arg = dir.path().to_string_lossy().to_string();
    let mut host = HostChild::spawn(&["http", &dir_arg], &log)?;
    let addr = host.expect("LISTENING ", Duration::from_secs(30))?;
    let pid = host.child.id();
    eprintln!("W4: host {pid} listening on {addr}");
    let path = format!("/api/{SYNC_ROUTE}");
    // warm-up
    closed_loop(&addr, &path, 1, 200).await?;
    let n1 = (n / 5).max(100);
    let (c1, c1_secs) = closed_loop(&addr, &path, 1, n1).await?;
    let (c64, c64_secs) = closed_loop(&addr, &path, 64, n).await?;
    let rss = peak_rss_mb(Some(pid));
    drop(host.child.stdin.take());
    let _ = host.expect("PEAK_RSS_MB", Duration::from_secs(30));
    if tokio::time::timeout(Duration::from_secs(40), async {
        while host.child.try_wait().ok().flatten().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .is_err()
    {
        let _ = host.child.kill();
    }
    let _ = host.child.wait();
    Line::new(
        "W4",
        "sqlite",
        durability_label(o.full),
        n,
        c64_secs,
        n as f64 / c64_secs,
        "requests/s at concurrency 64",
    )
    .with("c1_requests", n1)
    .with("c1_p50_ms", quantile(&c1, 0.5))
    .with("c1_p99_ms", quantile(&c1, 0.99))
    .with("c1_requests_per_s", n1 as f64 / c1_secs)
    .with("c64_p50_ms", quantile(&c64, 0.5))
    .with("c64_p99_ms", quantile(&c64, 0.99))
    .with("c64_requests_per_s", n as f64 / c64_secs)
    .with("rss_of", "host process")
    .print(rss);
    Ok(())
}

/// `total` GET requests over `concurrency` keep-alive connections, each sending its next
/// request when the previous answer is in; returns sorted latencies (ms) and the wall time.
async fn closed_loop(
    addr: &str,
    path: &str,
    concurrency: usize,
    total: u64,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let request = Arc::new(format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: keep-alive\r\n\r\n"
    ));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, request, addr) = (next.clone(), request.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await?;
            stream.set_nodelay(true)?;
            let mut stream = tokio::io::BufReader::new(stream);
            let mut lat = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let t = Instant::now();
                stream.get_mut().write_all(request.as_bytes()).await?;
                read_response(&mut stream).await?;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = t0.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok((all, secs))
}

/// Reads one HTTP/1.1 response with a Content-Length body; fails unless it is a 200.
async fn read_response(
    stream: &mut tokio::io::BufReader<tokio::net::TcpStream>,
) -> anyhow::Result<()> {
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    anyhow::ensure!(!line.is_empty(), "connection closed");
    let status = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut len = 0usize;
    loop {
        line.clear();
        stream.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse()?;
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                bail!("chunked responses are not supported by this client");
            }
        }
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    anyhow::ensure!(
        status == "200",
        "HTTP {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// W7 recovery: W1 in a host process, SIGKILLed at about half way, restarted; time from the
/// restart to the last completion, and lost / duplicated completions from the histories.
async fn w7(o: &Opts) -> anyhow::Result<()> {
    anyhow::ensure!(
        o.full,
        "W7 runs the host with its default (durable) store settings"
    );
    let n = o.n.unwrap_or(10_000);
    let dir = temp_dir()?;
    let log = dir.path().join("host.log");
    let dir_arg = dir.path().to_string_lossy().to_string();
    let n_arg = n.to_string();
    let mut args = vec!["w7", dir_arg.as_str(), n_arg.as_str()];
    if o.short_locks {
        args.push("short-locks");
    }
    let mut first = HostChild::spawn(&args, &log)?;
    let db = first.expect("DB ", Duration::from_secs(30))?;
    eprintln!("W7: first host {} on {db}", first.child.id());
    let t_first = Instant::now();
    // Progress: completed instances, counted by a read-only connection (WAL readers do not
    // block the host's writer).
    let counter =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let completed = || -> u64 {
        counter
            .query_row(
                "SELECT COUNT(*) FROM instances WHERE status = 'Completed'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|c| c as u64)
            .unwrap_or(0)
    };
    first.expect("PROGRESS ", Duration::from_secs(60))?;
    let mut at_kill;
    loop {
        at_kill = completed();
        if at_kill >= n / 2 || t_first.elapsed() > Duration::from_secs(600) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(counter);
    let rss_first = peak_rss_mb(Some(first.child.id()));
    first.child.kill()?; // SIGKILL
    first.child.wait()?;
    let first_secs = t_first.elapsed().as_secs_f64();
    let store = open_file(&db)?;
    let before = list_instances(&store, W7_PREFIX).await?;
    let done_before = before.iter().filter(|s| s.status.is_terminal()).count();
    eprintln!(
        "W7: killed after {first_secs:.2} s at {at_kill} counted; {done_before} of {n} completed, {} created",
        before.len()
    );
    drop(store);

    let restart = SystemTime::now();
    let t_restart = Instant::now();
    let second = HostChild::spawn(&args, &log)?;
    let rss_second: f64 = second
        .expect("ALL DONE ", Duration::from_secs(900))?
        .parse()
        .unwrap_or(f64::NAN);
    let done_secs = t_restart.elapsed().as_secs_f64();
    let mut second = second;
    let _ = second.child.kill();
    let _ = second.child.wait();

    // Verify from the histories, as tests/tests/crash.rs does.
    let store = open_file(&db)?;
    let all = list_instances(&store, W7_PREFIX).await?;
    let expected = hello5_output();
    let present: HashSet<&str> = all.iter().map(|s| s.instance_id.as_str()).collect();
    let mut lost = (0..n)
        .filter(|&i| !present.contains(w7_id(i).as_str()))
        .count();
    let mut duplicated = 0usize;
    let mut bad_histories = 0usize;
    for s in &all {
        if s.status != OrchestrationStatus::Completed || s.output.as_deref() != Some(&expected) {
            lost += 1;
            continue;
        }
        let h = store.get_history(&s.instance_id).await?;
        match check_history(&h) {
            HistoryCheck::Ok => {}
            HistoryCheck::Duplicated => duplicated += 1,
            HistoryCheck::Bad => bad_histories += 1,
        }
    }
    let last = all
        .iter()
        .filter_map(|s| s.completed_at)
        .max()
        .context("no completions")?;
    let secs = secs_between(restart, last);
    Line::new(
        "W7",
        "sqlite",
        durability_label(o.full),
        n,
        secs,
        secs,
        "s from restart to last completion",
    )
    .with("lost", lost as u64)
    .with("duplicated", duplicated as u64)
    .with("bad_histories", bad_histories as u64)
    .with("completed_before_kill", done_before as u64)
    .with("seconds_before_kill", first_secs)
    .with("seconds_restart_to_all_done_seen", done_secs)
    .with(
        "locks",
        if o.short_locks {
            "2 s (short-locks)"
        } else {
            "host defaults (60 s orchestration, 300 s activity)"
        },
    )
    .with("rss_of", "host processes (max of both runs)")
    .print(match (rss_first, rss_second) {
        (Some(a), b) if !b.is_nan() => Some(a.max(b)),
        (a, b) => a.or((!b.is_nan()).then_some(b)),
    });
    Ok(())
}

/// Opens an existing task hub file (as a second process would).
fn open_file(db: &str) -> anyhow::Result<Arc<dyn TaskHub>> {
    let hub = durable::store::sqlite::SqliteTaskHub::open(db)
        .with_context(|| format!("cannot open {db}"))?;
    Ok(Arc::new(hub))
}

enum HistoryCheck {
    Ok,
    Duplicated,
    Bad,
}

/// One start, one completion, five activities each answered exactly once.
fn check_history(h: &[HistoryEvent]) -> HistoryCheck {
    let count = |f: &dyn Fn(&EventKind) -> bool| h.iter().filter(|e| f(&e.kind)).count();
    let starts = count(&|k| matches!(k, EventKind::ExecutionStarted(_)));
    let completions = count(&|k| matches!(k, EventKind::ExecutionCompleted { .. }));
    let mut scheduled = HashSet::new();
    let mut answered: HashMap<i32, usize> = HashMap::new();
    for e in h {
        match &e.kind {
            EventKind::TaskScheduled { .. } if !scheduled.insert(e.event_id) => {
                return HistoryCheck::Duplicated;
            }
            EventKind::TaskCompleted {
                task_scheduled_id, ..
            } => {
                *answered.entry(*task_scheduled_id).or_default() += 1;
            }
            EventKind::TaskFailed { .. } => return HistoryCheck::Bad,
            _ => {}
        }
    }
    if starts > 1 || completions > 1 || answered.values().any(|&c| c > 1) {
        return HistoryCheck::Duplicated;
    }
    if starts != 1 || completions != 1 || scheduled.len() != 5 || answered.len() != 5 {
        return HistoryCheck::Bad;
    }
    HistoryCheck::Ok
}
