//! An OTLP receiver standing in for an OpenTelemetry collector: a test starts one, points a
//! host's `OTEL_EXPORTER_OTLP_ENDPOINT` (and `OTEL_EXPORTER_OTLP_PROTOCOL`) at it, and then
//! checks the spans and metrics the host exported.
//!
//! It speaks the real protocol, decoding the OTLP protobuf messages of `opentelemetry-proto`,
//! over either transport an exporter may use:
//!
//! - [`Protocol::Grpc`]: the `TraceService/Export` and `MetricsService/Export` methods of the
//!   OTLP collector services (tonic), requests plain or gzip-compressed;
//! - [`Protocol::HttpProtobuf`]: `POST /v1/traces` and `POST /v1/metrics` with
//!   `Content-Type: application/x-protobuf`, bodies plain or `Content-Encoding: gzip`.
//!
//! What it receives is flattened into [`ReceivedSpan`]s and [`ReceivedMetric`]s. Requests it
//! cannot take (an unknown path or method, a wrong content type, a body that does not decode)
//! are refused and recorded in [`OtlpReceiver::errors`], so a test can assert there were none.
//! [`OtlpReceiver::set_unavailable`] makes it refuse exports as a collector that is down would
//! (gRPC `UNAVAILABLE`, HTTP 503).
//!
//! Like the fault proxy, it runs on a thread of its own with its own Tokio runtime, so it works
//! from synchronous tests and from any runtime flavor, and keeps working while the test's
//! runtime is busy. Dropping it stops it.
//!
//! ```no_run
//! # async fn example() -> Result<(), String> {
//! use std::time::Duration;
//! use durable_testing::otlp_receiver::{OtlpReceiver, Protocol, SpanKind};
//!
//! let otlp = OtlpReceiver::start(Protocol::Grpc).expect("an OTLP receiver");
//! // ... start the host with OTEL_EXPORTER_OTLP_ENDPOINT = otlp.endpoint() and
//! // OTEL_EXPORTER_OTLP_PROTOCOL = otlp.protocol_setting() ...
//! let spans = otlp
//!     .wait_for_spans(Duration::from_secs(10), |spans| {
//!         spans.iter().any(|s| s.kind == SpanKind::Server)
//!     })
//!     .await?;
//! let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap();
//! println!("{}", otlp.tree(&server.trace_id));
//! assert!(otlp.errors().is_empty(), "{:?}", otlp.errors());
//! # Ok(()) }
//! ```

mod grpc;
mod http;
mod model;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use model::{
    AttrValue, MetricKind, MetricPoint, ReceivedMetric, ReceivedSpan, SpanKind, SpanStatus,
    StatusCode,
};

/// How often the `wait_for_*` methods look at what was received.
const POLL: Duration = Duration::from_millis(50);

/// The transport a receiver serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OTLP over gRPC.
    Grpc,
    /// OTLP over HTTP with protobuf bodies.
    HttpProtobuf,
}

impl Protocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL` selecting this transport: `grpc` or
    /// `http/protobuf`.
    pub fn setting(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// What the receiver collected so far.
#[derive(Default)]
struct Collected {
    spans: Vec<ReceivedSpan>,
    metrics: Vec<ReceivedMetric>,
    requests: usize,
    rejected: usize,
    errors: Vec<String>,
}

/// State shared by the handle and the serving thread.
#[derive(Default)]
pub(crate) struct Shared {
    collected: Mutex<Collected>,
    unavailable: AtomicBool,
    /// Count spans instead of keeping them (a benchmark's collector).
    count_only: AtomicBool,
    counted: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Collected> {
        self.collected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an export request.
    pub(crate) fn arrived(&self) {
        self.lock().requests += 1;
    }

    /// Whether the receiver refuses exports now; counts the refusal if it does.
    pub(crate) fn refusing(&self) -> bool {
        let refusing = self.unavailable.load(Ordering::SeqCst);
        if refusing {
            self.lock().rejected += 1;
        }
        refusing
    }

    /// Records the spans of an accepted export.
    pub(crate) fn record_traces(&self, request: &ExportTraceServiceRequest) {
        if self.count_only.load(Ordering::Relaxed) {
            let n: usize = request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            self.counted.fetch_add(n, Ordering::Relaxed);
            return;
        }
        let spans = model::flatten_traces(request);
        self.lock().spans.extend(spans);
    }

    /// Records the metrics of an accepted export.
    pub(crate) fn record_metrics(&self, request: &ExportMetricsServiceRequest) {
        let metrics = model::flatten_metrics(request);
        self.lock().metrics.extend(metrics);
    }

    /// Records a request the receiver could not take.
    pub(crate) fn error(&self, message: String) {
        self.lock().errors.push(message);
    }
}

/// A running OTLP receiver; dropping it stops it.
pub struct OtlpReceiver {
    protocol: Protocol,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Decodes spans but only counts them from now on, as a collector that drops what it
    /// receives would: for benchmarks, where keeping every span would cost the process
    /// measured. [`spans`](Self::spans) then holds only those kept before.
    pub fn count_only(&self, on: bool) {
        self.shared.count_only.store(on, Ordering::Relaxed);
    }

    /// How many spans were received, kept or only counted.
    pub fn spans_received(&self) -> usize {
        self.shared.counted.load(Ordering::Relaxed) + self.shared.lock().spans.len()
    }

    /// Starts a receiver for `protocol` on `127.0.0.1` on a free port. It accepts exports
    /// until told otherwise ([`OtlpReceiver::set_unavailable`]).
    pub fn start(protocol: Protocol) -> io::Result<OtlpReceiver> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("otlp-receiver-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            serving.error(format!("cannot listen on {addr}: {e}"));
                            return;
                        }
                    };
                    let serve = async {
                        match protocol {
                            Protocol::Grpc => grpc::serve(listener, Arc::clone(&serving)).await,
                            Protocol::HttpProtobuf => {
                                http::serve(listener, Arc::clone(&serving)).await
                            }
                        }
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here drops every connection still open.
            })?;
        Ok(OtlpReceiver {
            protocol,
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The transport this receiver serves.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`: `http://127.0.0.1:PORT` (HTTP
    /// exporters append `/v1/traces` and `/v1/metrics` themselves).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The value for `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or `http/protobuf`.
    pub fn protocol_setting(&self) -> &'static str {
        self.protocol.setting()
    }

    /// Every span received so far, in the order received.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.lock().spans.clone()
    }

    /// Every metric received so far, in the order received (a metric exported periodically
    /// appears once per export).
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        self.shared.lock().metrics.clone()
    }

    /// How many export requests arrived, traces and metrics, whether accepted, refused as
    /// unavailable or malformed.
    pub fn requests(&self) -> usize {
        self.shared.lock().requests
    }

    /// How many export requests were refused because the receiver was set unavailable.
    pub fn rejected(&self) -> usize {
        self.shared.lock().rejected
    }

    /// The requests the receiver could not take (unknown path, service or method, wrong
    /// content type or encoding, a body that does not decode), described, oldest first. Being
    /// set unavailable is not an error.
    pub fn errors(&self) -> Vec<String> {
        self.shared.lock().errors.clone()
    }

    /// With `true`, refuse every export from now on as a collector that is down would: gRPC
    /// `UNAVAILABLE`, HTTP 503 (nothing is recorded but the count in
    /// [`OtlpReceiver::rejected`]); with `false`, accept them again.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.shared.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Forgets the spans, metrics, counts and errors received so far.
    pub fn clear(&self) {
        *self.shared.lock() = Collected::default();
    }

    /// Waits until `pred` holds for the spans received so far (looking every 50 ms) and
    /// returns them; after `timeout`, an error listing what was received.
    pub async fn wait_for_spans(
        &self,
        timeout: Duration,
        pred: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Result<Vec<ReceivedSpan>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if pred(&spans) {
                return Ok(spans);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the spans expected did not arrive within {timeout:?}\n{}",
                    self.summary()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until a metric named `name` is received (looking every 50 ms) and returns the
    /// latest one; after `timeout`, an error listing what was received.
    pub async fn wait_for_metric(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<ReceivedMetric, String> {
        let metrics = self
            .wait_for_metrics(timeout, |metrics| metrics.iter().any(|m| m.name == name))
            .await
            .map_err(|e| format!("no metric {name:?}: {e}"))?;
        Ok(metrics
            .into_iter()
            .rev()
            .find(|m| m.name == name)
            .expect("the metric waited for"))
    }

    /// Waits until `pred` holds for the metrics received so far (looking every 50 ms) and
    /// returns them; after `timeout`, an error listing what was received.
    pub async fn wait_for_metrics(
        &self,
        timeout: Duration,
        pred: impl Fn(&[ReceivedMetric]) -> bool,
    ) -> Result<Vec<ReceivedMetric>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let metrics = self.metrics();
            if pred(&metrics) {
                return Ok(metrics);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the metrics expected did not arrive within {timeout:?}\n{}",
                    self.summary()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A readable account of everything received: counts, errors, every span (name, kind,
    /// ids, parent, service) and the names of the metrics. For failure messages.
    pub fn summary(&self) -> String {
        let collected = self.shared.lock();
        let mut out = format!(
            "OTLP receiver ({}, {}): {} export requests, {} refused as unavailable, {} spans, \
             {} metrics\n",
            self.protocol.setting(),
            self.endpoint(),
            collected.requests,
            collected.rejected,
            collected.spans.len(),
            collected.metrics.len()
        );
        if !collected.errors.is_empty() {
            out.push_str("errors:\n");
            for e in &collected.errors {
                let _ = writeln!(out, "  {e}");
            }
        }
        if !collected.spans.is_empty() {
            out.push_str("spans:\n");
        }
        for s in &collected.spans {
            let _ = writeln!(
                out,
                "  {:?} [{:?}] trace={} span={} parent={} service={}",
                s.name,
                s.kind,
                s.trace_id,
                s.span_id,
                s.parent_span_id.as_deref().unwrap_or("-"),
                s.service_name.as_deref().unwrap_or("-"),
            );
        }
        let names: BTreeSet<&str> = collected.metrics.iter().map(|m| m.name.as_str()).collect();
        if !names.is_empty() {
            let names: Vec<&str> = names.into_iter().collect();
            let _ = writeln!(out, "metrics: {}", names.join(", "));
        }
        out
    }

    /// The spans of the trace `trace_id` as a tree, one line each, children indented under
    /// their parent and ordered by start time; a span whose parent was not received is shown
    /// as a root, marked so. For failure messages.
    pub fn tree(&self, trace_id: &str) -> String {
        let mut spans: Vec<ReceivedSpan> = self
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect();
        spans.sort_by_key(|s| s.start_unix_nanos);
        let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
        let mut children: BTreeMap<&str, Vec<&ReceivedSpan>> = BTreeMap::new();
        let mut roots = Vec::new();
        for s in &spans {
            match s.parent_span_id.as_deref() {
                Some(parent) if ids.contains(parent) && parent != s.span_id => {
                    children.entry(parent).or_default().push(s)
                }
                _ => roots.push(s),
            }
        }
        let mut out = format!("trace {trace_id} ({} spans)\n", spans.len());
        let mut shown = HashSet::new();
        for root in roots {
            render(root, 1, &children, &mut shown, &mut out);
        }
        // Spans only reachable through a cycle of parents (never from a sane exporter).
        for s in &spans {
            if !shown.contains(s.span_id.as_str()) {
                render(s, 1, &children, &mut shown, &mut out);
            }
        }
        out
    }
}

fn render<'a>(
    span: &'a ReceivedSpan,
    depth: usize,
    children: &BTreeMap<&str, Vec<&'a ReceivedSpan>>,
    shown: &mut HashSet<&'a str>,
    out: &mut String,
) {
    if !shown.insert(span.span_id.as_str()) {
        return;
    }
    let _ = write!(
        out,
        "{:indent$}{} [{:?}] span={} {:.3}ms",
        "",
        span.name,
        span.kind,
        span.span_id,
        span.duration_nanos() as f64 / 1e6,
        indent = depth * 2
    );
    if let Some(service) = &span.service_name {
        let _ = write!(out, " service={service}");
    }
    if span.status.code != StatusCode::Unset {
        let _ = write!(out, " status={:?}", span.status.code);
        if !span.status.message.is_empty() {
            let _ = write!(out, "({})", span.status.message);
        }
    }
    if let Some(parent) = &span.parent_span_id {
        if depth == 1 {
            let _ = write!(out, " (parent {parent} not received)");
        }
    }
    out.push('\n');
    for child in children.get(span.span_id.as_str()).into_iter().flatten() {
        render(child, depth + 1, children, shown, out);
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, name: &str, start: u64) -> ReceivedSpan {
        ReceivedSpan {
            trace_id: "t".repeat(32),
            span_id: id.to_owned(),
            parent_span_id: parent.map(str::to_owned),
            name: name.to_owned(),
            kind: SpanKind::Internal,
            start_unix_nanos: start,
            end_unix_nanos: start + 1_000_000,
            attributes: BTreeMap::new(),
            status: SpanStatus {
                code: StatusCode::Unset,
                message: String::new(),
            },
            links: Vec::new(),
            events: Vec::new(),
            service_name: None,
            scope_name: String::new(),
        }
    }

    #[test]
    fn otlp_tree_indents_children_under_their_parent() {
        let otlp = OtlpReceiver::start(Protocol::HttpProtobuf).unwrap();
        otlp.shared.lock().spans.extend([
            span("b", Some("a"), "child", 2),
            span("a", None, "root", 1),
            span("c", Some("b"), "grandchild", 3),
            span("d", Some("zz"), "orphan", 4),
        ]);
        let tree = otlp.tree(&"t".repeat(32));
        let lines: Vec<&str> = tree.lines().collect();
        assert_eq!(lines.len(), 5, "{tree}");
        assert!(lines[1].starts_with("  root [Internal] span=a"), "{tree}");
        assert!(lines[2].starts_with("    child "), "{tree}");
        assert!(lines[3].starts_with("      grandchild "), "{tree}");
        assert!(lines[4].contains("orphan") && lines[4].contains("parent zz not received"));
    }

    #[test]
    fn otlp_hex_is_lower_case() {
        assert_eq!(model::hex(&[0x0a, 0xff, 0x10]), "0aff10");
    }
}
