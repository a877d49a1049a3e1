//! `GET /admin/metrics`: the host's metrics in the Prometheus text format, authenticated
//! like the management API outside local development mode. It answers the runtime's metrics
//! (orchestrations, episodes, activities, entities, commits, batches, the live cache), the
//! host's HTTP requests by route and status, and the task hub's backlog (as the scale
//! endpoint reads it).

use std::sync::Arc;
use std::time::Duration;

use durable_http::{HttpResponse, StatusCode};
use durable_store::TaskHub;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The endpoint.
pub const METRICS_PATH: &str = "/admin/metrics";

/// Labels of an HTTP request: what it went to (a function's name, `durabletask` for the
/// management API, `admin` for the host's own endpoints, `none` when nothing matched), and
/// the status answered.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

/// Labels naming a route.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The host's HTTP metrics, and the runtime's registry to answer with them.
#[derive(Debug)]
pub struct HostMetrics {
    runtime: Arc<Registry>,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

impl HostMetrics {
    /// Metrics answered with the runtime's `runtime` registry.
    pub fn new(runtime: Arc<Registry>) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 18))
        });
        let mut registry = Registry::default();
        registry.register(
            "durable_http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "durable_http_request_duration_seconds",
            "Time to answer HTTP requests, by route",
            durations.clone(),
        );
        HostMetrics {
            runtime,
            registry,
            requests,
            durations,
        }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The exposition: the runtime's metrics, the host's, and the backlog of `store`.
    pub async fn answer(
        &self,
        store: &dyn TaskHub,
        targets: crate::scale::ScaleTargets,
    ) -> HttpResponse {
        match self.text(store, targets).await {
            Some(text) => HttpResponse::new(StatusCode::OK)
                .with_header(
                    http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )
                .with_body(text),
            None => HttpResponse::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the metrics could not be encoded",
            ),
        }
    }

    /// The metrics in the Prometheus text format (what [`answer`](Self::answer) answers and
    /// the OTLP export sends); `None` if they cannot be encoded.
    pub async fn text(
        &self,
        store: &dyn TaskHub,
        targets: crate::scale::ScaleTargets,
    ) -> Option<String> {
        use prometheus_client::encoding::prometheus_text::encode;
        let mut text = String::new();
        if encode(&mut text, &self.runtime).is_err() || encode(&mut text, &self.registry).is_err() {
            return None;
        }
        // The backlog is read from the task hub; without it the rest still answers.
        match store.backlog().await {
            Ok(backlog) => {
                let recommended = backlog.recommended_workers(
                    targets.activities_per_worker,
                    targets.orchestrations_per_worker,
                );
                text.push_str(&crate::scale::exposition(&backlog, recommended));
            }
            Err(e) => tracing::warn!(error = %e, "the metrics go without the backlog"),
        }
        Some(text)
    }
}
