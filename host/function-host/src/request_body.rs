//! Reading a request's body within the host's limits: its size (413, after draining what a
//! client already sent so that it can read the answer) and the time a client may take to send
//! it (408).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::requests::RequestOptions;
use durable_http::HttpResponse;

/// After a too-large body, read at most this much more of it (for at most [`DRAIN_TIME`]) so
/// a client that already sent it can read the 413 instead of seeing a reset connection.
const DRAIN_LIMIT: usize = 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Reads the whole body, refusing more than `limit` bytes with a 413.
/// Reads the whole body within the limits: its size, and the time a client may take to send
/// it (a client trickling bytes cannot hold a connection, and the shutdown, forever). A body
/// too slow is answered 408 and the connection is closed.
pub(crate) async fn read_body(
    body: Incoming,
    headers: &HeaderMap,
    options: &RequestOptions,
) -> Result<Bytes, HttpResponse> {
    let within = options.body_timeout;
    match tokio::time::timeout(
        within,
        read_body_up_to(body, headers, options.max_request_body),
    )
    .await
    {
        Ok(read) => read,
        Err(_) => Err(HttpResponse::error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request body did not arrive within {} s",
                within.as_secs_f64()
            ),
        )
        .with_header(http::header::CONNECTION, "close")),
    }
}

async fn read_body_up_to(
    mut body: Incoming,
    headers: &HeaderMap,
    limit: u64,
) -> Result<Bytes, HttpResponse> {
    let too_large = || {
        HttpResponse::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        drain(body).await;
        return Err(too_large());
    }
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            HttpResponse::error(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the request body: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                drain(body).await;
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

async fn drain(mut body: Incoming) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0;
        while seen < DRAIN_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, Bytes::len),
                _ => break,
            }
        }
    })
    .await;
}
