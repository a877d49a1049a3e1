//! The OTLP metric export of the `otel` feature: every `OTEL_METRIC_EXPORT_INTERVAL` (60 s by
//! default) and once more at shutdown, the host's metrics (the `/admin/metrics` exposition)
//! are sent to the collector over gRPC or HTTP/protobuf.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::settings::millis_setting;
use super::settings::{self, Settings};
use super::transport::{Signal, Transport};
use super::{prometheus_to_otlp, MetricsSource, TelemetryError};

/// The export task.
pub(super) struct MetricExport {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MetricExport {
    /// Starts exporting `source` with the settings for service `service`.
    pub fn start(
        service: &str,
        set: &dyn Fn(&str) -> Option<String>,
        source: MetricsSource,
    ) -> Result<Self, TelemetryError> {
        let s = Settings::read(set, "METRICS")?;
        let interval = millis_setting(set, "OTEL_METRIC_EXPORT_INTERVAL", Duration::from_secs(60))?
            .max(Duration::from_millis(100));
        let transport = Transport::new(&s, Signal::Metrics)?;
        let resource = Resource {
            attributes: settings::resource_attributes(service, set),
            ..Resource::default()
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(transport, resource, source, interval, stopped));
        tracing::info!(
            protocol = s.protocol.name(),
            interval_ms = interval.as_millis() as u64,
            "exporting metrics over OTLP"
        );
        Ok(Self { stop, task })
    }

    /// Sends the metrics once more and stops, within `deadline`.
    pub async fn shutdown(self, deadline: Duration) {
        let _ = self.stop.send(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(deadline, self.task).await.is_err() {
            abort.abort();
        }
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

async fn run(
    mut transport: Transport,
    resource: Resource,
    source: MetricsSource,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let start = unix_nanos(SystemTime::now());
    let mut failing = false;
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = stop.changed() => true,
        };
        if let Some(text) = source().await {
            let metrics = prometheus_to_otlp::convert(&text, start, unix_nanos(SystemTime::now()));
            let request = ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: Some(resource.clone()),
                    scope_metrics: vec![ScopeMetrics {
                        scope: Some(InstrumentationScope {
                            name: "durable".into(),
                            version: env!("CARGO_PKG_VERSION").into(),
                            ..InstrumentationScope::default()
                        }),
                        metrics,
                        ..ScopeMetrics::default()
                    }],
                    ..ResourceMetrics::default()
                }],
            };
            match transport.send(request.encode_to_vec()).await {
                Ok(()) => {
                    if failing {
                        tracing::info!("exporting metrics works again");
                    }
                    failing = false;
                }
                Err(e) => {
                    if failing {
                        tracing::debug!(error = %e, "could not export metrics");
                    } else {
                        tracing::warn!(error = %e, "could not export metrics to the OTLP endpoint");
                    }
                    failing = true;
                }
            }
        }
        if stopping {
            break;
        }
    }
}
