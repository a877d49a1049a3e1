//! host.json settings of the queue and blob triggers (`extensions.queues`,
//! `extensions.blobs`), with Azure Functions' defaults.

use std::time::Duration;

/// How queue message text is turned into the body a function gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageEncoding {
    /// The text is Base64 of the body (what Azure Functions writes and expects by default).
    #[default]
    Base64,
    /// The text is the body.
    None,
}

/// `extensions.queues`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// `batchSize`: messages received per get (1–32, default 16).
    pub batch_size: usize,
    /// `visibilityTimeout`: how long a message whose run failed stays hidden before it is
    /// retried (default 0: at once).
    pub visibility_timeout: Duration,
    /// `maxDequeueCount`: failed runs after which a message goes to `{queue}-poison`
    /// (default 5). Blob triggers use it too: a blob version whose runs failed this many
    /// times is reported on `webjobs-blobtrigger-poison`.
    pub max_dequeue_count: u32,
    /// `maxPollingInterval`: the longest pause between polls of an idle queue (default 1 min).
    pub max_polling_interval: Duration,
    /// `messageEncoding`: `base64` (default) or `none`.
    pub message_encoding: MessageEncoding,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            batch_size: 16,
            visibility_timeout: Duration::ZERO,
            max_dequeue_count: 5,
            max_polling_interval: Duration::from_secs(60),
            message_encoding: MessageEncoding::Base64,
        }
    }
}

/// `extensions.blobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobOptions {
    /// `maxPollingInterval`: the longest pause between scans of an idle container (default
    /// 10 s). Not an Azure Functions setting: its blob trigger has no equivalent knob.
    pub max_polling_interval: Duration,
}

impl Default for BlobOptions {
    fn default() -> Self {
        BlobOptions {
            max_polling_interval: Duration::from_secs(10),
        }
    }
}
