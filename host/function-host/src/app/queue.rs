//! What a `#[queue_trigger]` function registers, and what it receives per message.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::FunctionContext;
use durable_engine::failure::Failure;

/// The setting a storage trigger reads its connection string from unless it names another.
pub const DEFAULT_CONNECTION: &str = "AzureWebJobsStorage";

/// A queue function's handler: the message (body and metadata) and the function context.
pub type QueueHandler = Arc<
    dyn Fn(QueueMessage, FunctionContext) -> BoxFuture<'static, Result<(), Failure>> + Send + Sync,
>;

/// `#[queue_trigger(queue_name = "...", connection = "...")]`.
#[derive(Clone)]
pub struct QueueFunction {
    /// The queue to listen to (3–63 lower-case letters, digits and dashes).
    pub queue_name: String,
    /// The app setting holding the storage connection string.
    pub connection: String,
    /// The handler.
    pub handler: QueueHandler,
}

/// One received message, as the handler gets it.
#[derive(Debug, Clone)]
pub struct QueueMessage {
    /// The decoded body (Base64 undone unless `messageEncoding` is `none`).
    pub body: Vec<u8>,
    /// The message's metadata.
    pub info: QueueMessageInfo,
}

/// What a queue function learns about the message besides its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMessageInfo {
    /// The queue it came from.
    pub queue_name: String,
    /// The message id.
    pub id: String,
    /// How many times it has been received, this time included (1 on the first try).
    pub dequeue_count: u32,
    /// When it was put on the queue.
    pub insertion_time: DateTime<Utc>,
    /// When it becomes visible again if this run neither finishes nor renews it.
    pub next_visible_time: DateTime<Utc>,
    /// The receipt of this dequeue.
    pub pop_receipt: String,
}
