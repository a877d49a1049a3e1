//! One signed HTTP round trip to a storage service, and the errors it can end in.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use super::connection::StorageAccount;
use super::credential::Credential;
use super::signing::{self, Scheme};
use super::stats::{Operation, RequestStats, Service};

/// The REST API version every request asks for (supported by Azure and Azurite 3.37).
const API_VERSION: &str = "2021-08-06";

/// What can go wrong talking to Azure Storage.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AzureError {
    /// The service answered with an error status.
    #[error("{method} {resource}: HTTP {status} {code}: {message}")]
    Status {
        /// The request method.
        method: String,
        /// The resource path, without the query.
        resource: String,
        /// The HTTP status.
        status: u16,
        /// The storage error code (`x-ms-error-code`), or empty.
        code: String,
        /// The error message from the body, if any.
        message: String,
    },
    /// An entity-group transaction failed; nothing in it was applied.
    #[error("table transaction failed at operation {index}: HTTP {status} {code}: {message}")]
    Transaction {
        /// Index of the failing operation in the transaction.
        index: usize,
        /// Its HTTP status.
        status: u16,
        /// Its storage error code.
        code: String,
        /// Its error message.
        message: String,
    },
    /// The request never got an answer.
    #[error("request to {0} failed: {1}")]
    Transport(String, String),
    /// An answer that does not follow the protocol.
    #[error("unexpected answer from storage: {0}")]
    Protocol(String),
    /// No access token could be had for the connection's identity: the request was not sent.
    #[error("{0}")]
    Credential(String),
    /// A request the client refuses to send (e.g. a transaction over two partitions).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl AzureError {
    /// Whether the request may have been applied although it failed: the connection broke
    /// after it was sent, or the service answered 500 or 503 (which it may do after
    /// applying a write). Such a write is checked after the fact, or repeated if that is safe.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, AzureError::Transport(..)) || matches!(self.status(), Some(500 | 503))
    }

    /// The HTTP status of a failed request or transaction operation, if there is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AzureError::Status { status, .. } | AzureError::Transaction { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// Result of storage client calls.
pub type AzureResult<T> = Result<T, AzureError>;

/// An answer with a success status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The HTTP client of storage (and token) requests: bounded waits, a pool of kept-alive
/// connections.
pub(crate) fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(64)
        // Below Azurite's 5 s keep-alive, so a pooled connection is not closed under us.
        .pool_idle_timeout(Duration::from_secs(4))
        .build()
}

/// A shared, connection-pooling HTTP client that signs every request for one account.
#[derive(Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    account: Arc<StorageAccount>,
    stats: Arc<RequestStats>,
}

impl Transport {
    /// A transport for `account`.
    pub fn new(account: StorageAccount) -> AzureResult<Self> {
        let http =
            http_client().map_err(|e| AzureError::Transport("client".into(), e.to_string()))?;
        Ok(Transport {
            http,
            account: Arc::new(account),
            stats: Arc::default(),
        })
    }

    /// The account this transport signs for.
    pub fn account(&self) -> &StorageAccount {
        &self.account
    }

    /// The request counters of this transport (shared by its clones).
    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    /// Signs and sends a request; non-2xx statuses become [`AzureError::Status`].
    pub async fn send(
        &self,
        scheme: Scheme,
        method: Method,
        url: Url,
        mut headers: HeaderMap,
        body: Vec<u8>,
    ) -> AzureResult<Answer> {
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        headers.insert(
            HeaderName::from_static("x-ms-date"),
            HeaderValue::from_str(&date).expect("dates are ASCII"),
        );
        headers.insert(
            HeaderName::from_static("x-ms-version"),
            HeaderValue::from_static(API_VERSION),
        );
        let auth = match &self.account.credential {
            Credential::AccountKey(key) => {
                let signature = signing::authorization(
                    scheme,
                    &self.account.name,
                    key,
                    &method,
                    &url,
                    &headers,
                    body.len(),
                );
                HeaderValue::from_str(&signature).expect("signatures are ASCII")
            }
            Credential::Identity(tokens) => tokens
                .authorization()
                .await
                .map_err(|e| AzureError::Credential(e.to_string()))?,
        };
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        // Some clients leave an empty body's length out; the services require it on writes.
        headers.insert(
            reqwest::header::CONTENT_LENGTH,
            HeaderValue::from(body.len()),
        );
        let resource = url.path().to_owned();
        // Cheap to clone for a retry.
        let body = bytes::Bytes::from(body);
        let mut attempt = 0;
        let service = match scheme {
            Scheme::Table => Service::Table,
            _ if url
                .as_str()
                .starts_with(self.account.queue_endpoint.as_str()) =>
            {
                Service::Queue
            }
            _ => Service::Blob,
        };
        // A failure before the request left (no connection) is always sent again; one after
        // it may have been applied only when applying it twice changes nothing (see
        // `may_repeat`). Reads also retry a body cut off mid-way.
        let repeatable = may_repeat(&method, &url, &headers);
        let operation = Operation::of(service, &method, &url);
        let (status, headers, body) = loop {
            self.stats.record(service, operation);
            let sent = self
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await;
            let failure = match sent {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    match response.bytes().await {
                        Ok(body) => break (status, headers, body),
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            // A read that timed out is asked again too (its answer may have been lost with a
            // stalled connection); a write that timed out may still be applied, so only
            // repeatable writes are sent again, and only after a failure that was not a
            // timeout.
            let read = matches!(method, Method::GET | Method::HEAD);
            let again = failure.is_connect() || read || (repeatable && !failure.is_timeout());
            if attempt < 2 && again {
                attempt += 1;
                tracing::debug!(%resource, error = %failure, "retrying a storage request");
                continue;
            }
            return Err(AzureError::Transport(resource, with_causes(&failure)));
        };
        if status.is_success() {
            return Ok(Answer { headers, body });
        }
        let code = headers
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Err(AzureError::Status {
            method: method.to_string(),
            resource,
            status: status.as_u16(),
            code,
            message: error_message(&body),
        })
    }
}

/// Whether a request that may already have been applied can be sent again: reads; puts,
/// merges and deletes that are not conditional (`If-Match`), not lease actions and not queue
/// message updates (whose pop receipt the first attempt already changed); and queue message
/// puts, which the task hub receives at least once by design (a repeated start or task
/// result is recognised against the history). Never an entity group transaction (`$batch`)
/// or a table insert: a second attempt of an applied one fails with 409 or 412, which would
/// read as a conflict with another writer.
fn may_repeat(method: &Method, url: &Url, headers: &HeaderMap) -> bool {
    let query = url.query().unwrap_or("");
    match *method {
        Method::GET | Method::HEAD => true,
        Method::POST => url.path().ends_with("/messages"),
        _ => {
            !headers.contains_key(reqwest::header::IF_MATCH)
                && !query.contains("comp=lease")
                && !query.contains("popreceipt=")
        }
    }
}

/// An error and its causes, outermost first (reqwest's own message omits them), each message
/// once.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        // Some errors repeat their cause's message in their own; say it once.
        let message = c.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = c.source();
    }
    text
}

/// The human message of an error body (XML `<Message>` or OData JSON), else the raw text.
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Some(m) = super::xml::first(&text, "Message") {
        return m;
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        let value = &json["odata.error"]["message"]["value"];
        if let Some(m) = value.as_str() {
            return m.to_owned();
        }
    }
    text.chars().take(300).collect()
}

/// Characters left as they are in URL paths and query values: RFC 3986 unreserved ones.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment or query value.
pub(crate) fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

/// `endpoint` + `path` (already encoded) + query pairs (encoded here, spaces as `%20`).
pub(crate) fn url(endpoint: &str, path: &str, query: &[(&str, &str)]) -> AzureResult<Url> {
    let mut text = format!("{endpoint}{path}");
    for (i, (k, v)) in query.iter().enumerate() {
        text.push(if i == 0 { '?' } else { '&' });
        text.push_str(k);
        text.push('=');
        text.push_str(&encode(v));
    }
    Url::parse(&text).map_err(|e| AzureError::Invalid(format!("bad URL {text}: {e}")))
}
