//! The OTLP span exporter of the `otel` feature: a bounded queue the runtime records into
//! without waiting, and one task that sends batches to the collector.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SpanExporter as _;
use opentelemetry_sdk::Resource;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use durable_engine::trace::{SpanRecord, SpanSink, Tracer};

use super::{convert, count_setting, millis_setting, TelemetryError};

/// Spans queued for export and the task that exports them.
pub(super) struct SpanExport {
    queue: Arc<Queue>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The bounded queue spans are recorded into.
struct Queue {
    spans: mpsc::Sender<SpanRecord>,
    dropped: AtomicU64,
}

impl SpanSink for Queue {
    fn record(&self, span: SpanRecord) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.spans.try_send(span) {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "the span export queue is full (OTEL_BSP_MAX_QUEUE_SIZE); spans are dropped"
                );
            }
        }
    }
}

/// How the settings choose the transport.
fn protocol(set: &dyn Fn(&str) -> Option<String>) -> Result<Protocol, TelemetryError> {
    let (setting, value) = [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]
    .into_iter()
    .find_map(|name| set(name).map(|v| (name, v)))
    .unwrap_or(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()));
    match value.trim() {
        "grpc" => Ok(Protocol::Grpc),
        "http/protobuf" => Ok(Protocol::HttpBinary),
        other => Err(TelemetryError {
            setting,
            reason: format!("{other:?} is not supported; use \"http/protobuf\" or \"grpc\""),
        }),
    }
}

impl SpanExport {
    /// Builds the exporter from the settings and starts its task.
    pub fn start(
        service: &str,
        set: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let protocol = protocol(set)?;
        let delay = millis_setting(set, "OTEL_BSP_SCHEDULE_DELAY", Duration::from_secs(5))?;
        let max_queue = count_setting(set, "OTEL_BSP_MAX_QUEUE_SIZE", 2048)?;
        let max_batch = count_setting(set, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)?.min(max_queue);
        let built = match protocol {
            Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(protocol)
                .build(),
            _ => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .build(),
        };
        let mut exporter = built.map_err(|e| TelemetryError {
            setting: "OTEL_EXPORTER_OTLP_ENDPOINT",
            reason: e.to_string(),
        })?;
        let service_name = set("OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned());
        let resource = Resource::builder()
            .with_service_name(service_name.clone())
            .with_attributes([KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))])
            .build();
        exporter.set_resource(&resource);
        let (spans, queued) = mpsc::channel(max_queue);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(exporter, queued, stopped, delay, max_batch));
        tracing::info!(
            protocol = if protocol == Protocol::Grpc { "grpc" } else { "http/protobuf" },
            service = %service_name,
            "exporting traces over OTLP"
        );
        Ok(Self {
            queue: Arc::new(Queue {
                spans,
                dropped: AtomicU64::new(0),
            }),
            stop,
            task,
        })
    }

    /// Records into this export.
    pub fn tracer(&self) -> Tracer {
        Tracer::new(self.queue.clone())
    }

    /// Sends what is queued, within `deadline`, and stops.
    pub async fn shutdown(self, deadline: Duration) {
        let _ = self.stop.send(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(deadline, self.task).await.is_err() {
            abort.abort();
            tracing::warn!("the shutdown deadline passed before the queued spans were exported");
        }
    }
}

/// Collects spans into batches (full, or `delay` after the first) and exports each; on stop,
/// exports what is queued and shuts the exporter down.
async fn run(
    exporter: opentelemetry_otlp::SpanExporter,
    mut queued: mpsc::Receiver<SpanRecord>,
    mut stop: watch::Receiver<bool>,
    delay: Duration,
    max_batch: usize,
) {
    let scope = convert::scope();
    let mut batch = Vec::with_capacity(max_batch);
    let mut failing = false;
    let mut stopping = false;
    loop {
        if batch.is_empty() && !stopping {
            tokio::select! {
                got = queued.recv_many(&mut batch, max_batch) => stopping = got == 0,
                _ = stop.changed() => stopping = true,
            }
        }
        if !stopping {
            let timer = tokio::time::sleep(delay);
            tokio::pin!(timer);
            while batch.len() < max_batch {
                let room = max_batch - batch.len();
                tokio::select! {
                    biased;
                    _ = stop.changed() => { stopping = true; break }
                    got = queued.recv_many(&mut batch, room) => {
                        if got == 0 { stopping = true; break }
                    }
                    _ = &mut timer => break,
                }
            }
        }
        if stopping {
            while batch.len() < max_batch {
                match queued.try_recv() {
                    Ok(span) => batch.push(span),
                    Err(_) => break,
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        let count = batch.len();
        let data = batch
            .drain(..)
            .map(|s| convert::span_data(s, &scope))
            .collect();
        match exporter.export(data).await {
            Ok(()) => {
                if failing {
                    tracing::info!("exporting spans works again");
                }
                failing = false;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, spans = count, "could not export spans to the OTLP endpoint; they are dropped");
                } else {
                    tracing::debug!(error = %e, spans = count, "could not export spans");
                }
                failing = true;
            }
        }
    }
    let _ = exporter.shutdown();
}
