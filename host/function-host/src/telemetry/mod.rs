//! Distributed tracing out of the host: spans exported over OTLP when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, to any
//! OpenTelemetry backend; off, and free, otherwise.
//!
//! The settings are OpenTelemetry's own: `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the
//! default, or `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
//! `OTEL_EXPORTER_OTLP_COMPRESSION`, their `_TRACES_` forms, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_TRACES_EXPORTER=none` and `OTEL_SDK_DISABLED`.
//! The exporter is the `otel` cargo feature; a host built without it says so when the
//! settings ask for traces.

use std::time::Duration;

use durable_engine::trace::Tracer;

#[cfg(feature = "otel")]
mod convert;
#[cfg(feature = "otel")]
mod otlp;

/// Why traces could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("OpenTelemetry setting {setting}: {reason}")]
pub struct TelemetryError {
    /// The environment variable at fault.
    pub setting: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// The host's span export: a [`Tracer`] for the runtime and the clients, and what flushes
/// it at shutdown.
#[derive(Default)]
pub struct Telemetry {
    tracer: Tracer,
    #[cfg(feature = "otel")]
    exporter: Option<otlp::SpanExport>,
}

impl Telemetry {
    /// Reads the `OTEL_*` settings from the environment; `service` names the service when
    /// `OTEL_SERVICE_NAME` does not. Must run inside the host's Tokio runtime.
    pub fn from_env(service: &str) -> Result<Self, TelemetryError> {
        Self::from_lookup(service, &|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of settings.
    pub fn from_lookup(
        service: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let wanted = set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some();
        let disabled = set("OTEL_SDK_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
        if !wanted || disabled {
            return Ok(Self::default());
        }
        Self::start(service, &set)
    }

    #[cfg(feature = "otel")]
    fn start(service: &str, set: &dyn Fn(&str) -> Option<String>) -> Result<Self, TelemetryError> {
        let export = otlp::SpanExport::start(service, set)?;
        Ok(Self {
            tracer: export.tracer(),
            exporter: Some(export),
        })
    }

    #[cfg(not(feature = "otel"))]
    fn start(_: &str, _: &dyn Fn(&str) -> Option<String>) -> Result<Self, TelemetryError> {
        tracing::warn!(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this host was built without the `otel` \
             feature: no traces are exported (build with `--features otel`)"
        );
        Ok(Self::default())
    }

    /// Where spans go (off when traces are not exported).
    pub fn tracer(&self) -> Tracer {
        self.tracer.clone()
    }

    /// Exports the spans still queued, within `deadline`.
    pub async fn shutdown(self, deadline: Duration) {
        #[cfg(feature = "otel")]
        if let Some(export) = self.exporter {
            export.shutdown(deadline).await;
        }
        #[cfg(not(feature = "otel"))]
        let _ = deadline;
    }
}

/// A duration setting in milliseconds (`OTEL_BSP_SCHEDULE_DELAY`), or `default`.
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
fn millis_setting(
    set: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, TelemetryError> {
    match set(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| TelemetryError {
                setting: name,
                reason: format!("{v:?} is not a whole number of milliseconds"),
            }),
    }
}

/// A count setting (`OTEL_BSP_MAX_QUEUE_SIZE`), or `default`.
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
fn count_setting(
    set: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
) -> Result<usize, TelemetryError> {
    match set(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| TelemetryError {
                setting: name,
                reason: format!("{v:?} is not a positive whole number"),
            }),
    }
}
