//! OTLP over HTTP with protobuf bodies (`http/protobuf`): `POST /v1/traces` and
//! `POST /v1/metrics`, `Content-Type: application/x-protobuf`, the body optionally
//! `Content-Encoding: gzip`. Anything else is answered with an error status and recorded as
//! an error.

use std::convert::Infallible;
use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use tokio::net::TcpListener;

use super::Shared;

const PROTOBUF: &str = "application/x-protobuf";

/// Serves OTLP/HTTP on `listener` until the task is dropped.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, say: do not spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(answer(request, &shared).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Metrics,
}

async fn answer(request: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let signal = match path.as_str() {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        _ => {
            shared.error(format!(
                "HTTP {method} {}: no such OTLP path",
                request.uri()
            ));
            return text(StatusCode::NOT_FOUND, "not an OTLP trace or metrics path");
        }
    };
    if method != Method::POST {
        shared.error(format!("HTTP {method} {path}: OTLP exports are POSTs"));
        return text(StatusCode::METHOD_NOT_ALLOWED, "OTLP exports are POSTs");
    }
    shared.arrived();
    let header = |name| {
        request
            .headers()
            .get(name)
            .map(|v: &hyper::header::HeaderValue| {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            })
    };
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case(PROTOBUF) {
        shared.error(format!(
            "HTTP POST {path}: Content-Type {content_type:?}, expected {PROTOBUF}"
        ));
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected application/x-protobuf",
        );
    }
    let encoding = header(CONTENT_ENCODING)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let gzip = match encoding.trim() {
        "" | "identity" => false,
        "gzip" => true,
        other => {
            shared.error(format!(
                "HTTP POST {path}: Content-Encoding {other:?} is not supported"
            ));
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported Content-Encoding",
            );
        }
    };
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            shared.error(format!("HTTP POST {path}: reading the body: {e}"));
            return text(StatusCode::BAD_REQUEST, "could not read the body");
        }
    };
    let body = if gzip {
        let mut plain = Vec::new();
        match flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain) {
            Ok(_) => Bytes::from(plain),
            Err(e) => {
                shared.error(format!("HTTP POST {path}: malformed gzip body: {e}"));
                return text(StatusCode::BAD_REQUEST, "malformed gzip body");
            }
        }
    } else {
        body
    };
    if shared.refusing() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the test receiver is set unavailable",
        );
    }
    let decoded = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(body).map(|r| {
            shared.record_traces(&r);
            ExportTraceServiceResponse::default().encode_to_vec()
        }),
        Signal::Metrics => ExportMetricsServiceRequest::decode(body).map(|r| {
            shared.record_metrics(&r);
            ExportMetricsServiceResponse::default().encode_to_vec()
        }),
    };
    match decoded {
        Ok(reply) => Response::builder()
            .status(StatusCode::OK)
            .header(CONTENT_TYPE, PROTOBUF)
            .body(Full::new(Bytes::from(reply)))
            .expect("a valid response"),
        Err(e) => {
            shared.error(format!("HTTP POST {path}: malformed protobuf body: {e}"));
            text(StatusCode::BAD_REQUEST, "malformed protobuf body")
        }
    }
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(message.to_owned())))
        .expect("a valid response")
}
