//! OTLP over gRPC: the `TraceService` and `MetricsService` of the OTLP collector protocol on a
//! tonic server, accepting gzip-compressed requests. Every answer that is neither `OK` nor the
//! `UNAVAILABLE` the test asked for, and every call to another service or method, is recorded
//! as an error.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{BoxFuture, CompressionEncoding, Service};
use tonic::server::NamedService;
use tonic::service::{AxumBody, Routes};
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Status};

use super::Shared;

/// The largest request accepted (the default of 4 MiB is small for a big batch).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Serves OTLP/gRPC on `listener` until the task is dropped.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let traces = TraceServiceServer::new(Traces(Arc::clone(&shared)))
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE);
    let metrics = MetricsServiceServer::new(Metrics(Arc::clone(&shared)))
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE);
    let fallback_shared = Arc::clone(&shared);
    let router = Routes::new(Observed::new(traces, &shared))
        .add_service(Observed::new(metrics, &shared))
        .into_axum_router()
        .fallback(move |request: Request<AxumBody>| {
            let shared = Arc::clone(&fallback_shared);
            async move {
                shared.error(format!(
                    "gRPC {} {}: no such OTLP service or method",
                    request.method(),
                    request.uri().path()
                ));
                let (parts, ()) = Status::unimplemented("not an OTLP trace or metrics export")
                    .into_http::<()>()
                    .into_parts();
                Response::from_parts(parts, Body::empty())
            }
        });
    let served = tonic::transport::Server::builder()
        .add_routes(Routes::from(router))
        .serve_with_incoming(TcpIncoming::from(listener))
        .await;
    if let Err(e) = served {
        shared.error(format!("gRPC server stopped: {e}"));
    }
}

struct Traces(Arc<Shared>);

#[tonic::async_trait]
impl TraceService for Traces {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
        if self.0.refusing() {
            return Err(Status::unavailable("the test receiver is set unavailable"));
        }
        self.0.record_traces(request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

struct Metrics(Arc<Shared>);

#[tonic::async_trait]
impl MetricsService for Metrics {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, Status> {
        if self.0.refusing() {
            return Err(Status::unavailable("the test receiver is set unavailable"));
        }
        self.0.record_metrics(request.get_ref());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// A generated service, counting the calls it gets and recording the failed ones (requests
/// that do not decode, unsupported compression, unknown methods) as errors. tonic answers
/// those itself, with the status in the response headers, before a handler runs.
#[derive(Clone)]
struct Observed<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Observed<S> {
    fn new(inner: S, shared: &Arc<Shared>) -> Self {
        Observed {
            inner,
            shared: Arc::clone(shared),
        }
    }
}

impl<S: NamedService> NamedService for Observed<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<Request<Body>> for Observed<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.shared.arrived();
        let path = request.uri().path().to_owned();
        let shared = Arc::clone(&self.shared);
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            if let Some(status) = Status::from_header_map(response.headers()) {
                if !matches!(status.code(), Code::Ok | Code::Unavailable) {
                    shared.error(format!(
                        "gRPC {path}: {:?}: {}",
                        status.code(),
                        status.message()
                    ));
                }
            }
            Ok(response)
        })
    }
}
