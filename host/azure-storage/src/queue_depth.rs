//! How deep a queue is: its approximate message count (Get Queue Metadata) and when the
//! first visible message was put (a peek, which takes nothing).

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::queues::QueueClient;
use super::transport::{AzureError, AzureResult};
use super::xml;

/// A queue's depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    /// The service's approximate count of messages, invisible ones included.
    pub approximate_messages: u64,
    /// When the first visible message was put, if there is one.
    pub oldest_visible_inserted_at: Option<DateTime<Utc>>,
}

impl QueueClient {
    /// Reads the queue's depth: two requests.
    pub async fn depth(&self) -> AzureResult<QueueDepth> {
        let answer = self
            .call(Method::GET, "", &[("comp", "metadata")], Vec::new())
            .await?;
        let approximate_messages = answer
            .header("x-ms-approximate-messages-count")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                AzureError::Protocol("no x-ms-approximate-messages-count in the metadata".into())
            })?;
        let peeked = self
            .call(
                Method::GET,
                "/messages",
                &[("peekonly", "true"), ("numofmessages", "1")],
                Vec::new(),
            )
            .await?;
        let text = String::from_utf8_lossy(&peeked.body);
        let oldest_visible_inserted_at = match xml::first(&text, "InsertionTime") {
            None => None,
            Some(t) => Some(
                DateTime::parse_from_rfc2822(&t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| AzureError::Protocol(format!("bad <InsertionTime> {t:?}: {e}")))?,
            ),
        };
        Ok(QueueDepth {
            approximate_messages,
            oldest_visible_inserted_at,
        })
    }
}
