//! `bench grpc`: W1's hello5 run by a Python worker of the Durable Task SDK over the Durable
//! Task protocol, on this host (`--backend host`, the default) or on the SDK's own in-memory
//! backend (`--backend python-inmemory`), to set against W1's Rust functions.
//!
//! On the host, the runtime runs in this process on a fresh SQLite task hub with W1's options
//! but no Rust function, so that `hello5` and `say_hello` go to the connected worker
//! (`RuntimeOptions::workers` = the [`WorkerHub`]); the gRPC server listens on
//! 127.0.0.1:0; the worker is `bench/python/hello5_worker.py` in a child process, run by the
//! venv's python of `tests/python/setup.sh` (the pinned `durabletask` SDK). The instances are
//! started, as in W1, by 64 concurrent tasks through the Rust `DurableClient`. On the
//! in-memory backend, `bench/python/hello5_inmemory.py` does the same with the SDK's backend,
//! the same worker script and the SDK's client, and prints its own line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use bench::host::start_all;
use bench::{
    any_unfinished, cpu_seconds, durability_label, hello5_results, open_hub, peak_rss_mb, quantile,
    secs_between, temp_dir, Line,
};
use durable::runtime::remote::Workers;
use durable::store::TaskHub;
use durable::{Registry, Runtime, RuntimeOptions};
use durable_grpc::WorkerHub;
use tokio::sync::oneshot;

use crate::http_sync::HostChild;
use crate::{stats_line, Opts};

/// Activities per hello5 instance.
const ACTIVITIES: u64 = 5;

/// Where the Python worker runs its work items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// This host: the runtime on SQLite, the protocol served by `durable-grpc`.
    Host,
    /// The SDK's `durabletask.testing` in-memory backend, in a Python process.
    PythonInMemory,
}

impl std::str::FromStr for Backend {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "host" => Ok(Backend::Host),
            "python-inmemory" => Ok(Backend::PythonInMemory),
            other => bail!("--backend host|python-inmemory, not {other:?}"),
        }
    }
}

/// `bench grpc`: N hello5 instances (default 2,000) on the chosen backend.
pub(crate) async fn grpc(o: &Opts) -> anyhow::Result<()> {
    let n = o.n.unwrap_or(2_000);
    let python = venv_python()?;
    match o.backend {
        Backend::Host => on_host(o, n, &python).await,
        Backend::PythonInMemory => in_memory(o, n, &python),
    }
}

/// The bench's Python scripts.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The test venv's python (`tests/python/setup.sh` creates it on first use and prints it).
fn venv_python() -> anyhow::Result<PathBuf> {
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/setup.sh");
    let out = Command::new("bash")
        .arg(&setup)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", setup.display()))?;
    anyhow::ensure!(out.status.success(), "{} failed", setup.display());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let python = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    anyhow::ensure!(python.exists(), "setup.sh printed no python ({stdout:?})");
    Ok(python)
}

/// W1 on this host with the Python worker serving hello5 and say_hello.
async fn on_host(o: &Opts, n: u64, python: &Path) -> anyhow::Result<()> {
    let dir = temp_dir()?;
    let (store, _) = open_hub(dir.path(), o.full)?;
    let hub = Arc::new(WorkerHub::new());
    let options = RuntimeOptions {
        workers: Some(Workers(hub.clone())),
        ..RuntimeOptions::default()
    };
    // No Rust functions: every name goes to the worker.
    let rt = Runtime::start(store.clone(), Registry::new(), options).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(durable_grpc::serve(
        listener,
        hub.clone(),
        rt.client(),
        async move {
            let _ = stopped.await;
        },
    ));

    let mut cmd = Command::new(python);
    cmd.arg(scripts().join("hello5_worker.py"))
        .args(["--address", &addr.to_string()]);
    if let Some(c) = o.concurrency {
        cmd.args(["--concurrency", &c.to_string()]);
    }
    let log = dir.path().join("worker.log");
    let mut worker = HostChild::spawn_command(cmd, &log, None)?;
    if let Err(e) = worker.expect("worker ready", Duration::from_secs(60)) {
        let kept = dir.keep();
        bail!(
            "the Python worker did not start ({e:#}); its log is {}",
            kept.join("worker.log").display()
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while hub.worker_count() == 0 {
        anyhow::ensure!(Instant::now() < deadline, "the worker did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = worker.child.id();
    eprintln!("grpc: Python worker {pid} connected to {addr}; starting {n} hello5 orchestrations");

    let client = rt.client();
    let ids: Vec<String> = (0..n).map(|i| format!("w1-{i:06}")).collect();
    let (worker_cpu0, bench_cpu0) = (cpu_seconds(Some(pid)), cpu_seconds(None));
    let t0 = SystemTime::now();
    let started = Instant::now();
    start_all(&client, "hello5", ids, 64).await?;
    let start_secs = started.elapsed().as_secs_f64();
    wait_ended(&store, "w1-").await?;
    let worker_cpu = cpu_seconds(Some(pid)) - worker_cpu0;
    let bench_cpu = cpu_seconds(None) - bench_cpu0;
    let worker_rss = peak_rss_mb(Some(pid));
    let results = hello5_results(&store, "w1-", n).await?;
    let secs = secs_between(t0, results.last);
    let activities = (ACTIVITIES * n) as f64;
    let line = Line::new(
        "grpc",
        "sqlite",
        durability_label(o.full),
        n,
        secs,
        n as f64 / secs,
        "orchestrations/s",
    )
    .with("backend", "host")
    .with("activities_per_s", activities / secs)
    .with("p50_ms", quantile(&results.latencies_ms, 0.5))
    .with("p99_ms", quantile(&results.latencies_ms, 0.99))
    .with("start_seconds", start_secs)
    .with("worker_cpu_s", worker_cpu)
    .with("worker_cpu_us_per_activity", worker_cpu * 1e6 / activities)
    .with("bench_cpu_s", bench_cpu)
    .with("bench_cpu_us_per_activity", bench_cpu * 1e6 / activities)
    .with("concurrency", o.concurrency)
    .with("worker_peak_rss_mb", worker_rss);
    let line = stats_line(&rt, line);
    let rss = peak_rss_mb(None);

    // The worker first (nothing is in flight), then the server, then the runtime.
    // SAFETY: kill has no memory preconditions; the pid is our child's, not yet reaped.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    while worker.child.try_wait()?.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(worker); // kills it if it is still running
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    rt.shutdown().await;
    line.print(rss);
    Ok(())
}

/// Waits until no instance with `prefix` is unfinished, checking every 100 ms. W1's 10 ms
/// polling was a tenth of this process's CPU in a profile of a 33 s run (the query takes about
/// 0.35 ms), and the end time is the last `completed_at` anyway.
async fn wait_ended(store: &Arc<dyn TaskHub>, prefix: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while any_unfinished(store, prefix).await? {
        anyhow::ensure!(Instant::now() < deadline, "not finished within 600 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// W1 on the SDK's in-memory backend: runs `hello5_inmemory.py` (its progress on stderr, the
/// worker's log in a file, kept only on failure) and prints the line it prints.
fn in_memory(o: &Opts, n: u64, python: &Path) -> anyhow::Result<()> {
    let dir = temp_dir()?;
    let log = dir.path().join("worker.log");
    let mut cmd = Command::new(python);
    cmd.arg(scripts().join("hello5_inmemory.py"))
        .args(["--n", &n.to_string()])
        .arg("--worker-log")
        .arg(&log);
    if let Some(c) = o.concurrency {
        cmd.args(["--concurrency", &c.to_string()]);
    }
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        let kept = dir.keep();
        bail!(
            "hello5_inmemory.py failed ({}); the worker's log is in {}",
            out.status,
            kept.join("worker.log").display()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .context("hello5_inmemory.py printed no line")?;
    println!("{line}");
    Ok(())
}
