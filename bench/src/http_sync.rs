//! W4: the real function host as a child process, driven by closed-loop HTTP/1.1 clients.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bench::host::SYNC_ROUTE;
use bench::{durability_label, peak_rss_mb, quantile, temp_dir, Line};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::observability::{Otel, Scraper};
use crate::*;

/// A child host process (`bench host ...`) with its stdout read line by line on a thread;
/// or `podman run` of an image of this binary, the host running in the container.
pub(crate) struct HostChild {
    pub(crate) child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// The container's name, when the host runs in one.
    container: Option<String>,
}

impl HostChild {
    pub(crate) fn spawn(args: &[&str], log: &std::path::Path) -> anyhow::Result<Self> {
        Self::spawn_with_env(args, &[], log)
    }

    /// [`HostChild::spawn`] with further environment variables (`--otel`'s `OTEL_*`).
    pub(crate) fn spawn_with_env(
        args: &[&str],
        env: &[(&'static str, String)],
        log: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("host").args(args).env("RUST_LOG", "warn");
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        Self::spawn_command(cmd, log, None)
    }

    /// `bench host http /data` in a container of `image` (built from the repository's
    /// Dockerfile around this binary), with `dir` mounted as `/data` and the HTTP port
    /// published on a free port of 127.0.0.1.
    pub(crate) fn spawn_container(
        image: &str,
        dir: &std::path::Path,
        log: &std::path::Path,
    ) -> anyhow::Result<Self> {
        // The image runs as uid 10001; the volume must be its.
        std::os::unix::fs::chown(dir, Some(10001), Some(10001))?;
        let name = format!("bench-w4-{}", std::process::id());
        let mut cmd = podman();
        cmd.args(["run", "--interactive", "--rm", "--name", &name])
            .args(["--publish", "127.0.0.1::7071", "--env", "RUST_LOG=warn"])
            .arg("--volume")
            .arg(format!("{}:/data", dir.display()))
            .args([image, "host", "http", "/data"]);
        Self::spawn_command(cmd, log, Some(name))
    }

    /// Spawns `cmd` with its stdout read line by line and its stderr appended to `log`
    /// (also the Python worker of `bench grpc`).
    pub(crate) fn spawn_command(
        mut cmd: Command,
        log: &std::path::Path,
        container: Option<String>,
    ) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let mut child = cmd
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
        Ok(Self {
            child,
            lines,
            container,
        })
    }

    /// Where the host listens for this process: the address it printed, or for a container
    /// the published port.
    pub(crate) fn address(&self, printed: String) -> anyhow::Result<String> {
        let Some(name) = &self.container else {
            return Ok(printed);
        };
        podman_output(&["port", name, "7071"])
    }

    /// The host's process id on this machine (a container's main process included).
    pub(crate) fn host_pid(&self) -> anyhow::Result<u32> {
        match &self.container {
            None => Ok(self.child.id()),
            Some(name) => {
                Ok(podman_output(&["inspect", "--format", "{{.State.Pid}}", name])?.parse()?)
            }
        }
    }

    /// The next line starting with `prefix` (others are skipped), or an error at EOF/timeout.
    pub(crate) fn expect(&self, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
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
        if let Some(name) = &self.container {
            let _ = podman().args(["rm", "--force", name]).output();
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// W4 http-sync: the real HTTP host in a child process, driven by closed-loop keep-alive
/// clients in this process.
pub(crate) async fn w4(o: &Opts) -> anyhow::Result<()> {
    anyhow::ensure!(
        o.full,
        "W4 runs the host with its default (durable) store settings"
    );
    let n = o.n.unwrap_or(10_000);
    let dir = temp_dir()?;
    let log = dir.path().join("host.log");
    let dir_arg = dir.path().to_string_lossy().to_string();
    let otel = o.otel.map(Otel::start).transpose()?;
    let env = otel.as_ref().map(Otel::settings).unwrap_or_default();
    let mut host = match &o.container {
        Some(image) => HostChild::spawn_container(image, dir.path(), &log)?,
        None => HostChild::spawn_with_env(&["http", &dir_arg], &env, &log)?,
    };
    let printed = host.expect("LISTENING ", Duration::from_secs(30))?;
    let addr = host.address(printed)?;
    let pid = host.host_pid()?;
    eprintln!("W4: host {pid} listening on {addr}");
    let scraper = otel.as_ref().map(|_| Scraper::http(addr.clone()));
    let path = format!("/api/{SYNC_ROUTE}");
    // warm-up
    closed_loop(&addr, &path, 1, 200).await?;
    let n1 = (n / 5).max(100);
    let (c1, c1_secs) = closed_loop(&addr, &path, 1, n1).await?;
    let (c64, c64_secs) = closed_loop(&addr, &path, 64, n).await?;
    let scrapes = match scraper {
        Some(s) => Some(s.stop().await),
        None => None,
    };
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
    let where_ = match &o.container {
        Some(image) => format!("host process in a container of {image}"),
        None => "host process".to_owned(),
    };
    let line = Line::new(
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
    .with("rss_of", where_);
    // The host flushed its spans when it stopped (above).
    let line = match (&otel, &scrapes) {
        (Some(otel), Some(scrapes)) => otel.finish(line, scrapes).await?,
        _ => line,
    };
    line.print(rss);
    Ok(())
}

/// `total` GET requests over `concurrency` keep-alive connections, each sending its next
/// request when the previous answer is in; returns sorted latencies (ms) and the wall time.
pub(crate) async fn closed_loop(
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

/// Reads one HTTP/1.1 response with a Content-Length body; its body, or an error unless it
/// is a 200.
pub(crate) async fn read_response(
    stream: &mut tokio::io::BufReader<tokio::net::TcpStream>,
) -> anyhow::Result<Vec<u8>> {
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
    Ok(body)
}

/// A podman command with the engine settings of `tests/containers/containers.conf` (unless
/// `CONTAINERS_CONF` names others).
fn podman() -> Command {
    let mut cmd = Command::new("podman");
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        cmd.env(
            "CONTAINERS_CONF",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/containers/containers.conf"
            ),
        );
    }
    cmd
}

/// Runs podman; its trimmed stdout, or an error with its stderr.
fn podman_output(args: &[&str]) -> anyhow::Result<String> {
    let out = podman().args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
