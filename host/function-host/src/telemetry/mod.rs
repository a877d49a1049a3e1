//! The host's OTLP export: spans and metrics sent to any OpenTelemetry backend when the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or the `_TRACES_` / `_METRICS_` endpoint) is set;
//! off, and free, otherwise.
//!
//! The settings are OpenTelemetry's own: `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the
//! default, or `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
//! `OTEL_EXPORTER_OTLP_COMPRESSION`, their `_TRACES_` and `_METRICS_` forms, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`,
//! `OTEL_METRIC_EXPORT_INTERVAL`,
//! `OTEL_TRACES_EXPORTER=none`, `OTEL_METRICS_EXPORTER=none` and `OTEL_SDK_DISABLED`.
//! The exporter is the `otel` cargo feature; a host built without it says so when the
//! settings ask for traces.

use std::sync::Arc;
use std::time::Duration;

use durable_engine::trace::Tracer;

#[cfg(feature = "otel")]
mod otlp;
#[cfg(feature = "otel")]
mod otlp_metrics;
#[cfg(feature = "otel")]
mod otlp_wire;
#[cfg(feature = "otel")]
mod prometheus_to_otlp;
#[cfg(feature = "otel")]
mod settings;
#[cfg(feature = "otel")]
mod transport;

/// Where exported metrics come from: the Prometheus exposition the host answers at
/// `/admin/metrics`, or `None` when it cannot be encoded.
pub type MetricsSource =
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, Option<String>> + Send + Sync>;

/// A source of settings (the process environment, or a test's).
type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Why traces or metrics could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("OpenTelemetry setting {setting}: {reason}")]
pub struct TelemetryError {
    /// The environment variable at fault.
    pub setting: String,
    /// What is wrong.
    pub reason: String,
}

/// The host's OTLP export: a [`Tracer`] for the runtime and the clients, the metric export,
/// and what flushes both at shutdown.
pub struct Telemetry {
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    service: String,
    lookup: Lookup,
    tracer: Tracer,
    #[cfg(feature = "otel")]
    spans: Option<otlp::SpanExport>,
    #[cfg(feature = "otel")]
    metrics: Option<otlp_metrics::MetricExport>,
}

impl Telemetry {
    /// Reads the `OTEL_*` settings from the environment and starts the span export if they
    /// ask for it; `service` names the service when `OTEL_SERVICE_NAME` does not. Must run
    /// inside the host's Tokio runtime.
    pub fn from_env(service: &str) -> Result<Self, TelemetryError> {
        Self::from_lookup(service, |name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of settings.
    pub fn from_lookup(
        service: &str,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, TelemetryError> {
        let lookup: Lookup = Arc::new(move |name| lookup(name).filter(|v| !v.trim().is_empty()));
        #[allow(unused_mut)]
        let mut telemetry = Self {
            service: service.to_owned(),
            lookup,
            tracer: Tracer::default(),
            #[cfg(feature = "otel")]
            spans: None,
            #[cfg(feature = "otel")]
            metrics: None,
        };
        if telemetry.wants("TRACES") {
            telemetry.start_spans()?;
        }
        Ok(telemetry)
    }

    /// Whether the settings ask to export `signal` (`TRACES` or `METRICS`): an endpoint is
    /// set, and neither `OTEL_{signal}_EXPORTER=none` nor `OTEL_SDK_DISABLED=true` says no.
    fn wants(&self, signal: &str) -> bool {
        let set = &self.lookup;
        let endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || set(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")).is_some();
        let disabled = set("OTEL_SDK_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            || set(&format!("OTEL_{signal}_EXPORTER"))
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
        endpoint && !disabled
    }

    #[cfg(feature = "otel")]
    fn start_spans(&mut self) -> Result<(), TelemetryError> {
        let sampler = settings::sampler(&*self.lookup)?;
        let export = otlp::SpanExport::start(&self.service, &*self.lookup)?;
        self.tracer = export.tracer().with_sampler(sampler);
        self.spans = Some(export);
        Ok(())
    }

    #[cfg(not(feature = "otel"))]
    fn start_spans(&mut self) -> Result<(), TelemetryError> {
        not_built();
        Ok(())
    }

    /// Starts exporting the metrics of `source` if the settings ask for it.
    pub fn export_metrics(&mut self, source: MetricsSource) -> Result<(), TelemetryError> {
        if !self.wants("METRICS") {
            return Ok(());
        }
        #[cfg(feature = "otel")]
        {
            self.metrics = Some(otlp_metrics::MetricExport::start(
                &self.service,
                &*self.lookup,
                source,
            )?);
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = source;
            if !self.wants("TRACES") {
                not_built();
            }
        }
        Ok(())
    }

    /// Where spans go (off when traces are not exported).
    pub fn tracer(&self) -> Tracer {
        self.tracer.clone()
    }

    /// Exports the spans still queued and the metrics once more, within `deadline`.
    pub async fn shutdown(self, deadline: Duration) {
        #[cfg(feature = "otel")]
        {
            let spans = async {
                if let Some(export) = self.spans {
                    export.shutdown(deadline).await;
                }
            };
            let metrics = async {
                if let Some(export) = self.metrics {
                    export.shutdown(deadline).await;
                }
            };
            tokio::join!(spans, metrics);
        }
        #[cfg(not(feature = "otel"))]
        let _ = deadline;
    }
}

#[cfg(not(feature = "otel"))]
fn not_built() {
    tracing::warn!(
        "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this host was built without the `otel` \
         feature: nothing is exported over OTLP (build with `--features otel`)"
    );
}
