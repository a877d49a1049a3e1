//! `--otel [grpc|http]`: W1 and W4 with traces exported over OTLP to a receiver in this
//! process and the Prometheus metrics scraped once per second, to measure what observability
//! costs against the same build with both off.
//!
//! The receiver is `durable_testing`'s [`OtlpReceiver`] (it decodes the real OTLP protobuf
//! on a thread of its own, like a collector on the same machine would). The exporter uses the
//! default batch settings (`OTEL_BSP_*` unset): 2,048 queued spans, batches of 512, sent when
//! full or 5 s after the first span.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bench::Line;
use durable::host::telemetry::Telemetry;
use durable_testing::otlp_receiver::{OtlpReceiver, Protocol};
use prometheus_client::registry::Registry;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::http_sync::read_response;

/// `OTEL_SERVICE_NAME` of the bench's spans.
const SERVICE: &str = "bench";

/// How often the metrics are scraped.
const SCRAPE_EVERY: Duration = Duration::from_secs(1);

/// The transport named on the command line (`grpc`, `http` or `http/protobuf`).
pub(crate) fn protocol(name: &str) -> Option<Protocol> {
    match name {
        "grpc" => Some(Protocol::Grpc),
        "http" | "http/protobuf" => Some(Protocol::HttpProtobuf),
        _ => None,
    }
}

/// The OTLP receiver of one run.
pub(crate) struct Otel {
    receiver: OtlpReceiver,
}

impl Otel {
    /// Starts a receiver for `protocol` on a free port of 127.0.0.1.
    pub(crate) fn start(protocol: Protocol) -> anyhow::Result<Self> {
        let receiver = OtlpReceiver::start(protocol).context("starting the OTLP receiver")?;
        // A collector that drops what it decodes: keeping 100,000 spans would cost this process.
        receiver.count_only(true);
        eprintln!(
            "otel: OTLP receiver ({}) at {}",
            receiver.protocol_setting(),
            receiver.endpoint()
        );
        Ok(Self { receiver })
    }

    /// The `OTEL_*` settings that send traces to the receiver (for the W4 host's environment,
    /// and for [`Otel::telemetry`]).
    pub(crate) fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.receiver.endpoint()),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                self.receiver.protocol_setting().to_owned(),
            ),
            ("OTEL_SERVICE_NAME", SERVICE.to_owned()),
        ]
    }

    /// The span export for a runtime in this process (W1), as the host sets it up: the
    /// receiver's settings, any other `OTEL_*` from this process's environment (which the W4
    /// host inherits too, e.g. `OTEL_BSP_MAX_QUEUE_SIZE`). Must run inside a Tokio runtime.
    pub(crate) fn telemetry(&self) -> anyhow::Result<Telemetry> {
        let settings = self.settings();
        let lookup = move |name: &str| {
            settings
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(name).ok())
        };
        Ok(Telemetry::from_lookup(SERVICE, lookup)?)
    }

    /// Waits until no export request has arrived for 500 ms (at most 10 s; the exporter has
    /// flushed by then), and adds the receiver's and the scraper's counts to `line`. Fails if
    /// no span arrived: the run would not have measured tracing at all.
    pub(crate) async fn finish(&self, line: Line, scrapes: &Scrapes) -> anyhow::Result<Line> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut requests = self.receiver.requests();
        let mut still_since = Instant::now();
        while Instant::now() < deadline && still_since.elapsed() < Duration::from_millis(500) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.receiver.requests() != requests {
                (requests, still_since) = (self.receiver.requests(), Instant::now());
            }
        }
        // `spans()` copies every span: once, at the end.
        let spans = self.receiver.spans_received();
        let errors = self.receiver.errors();
        anyhow::ensure!(
            spans > 0,
            "--otel: the OTLP receiver got no spans ({requests} requests, errors {errors:?})"
        );
        if let Some(first) = errors.first() {
            eprintln!("otel: {} receiver errors, the first: {first}", errors.len());
        }
        Ok(line
            .with("otel", self.receiver.protocol_setting())
            .with("spans", spans as u64)
            .with("export_requests", requests as u64)
            .with("receiver_errors", errors.len() as u64)
            .with("receiver_cpu_s", receiver_cpu_secs())
            .with("scrapes", scrapes.scrapes)
            .with("scrape_failures", scrapes.failures)
            .with("scrape_bytes", scrapes.last_bytes as u64))
    }
}

/// What the scraper did.
#[derive(Debug, Default)]
pub(crate) struct Scrapes {
    /// Scrapes that returned the metrics.
    pub(crate) scrapes: u64,
    /// Scrapes that failed (connection, status, encoding).
    pub(crate) failures: u64,
    /// Size of the last text scraped.
    pub(crate) last_bytes: usize,
}

/// Reads the metrics once per second (the first at once) until stopped.
pub(crate) struct Scraper {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Scrapes>,
}

impl Scraper {
    /// Encodes a runtime's registry to the Prometheus text format, as a scrape would (W1).
    pub(crate) fn in_process(registry: Arc<Registry>) -> Self {
        Self::every_second(move || {
            let registry = registry.clone();
            async move {
                let mut text = String::new();
                prometheus_client::encoding::text::encode(&mut text, &registry)?;
                anyhow::Ok(text.len())
            }
        })
    }

    /// `GET /admin/metrics` on the host at `addr` over one keep-alive connection, opened again
    /// after a failure (W4).
    pub(crate) fn http(addr: String) -> Self {
        let conn: Arc<tokio::sync::Mutex<Option<Conn>>> = Arc::default();
        Self::every_second(move || {
            let (conn, addr) = (conn.clone(), addr.clone());
            async move {
                let mut conn = conn.lock().await;
                let got = scrape_http(&mut conn, &addr).await;
                if got.is_err() {
                    *conn = None;
                }
                got
            }
        })
    }

    fn every_second<F, Fut>(mut scrape: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<usize>> + Send,
    {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut counts = Scrapes::default();
            let mut tick = tokio::time::interval(SCRAPE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => return counts,
                    _ = tick.tick() => {}
                }
                match scrape().await {
                    Ok(bytes) => (counts.scrapes, counts.last_bytes) = (counts.scrapes + 1, bytes),
                    Err(e) => {
                        if counts.failures == 0 {
                            eprintln!("metrics scrape failed: {e:#}");
                        }
                        counts.failures += 1;
                    }
                }
            }
        });
        Self { stop, task }
    }

    /// Stops scraping; what was done.
    pub(crate) async fn stop(self) -> Scrapes {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

type Conn = tokio::io::BufReader<tokio::net::TcpStream>;

/// One scrape over `conn` (connecting first if there is none); the body's size.
async fn scrape_http(conn: &mut Option<Conn>, addr: &str) -> anyhow::Result<usize> {
    if conn.is_none() {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        *conn = Some(tokio::io::BufReader::new(stream));
    }
    let stream = conn.as_mut().expect("connected above");
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: keep-alive\r\n\r\n",
        durable::host::metrics::METRICS_PATH
    );
    stream.get_mut().write_all(request.as_bytes()).await?;
    let body = tokio::time::timeout(Duration::from_secs(5), read_response(stream))
        .await
        .context("no answer within 5 s")??;
    Ok(body.len())
}

/// CPU seconds (user + system) of the receiver's thread (`otlp-receiver-<port>`) so far,
/// from `/proc/self/task/*/stat`; `None` if it cannot be read.
fn receiver_cpu_secs() -> Option<f64> {
    // SAFETY: sysconf only reads a configuration value.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
        // `pid (comm) state ...`: utime and stime are the 12th and 13th fields after `)`.
        let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        if comm.starts_with("otlp-receiver") {
            let f: Vec<&str> = rest.split_whitespace().collect();
            ticks += f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        }
    }
    Some(ticks as f64 / tick)
}
