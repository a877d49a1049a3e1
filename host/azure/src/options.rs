//! [`AzureOptions`]: the tuning of an Azure Storage task hub (host.json
//! `extensions.durableTask.storageProvider`).

use std::time::Duration;

use super::partitions::LeaseSettings;

/// How an [`AzureTaskHub`](super::AzureTaskHub) partitions, leases and hides messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureOptions {
    /// Control queues (1–16; `partitionCount`). Fixed when the hub is created: a hub whose
    /// `taskhub.json` records another count is refused rather than misrouted.
    pub partition_count: u32,
    /// How long a received control-queue message stays hidden from other processes
    /// (`controlQueueVisibilityTimeout`); extended while it is still held.
    pub control_queue_visibility: Duration,
    /// How long a received activity request stays hidden from other processes
    /// (`workItemQueueVisibilityTimeout`); extended while the activity runs. After a crash,
    /// another process runs the activity once this has passed.
    pub work_item_visibility: Duration,
    /// The longest pause between polls of idle control and work-item queues
    /// (`maxQueuePollingInterval`, 30 s as in Durable Functions): polls back off from 10 ms
    /// to this while they find nothing, and every poll is a billed storage transaction. Work
    /// this process sends itself is picked up at once; work another process sends waits at
    /// most this long on an idle host.
    pub max_queue_polling_interval: Duration,
    /// Partition lease timing.
    pub leases: LeaseSettings,
    /// This process's name in the lease blobs. Two processes must not share one; a process
    /// restarted under the same id takes its earlier leases back at once.
    pub worker_id: String,
}

/// The default of [`AzureOptions::max_queue_polling_interval`].
pub const DEFAULT_MAX_QUEUE_POLLING_INTERVAL: Duration = Duration::from_secs(30);

impl Default for AzureOptions {
    fn default() -> Self {
        AzureOptions {
            partition_count: super::layout::DEFAULT_PARTITIONS,
            control_queue_visibility: Duration::from_secs(300),
            work_item_visibility: Duration::from_secs(300),
            max_queue_polling_interval: DEFAULT_MAX_QUEUE_POLLING_INTERVAL,
            leases: LeaseSettings::default(),
            worker_id: default_worker_id(),
        }
    }
}

/// `{hostname}-{pid}`: unique among live processes, readable in the lease blobs.
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}-{}", std::process::id())
}
