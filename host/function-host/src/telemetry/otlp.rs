//! The OTLP span exporter of the `otel` feature: a bounded queue the runtime records into
//! without waiting, and one task that sends batches to the collector.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use durable_engine::trace::{SpanRecord, SpanSink, Tracer};

use super::settings::{self, Settings};
use super::settings::{count_setting, millis_setting};
use super::transport::{Signal, Transport};
use super::{otlp_wire, TelemetryError};

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

impl SpanExport {
    /// Builds the exporter from the settings and starts its task.
    pub fn start(
        service: &str,
        set: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let s = Settings::read(set, "TRACES")?;
        let delay = millis_setting(set, "OTEL_BSP_SCHEDULE_DELAY", Duration::from_secs(5))?;
        let max_queue = count_setting(set, "OTEL_BSP_MAX_QUEUE_SIZE", 2048)?;
        let max_batch = count_setting(set, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)?.min(max_queue);
        let transport = Transport::new(&s, Signal::Traces)?;
        let resource = Resource {
            attributes: settings::resource_attributes(service, set),
            ..Resource::default()
        }
        .encode_to_vec();
        let (spans, queued) = mpsc::channel(max_queue);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(transport, resource, queued, stopped, delay, max_batch));
        tracing::info!(
            protocol = s.protocol.name(),
            endpoint = %s.endpoint,
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
/// exports what is queued.
async fn run(
    mut transport: Transport,
    resource: Vec<u8>,
    mut queued: mpsc::Receiver<SpanRecord>,
    mut stop: watch::Receiver<bool>,
    delay: Duration,
    max_batch: usize,
) {
    let scope = InstrumentationScope {
        name: "durable".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..InstrumentationScope::default()
    }
    .encode_to_vec();
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
        let request = otlp_wire::export_request(&batch, &resource, &scope);
        batch.clear();
        match transport.send(request).await {
            Ok(()) => {
                if failing {
                    tracing::info!("exporting spans works again");
                }
                failing = false;
            }
            Err(e) => {
                if failing {
                    tracing::debug!(error = %e, spans = count, "could not export spans");
                } else {
                    tracing::warn!(error = %e, spans = count, "could not export spans to the OTLP endpoint; they are dropped");
                }
                failing = true;
            }
        }
    }
}
