//! The OTLP span exporter of the `otel` feature: a bounded buffer the runtime records into
//! without waiting, and one task that sends batches to the collector.
//!
//! Recording a span takes a short lock and a push; the export task is woken only when a
//! batch is full (or by its timer), not for every span: a busy host records tens of thousands
//! of spans a second, and a wake-up per span costs more than the span.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use parking_lot::Mutex;
use prost::Message as _;
use tokio::sync::{watch, Notify};
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

/// The bounded buffer spans are recorded into.
struct Queue {
    spans: Mutex<Vec<SpanRecord>>,
    /// Spans held at most (`OTEL_BSP_MAX_QUEUE_SIZE`); more are dropped.
    capacity: usize,
    /// Spans in one export request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`); this many queued wake
    /// the export task.
    batch: usize,
    full: Notify,
    dropped: AtomicU64,
}

impl SpanSink for Queue {
    fn record(&self, span: SpanRecord) {
        let queued = {
            let mut spans = self.spans.lock();
            if spans.len() >= self.capacity {
                None
            } else {
                spans.push(span);
                Some(spans.len())
            }
        };
        match queued {
            Some(n) if n == self.batch => self.full.notify_one(),
            Some(_) => {}
            None => {
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
}

impl Queue {
    /// Moves what is queued into `into` (dropping what it held), leaving `into`'s allocation
    /// for the next spans.
    fn take(&self, into: &mut Vec<SpanRecord>) {
        into.clear();
        std::mem::swap(&mut *self.spans.lock(), into);
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
        let queue = Arc::new(Queue {
            spans: Mutex::new(Vec::with_capacity(max_queue)),
            capacity: max_queue,
            batch: max_batch,
            full: Notify::new(),
            dropped: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(transport, resource, queue.clone(), stopped, delay));
        tracing::info!(
            protocol = s.protocol.name(),
            endpoint = %s.endpoint,
            "exporting traces over OTLP"
        );
        Ok(Self { queue, stop, task })
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

/// Exports what is queued whenever a batch is full or `delay` has passed since the last
/// export, in requests of at most a batch each; on stop, exports what is queued and ends.
async fn run(
    mut transport: Transport,
    resource: Vec<u8>,
    queue: Arc<Queue>,
    mut stop: watch::Receiver<bool>,
    delay: Duration,
) {
    let scope = InstrumentationScope {
        name: "durable".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..InstrumentationScope::default()
    }
    .encode_to_vec();
    let mut taken = Vec::with_capacity(queue.capacity);
    let mut failing = false;
    let mut stopping = false;
    while !stopping {
        tokio::select! {
            _ = queue.full.notified() => {}
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => stopping = true,
        }
        queue.take(&mut taken);
        for batch in taken.chunks(queue.batch) {
            let request = otlp_wire::export_request(batch, &resource, &scope);
            match transport.send(request).await {
                Ok(()) => {
                    if failing {
                        tracing::info!("exporting spans works again");
                    }
                    failing = false;
                }
                Err(e) => {
                    let spans = batch.len();
                    if failing {
                        tracing::debug!(error = %e, spans, "could not export spans");
                    } else {
                        tracing::warn!(error = %e, spans, "could not export spans to the OTLP endpoint; they are dropped");
                    }
                    failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use durable_engine::trace::{span_id_from, trace_id_from, SpanContext, SpanKind};

    use super::*;

    fn span(i: u128) -> SpanRecord {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let context = SpanContext::new(trace_id_from(i), span_id_from(i));
        SpanRecord::new("s", SpanKind::Internal, context, None, at, at)
    }

    #[tokio::test]
    async fn a_full_batch_wakes_the_export_and_a_full_queue_drops() {
        let queue = Queue {
            spans: Mutex::new(Vec::new()),
            capacity: 3,
            batch: 2,
            full: Notify::new(),
            dropped: AtomicU64::new(0),
        };
        queue.record(span(1));
        let woken = tokio::time::timeout(Duration::from_millis(50), queue.full.notified());
        assert!(woken.await.is_err(), "one span is not a batch");
        queue.record(span(2));
        let woken = tokio::time::timeout(Duration::from_secs(5), queue.full.notified());
        assert!(woken.await.is_ok(), "a full batch wakes the export");
        queue.record(span(3));
        queue.record(span(4));
        assert_eq!(queue.dropped.load(Ordering::Relaxed), 1);
        let mut taken = Vec::new();
        queue.take(&mut taken);
        assert_eq!(taken.len(), 3);
        queue.record(span(5));
        queue.take(&mut taken);
        assert_eq!(taken.len(), 1, "what was taken is not taken again");
    }
}
