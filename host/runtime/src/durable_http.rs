//! The built-in activity behind `ctx.call_http` ([`HTTP_ACTIVITY`]): it sends one
//! [`DurableHttpRequest`] with the runtime's shared HTTP client and answers with the
//! [`DurableHttpResponse`], whatever its status. The polling of `202` answers is not done
//! here but in orchestrator code, on durable timers (see [`durable_engine::durable_http`]).
//!
//! One `reqwest::Client` per runtime: its connections are pooled and kept alive across calls.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use durable_engine::durable_http::{
    DurableHttpRequest, DurableHttpResponse, HTTP_ACTIVITY, HTTP_REQUEST_FAILED,
    INVALID_HTTP_REQUEST,
};
use durable_engine::failure::Failure;
use durable_engine::function::{decode, encode, ActivityContext, ActivityFn};

use crate::Registry;

/// How long one request may wait for its answer when it has no timeout of its own (as long
/// as .NET's `HttpClient` waits by default).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(100);

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client of durable HTTP requests: pooled, kept-alive connections, redirects
/// followed, bounded connection set-up.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!(
            "durable-functions-rust/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
}

/// `registry` with the built-in HTTP activity, unless it has an activity of that name
/// already (an app or a test may stand in for it).
pub(crate) fn with_http_activity(registry: Registry) -> Registry {
    if registry.activity_by_name(HTTP_ACTIVITY).is_some() {
        return registry;
    }
    let client = http_client().map_err(|e| {
        let reason = describe(&e);
        tracing::error!(error = %reason, "the HTTP client of durable HTTP requests could not be built; every call_http will fail");
        reason
    });
    registry.add_activity_fn(HTTP_ACTIVITY, http_activity(client))
}

/// The built-in HTTP activity over `client` (or, when the client could not be built, an
/// activity that fails every call with that reason).
pub fn http_activity(client: Result<reqwest::Client, String>) -> ActivityFn {
    let client = Arc::new(client);
    Arc::new(move |_ctx: ActivityContext, input: Option<String>| {
        let client = Arc::clone(&client);
        Box::pin(async move {
            let request: DurableHttpRequest =
                decode("the input of the built-in HTTP activity", input.as_deref()).map_err(
                    |f| Failure::new(INVALID_HTTP_REQUEST, f.0.error_message).non_retriable(),
                )?;
            let client = client.as_ref().as_ref().map_err(|reason| {
                Failure::new(
                    HTTP_REQUEST_FAILED,
                    format!("the host's HTTP client could not be built: {reason}"),
                )
            })?;
            let answer = send(client, &request).await?;
            encode("the durable HTTP response", &answer)
        })
    })
}

/// Sends `request` and reads the whole answer.
pub async fn send(
    client: &reqwest::Client,
    request: &DurableHttpRequest,
) -> Result<DurableHttpResponse, Failure> {
    request
        .validate()
        .map_err(|e| Failure::new(INVALID_HTTP_REQUEST, e.to_string()).non_retriable())?;
    let what = format!("{} {}", request.method, request.display_uri());
    let failed = |e: reqwest::Error| {
        let message = if e.is_timeout() {
            format!(
                "{what} got no answer within {} ms",
                timeout_of(request).as_millis()
            )
        } else {
            // Without reqwest's copy of the URL, whose query may hold a secret.
            format!("{what} failed: {}", describe(&e.without_url()))
        };
        tracing::warn!(request = %what, error = %message, "durable HTTP request got no answer");
        Failure::new(HTTP_REQUEST_FAILED, message)
    };
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| Failure::new(INVALID_HTTP_REQUEST, e.to_string()).non_retriable())?;
    let mut builder = client
        .request(method, request.uri.trim())
        .timeout(timeout_of(request));
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(content) = &request.content {
        builder = builder.body(content.clone());
    }
    let started = std::time::Instant::now();
    let response = builder.send().await.map_err(&failed)?;
    let status_code = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let body = response.bytes().await.map_err(&failed)?;
    tracing::debug!(
        request = %what,
        status = status_code,
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "durable HTTP request answered"
    );
    Ok(DurableHttpResponse {
        status_code,
        headers,
        content: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// How long `request` may wait for its answer.
fn timeout_of(request: &DurableHttpRequest) -> Duration {
    request.timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT)
}

/// An error with its causes, each once: reqwest's own text names the URL, its sources say
/// what happened (`tcp connect error: Connection refused (os error 111)`).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Serves one connection: reads the request head and body, answers with `answer`, and
    /// returns what it read.
    async fn serve_once(listener: tokio::net::TcpListener, answer: &'static str) -> String {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut read = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            read.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&read).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if read.len() >= end + 4 + length || n == 0 {
                    break;
                }
            }
        }
        socket.write_all(answer.as_bytes()).await.unwrap();
        socket.shutdown().await.ok();
        String::from_utf8_lossy(&read).to_string()
    }

    #[tokio::test]
    async fn every_status_is_an_answer_with_its_headers_and_body() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(serve_once(
            listener,
            "HTTP/1.1 503 Service Unavailable\r\nX-Many: 1\r\nX-Many: 2\r\n\
             Content-Length: 4\r\nConnection: close\r\n\r\nbusy",
        ));
        let request = DurableHttpRequest::post(format!("http://127.0.0.1:{port}/jobs?x=1"), "hi")
            .with_header("X-Test", "yes");
        let answer = send(&http_client().unwrap(), &request).await.unwrap();
        assert_eq!(answer.status_code, 503);
        assert_eq!(answer.content, "busy");
        assert_eq!(
            answer.header_values("x-many").collect::<Vec<_>>(),
            ["1", "2"]
        );
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /jobs?x=1 HTTP/1.1\r\n"), "{seen}");
        assert!(seen.to_ascii_lowercase().contains("x-test: yes"), "{seen}");
        assert!(seen.ends_with("\r\n\r\nhi"), "{seen}");
    }

    #[tokio::test]
    async fn no_answer_is_a_failure_that_says_why() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let request = DurableHttpRequest::get(format!("http://127.0.0.1:{port}/x?sig=secret"));
        let Failure(details) = send(&http_client().unwrap(), &request).await.unwrap_err();
        assert_eq!(details.error_type, HTTP_REQUEST_FAILED);
        let message = details.error_message.to_ascii_lowercase();
        assert!(
            message.starts_with(&format!("get http://127.0.0.1:{port}/x failed")),
            "{message}"
        );
        assert!(message.contains("connection refused"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[tokio::test]
    async fn bad_input_fails_without_a_retry() {
        let activity = http_activity(http_client().map_err(|e| e.to_string()));
        let ctx = ActivityContext {
            instance_id: "i".into(),
            name: HTTP_ACTIVITY.into(),
            task_scheduled_id: 0,
            dequeue_count: 1,
        };
        for input in [
            "{\"method\": 5}",
            "{\"method\": \"GET\", \"uri\": \"nope\"}",
            "[]",
        ] {
            let Failure(details) = activity(ctx.clone(), Some(input.into())).await.unwrap_err();
            assert_eq!(details.error_type, INVALID_HTTP_REQUEST, "{input}");
            assert!(details.is_non_retriable);
        }
    }
}
