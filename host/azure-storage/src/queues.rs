//! The Queue service: create and delete queues, put, get, update and delete messages.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;

use super::signing::Scheme;
use super::transport::{url, AzureError, AzureResult, Transport};
use super::xml;

/// The most messages one get can return.
pub const MAX_BATCH: usize = 32;

/// A message as received: its id, pop receipt (proof of the current lease) and body.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// The message id.
    pub id: String,
    /// Proof of this dequeue; needed to update or delete the message.
    pub pop_receipt: String,
    /// How many times the message has been dequeued, this time included.
    pub dequeue_count: u32,
    /// When the message was first put.
    pub inserted_at: DateTime<Utc>,
    /// When it becomes visible again unless deleted or updated.
    pub next_visible_at: DateTime<Utc>,
    /// The decoded body.
    pub body: Vec<u8>,
}

/// A client for one queue.
#[derive(Clone)]
pub struct QueueClient {
    transport: Transport,
    name: String,
}

impl QueueClient {
    pub(crate) fn new(transport: Transport, name: &str) -> Self {
        QueueClient {
            transport,
            name: name.to_owned(),
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> AzureResult<super::transport::Answer> {
        let endpoint = &self.transport.account().queue_endpoint;
        let url = url(endpoint, &format!("/{}{path}", self.name), query)?;
        let mut headers = HeaderMap::new();
        if !body.is_empty() {
            headers.insert("content-type", HeaderValue::from_static("application/xml"));
        }
        self.transport
            .send(Scheme::BlobQueue, method, url, headers, body)
            .await
    }

    /// Creates the queue; succeeds if it already exists.
    pub async fn create_if_not_exists(&self) -> AzureResult<()> {
        match self.call(Method::PUT, "", &[], Vec::new()).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(409) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes the queue and its messages; succeeds if it does not exist.
    pub async fn delete(&self) -> AzureResult<()> {
        match self.call(Method::DELETE, "", &[], Vec::new()).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Puts a message (Base64-encoded, never expiring), invisible for `delay`.
    pub async fn put(&self, body: &[u8], delay: Duration) -> AzureResult<()> {
        let text = base64::engine::general_purpose::STANDARD.encode(body);
        self.put_text(&text, delay).await
    }

    /// Gets up to `max` (at most 32) visible messages, hiding them for `lock_for`, with their
    /// bodies decoded (Base64, or JSON text as older writers stored it).
    pub async fn get(&self, max: usize, lock_for: Duration) -> AzureResult<Vec<ReceivedMessage>> {
        self.receive(max, lock_for)
            .await?
            .into_iter()
            .map(decode_message)
            .collect()
    }

    /// Makes a received message visible after `visible_in`; returns the new pop receipt and
    /// next-visible time.
    pub async fn update(
        &self,
        id: &str,
        pop_receipt: &str,
        visible_in: Duration,
    ) -> AzureResult<(String, DateTime<Utc>)> {
        let timeout = visible_in.as_secs().to_string();
        let query = [
            ("popreceipt", pop_receipt),
            ("visibilitytimeout", timeout.as_str()),
        ];
        let answer = self
            .call(Method::PUT, &format!("/messages/{id}"), &query, Vec::new())
            .await?;
        let receipt = answer
            .header("x-ms-popreceipt")
            .ok_or_else(|| AzureError::Protocol("update without x-ms-popreceipt".into()))?
            .to_owned();
        let next = answer
            .header("x-ms-time-next-visible")
            .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
        Ok((receipt, next))
    }

    /// Deletes a received message; false if it is gone or the receipt is stale.
    pub async fn delete_message(&self, id: &str, pop_receipt: &str) -> AzureResult<bool> {
        let query = [("popreceipt", pop_receipt)];
        match self
            .call(
                Method::DELETE,
                &format!("/messages/{id}"),
                &query,
                Vec::new(),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.status(), Some(404) | Some(400)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes every message in the queue.
    pub async fn clear(&self) -> AzureResult<()> {
        self.call(Method::DELETE, "/messages", &[], Vec::new())
            .await?;
        Ok(())
    }
}

fn decode_message(raw: RawMessage) -> AzureResult<ReceivedMessage> {
    let body = if raw.text.starts_with('{') {
        raw.text.into_bytes()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(raw.text.as_bytes())
            .map_err(|e| AzureError::Protocol(format!("message body is not base64: {e}")))?
    };
    Ok(ReceivedMessage {
        id: raw.id,
        pop_receipt: raw.pop_receipt,
        dequeue_count: raw.dequeue_count,
        inserted_at: raw.inserted_at,
        next_visible_at: raw.next_visible_at,
        body,
    })
}

/// A message as received, its text left as stored (for triggers that decode it themselves).
#[derive(Debug, Clone, PartialEq)]
pub struct RawMessage {
    /// The message id.
    pub id: String,
    /// Proof of this dequeue; needed to update or delete the message.
    pub pop_receipt: String,
    /// How many times the message has been dequeued, this time included.
    pub dequeue_count: u32,
    /// When the message was first put.
    pub inserted_at: DateTime<Utc>,
    /// When it becomes visible again unless deleted or updated.
    pub next_visible_at: DateTime<Utc>,
    /// The message text, undecoded.
    pub text: String,
}

impl QueueClient {
    /// Gets up to `max` (at most 32) visible messages, hiding them for `lock_for`, with their
    /// text as stored: unlike [`QueueClient::get`], a body that is not Base64 is no error.
    pub async fn receive(&self, max: usize, lock_for: Duration) -> AzureResult<Vec<RawMessage>> {
        let max = max.clamp(1, MAX_BATCH).to_string();
        let timeout = lock_for.as_secs().max(1).to_string();
        let query = [
            ("numofmessages", max.as_str()),
            ("visibilitytimeout", timeout.as_str()),
        ];
        let answer = self
            .call(Method::GET, "/messages", &query, Vec::new())
            .await?;
        let text = String::from_utf8_lossy(&answer.body);
        let messages: Vec<RawMessage> = xml::blocks(&text, "QueueMessage")
            .into_iter()
            .map(parse_raw_message)
            .collect::<AzureResult<_>>()?;
        if messages.is_empty() {
            self.transport.stats().record_empty_receive();
        }
        Ok(messages)
    }

    /// Puts a message whose text is stored as given (the caller encodes it), never expiring.
    pub async fn put_text(&self, text: &str, delay: Duration) -> AzureResult<()> {
        let xml = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            xml_escape(text)
        );
        let delay = delay.as_secs().to_string();
        let query = [("visibilitytimeout", delay.as_str()), ("messagettl", "-1")];
        self.call(Method::POST, "/messages", &query, xml.into_bytes())
            .await?;
        Ok(())
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn parse_raw_message(block: &str) -> AzureResult<RawMessage> {
    let field = |tag: &str| {
        xml::first(block, tag)
            .ok_or_else(|| AzureError::Protocol(format!("queue message without <{tag}>")))
    };
    let time = |tag: &str| -> AzureResult<DateTime<Utc>> {
        let text = field(tag)?;
        DateTime::parse_from_rfc2822(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| AzureError::Protocol(format!("bad <{tag}> {text:?}: {e}")))
    };
    Ok(RawMessage {
        id: field("MessageId")?,
        pop_receipt: field("PopReceipt")?,
        dequeue_count: field("DequeueCount")?
            .parse()
            .map_err(|e| AzureError::Protocol(format!("bad <DequeueCount>: {e}")))?,
        inserted_at: time("InsertionTime")?,
        next_visible_at: time("TimeNextVisible")?,
        // An empty message has `<MessageText />` or no element at all.
        text: xml::first(block, "MessageText").unwrap_or_default(),
    })
}
