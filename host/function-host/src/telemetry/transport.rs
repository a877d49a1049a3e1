//! Sending encoded OTLP export requests to the collector: over gRPC (the signal's
//! `Export` method, the bytes as they are) or as an HTTP/protobuf POST, with the settings'
//! headers, timeout and gzip.

use std::io::Write as _;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, ClientTlsConfig};
use tonic::Status;

use super::settings::{Protocol, Settings};
use super::TelemetryError;

/// The signal a transport sends.
#[derive(Debug, Clone, Copy)]
pub(super) enum Signal {
    Traces,
    Metrics,
}

impl Signal {
    fn grpc_path(self) -> &'static str {
        match self {
            Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        }
    }
}

/// Where and how one signal's requests go.
pub(super) enum Transport {
    Grpc {
        client: Box<tonic::client::Grpc<Channel>>,
        path: &'static str,
        headers: tonic::metadata::MetadataMap,
        timeout: Duration,
    },
    Http {
        client: reqwest::Client,
        url: String,
        headers: Vec<(String, String)>,
        gzip: bool,
    },
}

impl Transport {
    /// The transport `s` describes for `signal`. The gRPC channel connects on first use.
    pub fn new(s: &Settings, signal: Signal) -> Result<Self, TelemetryError> {
        Ok(match s.protocol {
            Protocol::Grpc => {
                let mut endpoint = Channel::from_shared(s.endpoint.clone())
                    .map_err(|e| s.bad_endpoint(e))?
                    .timeout(s.timeout);
                if s.endpoint.starts_with("https://") {
                    endpoint = endpoint
                        .tls_config(ClientTlsConfig::new().with_native_roots())
                        .map_err(|e| s.bad_endpoint(e))?;
                }
                let mut client = tonic::client::Grpc::new(endpoint.connect_lazy());
                if s.gzip {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                let mut headers = tonic::metadata::MetadataMap::new();
                for (k, v) in &s.headers {
                    let key = tonic::metadata::MetadataKey::from_bytes(k.as_bytes())
                        .map_err(|e| s.bad_header(k, e))?;
                    let value = v.parse().map_err(|e| s.bad_header(k, e))?;
                    headers.insert(key, value);
                }
                Transport::Grpc {
                    client: Box::new(client),
                    path: signal.grpc_path(),
                    headers,
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
        })
    }

    /// Sends one encoded export request.
    pub async fn send(&mut self, body: Vec<u8>) -> Result<(), String> {
        match self {
            Transport::Grpc {
                client,
                path,
                headers,
                timeout,
            } => {
                client.ready().await.map_err(|e| e.to_string())?;
                let mut request = tonic::Request::new(Bytes::from(body));
                *request.metadata_mut() = headers.clone();
                request.set_timeout(*timeout);
                let path = http::uri::PathAndQuery::from_static(path);
                client
                    .unary(request, path, RawCodec)
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
                let mut body = body;
                let mut post = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf");
                if *gzip {
                    let mut encoder =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
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

/// A gRPC codec for requests already encoded; the response is read and dropped.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}
