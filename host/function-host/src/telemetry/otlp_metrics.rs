//! The OTLP metric export of the `otel` feature: every `OTEL_METRIC_EXPORT_INTERVAL` (60 s by
//! default) and once more at shutdown, the host's metrics (the `/admin/metrics` exposition)
//! are sent to the collector over gRPC or HTTP/protobuf.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, ClientTlsConfig};

use super::settings::{self, Protocol, Settings};
use super::{millis_setting, prometheus_to_otlp, TelemetryError};

/// Where the metrics come from: the exposition, or `None` when it cannot be encoded.
pub type MetricsSource = Arc<dyn Fn() -> BoxFuture<'static, Option<String>> + Send + Sync>;

/// The export task.
pub(super) struct MetricExport {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

enum Transport {
    Grpc {
        client: MetricsServiceClient<Channel>,
        headers: Vec<(String, String)>,
        timeout: Duration,
    },
    Http {
        client: reqwest::Client,
        url: String,
        headers: Vec<(String, String)>,
        gzip: bool,
    },
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
        let transport = match s.protocol {
            Protocol::Grpc => {
                let mut endpoint = Channel::from_shared(s.endpoint.clone())
                    .map_err(|e| s.bad_endpoint(e))?
                    .timeout(s.timeout);
                if s.endpoint.starts_with("https://") {
                    endpoint = endpoint
                        .tls_config(ClientTlsConfig::new().with_native_roots())
                        .map_err(|e| s.bad_endpoint(e))?;
                }
                let mut client = MetricsServiceClient::new(endpoint.connect_lazy());
                if s.gzip {
                    client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                }
                Transport::Grpc {
                    client,
                    headers: s.headers.clone(),
                    timeout: s.timeout,
                }
            }
            Protocol::HttpProtobuf => Transport::Http {
                client: reqwest::Client::builder()
                    .timeout(s.timeout)
                    .build()
                    .map_err(|e| s.bad_endpoint(e))?,
                url: s.endpoint.clone(),
                headers: s.headers.clone(),
                gzip: s.gzip,
            },
        };
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
            match transport.send(request).await {
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

impl Transport {
    async fn send(&mut self, request: ExportMetricsServiceRequest) -> Result<(), String> {
        match self {
            Transport::Grpc {
                client,
                headers,
                timeout,
            } => {
                let mut req = tonic::Request::new(request);
                req.set_timeout(*timeout);
                for (k, v) in headers.iter() {
                    let key = tonic::metadata::MetadataKey::from_bytes(k.as_bytes())
                        .map_err(|e| e.to_string())?;
                    let value = v
                        .parse()
                        .map_err(|_| format!("header {k} has an invalid value"))?;
                    req.metadata_mut().insert(key, value);
                }
                client
                    .export(req)
                    .await
                    .map(|_| ())
                    .map_err(|s| s.to_string())
            }
            Transport::Http {
                client,
                url,
                headers,
                gzip,
            } => {
                let mut body = request.encode_to_vec();
                let mut post = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf");
                if *gzip {
                    let mut encoder =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    encoder.write_all(&body).map_err(|e| e.to_string())?;
                    body = encoder.finish().map_err(|e| e.to_string())?;
                    post = post.header("content-encoding", "gzip");
                }
                for (k, v) in headers.iter() {
                    post = post.header(k.as_str(), v.as_str());
                }
                let response = post.body(body).send().await.map_err(|e| e.to_string())?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("the collector answered {}", response.status()))
                }
            }
        }
    }
}
