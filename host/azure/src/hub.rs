//! [`AzureTaskHub`]: the task hub on Azure Storage in the DTFx layout. This file holds the
//! resources and what every operation shares (sending and reading queue messages, large
//! messages, the timer status blobs); the operations are in the files beside it.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::envelope::{self, Envelope};
use super::held::{Backoff, OrchestrationState};
use super::layout::HubNames;
use super::options::AzureOptions;
use super::partitions::Partitions;
use super::{AzureError, StorageAccount, StorageClients};
use durable_azure_storage::blobs::{ContainerClient, WriteCondition};
use durable_azure_storage::queues::{QueueClient, ReceivedMessage};
use durable_azure_storage::tables::TableClient;
use durable_engine::history::{EventKind, OrchestrationInstance};
use durable_engine::message::TaskMessage;
use durable_store::ScheduleStatus;
use durable_store::{StoreError, StoreResult, WorkSignals};

/// Azure errors as store errors: no answer, a timeout, throttling, a server error or an
/// identity service that gave no token may pass (retryable); any other answer will be the
/// same next time.
pub(super) fn storage(e: AzureError) -> StoreError {
    let retryable = match &e {
        AzureError::Transport(..) | AzureError::Credential(..) => true,
        other => other
            .status()
            .is_some_and(|s| matches!(s, 408 | 429 | 500 | 502 | 503 | 504)),
    };
    StoreError::backend(e.to_string(), e, retryable)
}

/// The longest pause between polls of the control queues while this process sends work.
const BUSY_POLL: Duration = Duration::from_secs(1);

/// A task hub on Azure Storage (or Azurite). Several processes may share one: each reads the
/// control queues whose partition leases it holds (see `partitions.rs`).
pub struct AzureTaskHub {
    pub(super) names: HubNames,
    pub(super) history: TableClient,
    pub(super) instances: TableClient,
    pub(super) control: Vec<QueueClient>,
    pub(super) work_items: QueueClient,
    pub(super) leases: ContainerClient,
    pub(super) large: ContainerClient,
    pub(super) orchestrations: Mutex<OrchestrationState>,
    pub(super) orchestration_poll: Mutex<Backoff>,
    pub(super) activities: Mutex<Vec<super::held::Held>>,
    pub(super) activity_poll: Mutex<Backoff>,
    pub(super) next_id: AtomicI64,
    pub(super) sequence: AtomicI64,
    pub(super) signals: WorkSignals,
    pub(super) options: AzureOptions,
    pub(super) partitions: Arc<Partitions>,
    pub(super) leasing: super::ownership::Leasing,
    /// This object's lease id for singleton locks (`singletons.rs`).
    pub(super) singleton_lease: String,
    clients: StorageClients,
}

impl AzureTaskHub {
    /// A hub named `hub` (3–45 letters and digits, starting with a letter) in `account`, with
    /// the default options (four control queues). Nothing is created until
    /// [`create_if_not_exists`](durable_store::OrchestrationService::create_if_not_exists).
    pub fn new(account: StorageAccount, hub: &str) -> StoreResult<Self> {
        Self::with_options(account, hub, AzureOptions::default())
    }

    /// A hub named `hub` in `account`, tuned by `options`.
    pub fn with_options(
        account: StorageAccount,
        hub: &str,
        options: AzureOptions,
    ) -> StoreResult<Self> {
        let valid = (3..=45).contains(&hub.len())
            && hub.starts_with(|c: char| c.is_ascii_alphabetic())
            && hub.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(StoreError::storage(format!(
                "task hub name {hub:?} must be 3-45 letters and digits, starting with a letter"
            )));
        }
        if !(1..=16).contains(&options.partition_count) {
            return Err(StoreError::storage(format!(
                "partition count {} must be 1-16",
                options.partition_count
            )));
        }
        let clients = StorageClients::new(account).map_err(storage)?;
        let names = HubNames::new(hub, options.partition_count);
        let leases = clients.container(&names.lease_container());
        let partitions = Arc::new(Partitions::new(
            leases.clone(),
            names.clone(),
            options.worker_id.clone(),
            options.leases.clone(),
        ));
        Ok(AzureTaskHub {
            history: clients.table(&names.history_table()),
            instances: clients.table(&names.instances_table()),
            control: (0..names.partitions)
                .map(|p| clients.queue(&names.control_queue(p)))
                .collect(),
            work_items: clients.queue(&names.work_item_queue()),
            leases,
            large: clients.container(&names.large_message_container()),
            names,
            orchestrations: Mutex::default(),
            orchestration_poll: Mutex::new(Backoff::new(options.max_queue_polling_interval)),
            activities: Mutex::default(),
            activity_poll: Mutex::new(Backoff::new(options.max_queue_polling_interval)),
            next_id: AtomicI64::new(1),
            sequence: AtomicI64::new(0),
            signals: WorkSignals::default(),
            options,
            partitions,
            leasing: Default::default(),
            singleton_lease: uuid::Uuid::new_v4().to_string(),
            clients,
        })
    }

    /// Storage requests this hub has sent so far, per service.
    pub fn request_counts(&self) -> durable_azure_storage::stats::RequestCounts {
        self.clients.request_counts()
    }

    /// Queue receives this hub has made that found no message.
    pub fn empty_receives(&self) -> u64 {
        self.clients.empty_receives()
    }

    /// Storage requests this hub has sent, per kind of operation.
    pub fn operation_counts(
        &self,
    ) -> [(durable_azure_storage::stats::Operation, u64);
           durable_azure_storage::stats::Operation::ALL.len()] {
        self.clients.operation_counts()
    }

    /// The hub's resource names.
    pub fn names(&self) -> &HubNames {
        &self.names
    }

    /// Creates the tables, queues, containers and `taskhub.json`.
    pub(super) async fn create_resources(&self) -> StoreResult<()> {
        let tables = [&self.history, &self.instances];
        for table in tables {
            table.create_if_not_exists().await.map_err(storage)?;
        }
        for queue in self.control.iter().chain([&self.work_items]) {
            queue.create_if_not_exists().await.map_err(storage)?;
        }
        for container in [&self.leases, &self.large] {
            container.create_if_not_exists().await.map_err(storage)?;
        }
        self.check_partition_count().await?;
        let info = serde_json::json!({
            "TaskHubName": self.names.hub,
            "CreatedAt": durable_engine::time::format(&durable_store::clock::now()),
            "PartitionCount": self.names.partitions,
        });
        match self
            .leases
            .put(
                "taskhub.json",
                info.to_string().into_bytes(),
                WriteCondition::IfNotExists,
            )
            .await
        {
            Ok(_) => {}
            Err(e) if matches!(e.status(), Some(409) | Some(412)) => {}
            Err(e) => return Err(storage(e)),
        }
        self.partitions.create_blobs().await.map_err(storage)
    }

    /// Refuses a hub whose `taskhub.json` records another partition count: its instances'
    /// messages would be looked for in the wrong control queues.
    async fn check_partition_count(&self) -> StoreResult<()> {
        let Some(data) = self.leases.get("taskhub.json").await.map_err(storage)? else {
            return Ok(());
        };
        let recorded = serde_json::from_slice::<serde_json::Value>(&data)
            .ok()
            .and_then(|v| v.get("PartitionCount")?.as_u64());
        match recorded {
            Some(n) if n != u64::from(self.names.partitions) => Err(StoreError::storage(format!(
                "task hub {:?} was created with {n} partitions, not {}; use {n} (or a new hub name)",
                self.names.hub, self.names.partitions
            ))),
            _ => Ok(()),
        }
    }

    /// Sends a message to its instance's control queue, invisible until `visible_at`, and
    /// wakes the local dispatcher (local hand-off).
    pub(super) async fn send_orchestrator_message(
        &self,
        message: &TaskMessage,
        visible_at: Option<DateTime<Utc>>,
        sender: Option<&OrchestrationInstance>,
    ) -> StoreResult<()> {
        let partition = self.names.partition_of(message.instance_id()) as usize;
        let delay = visible_at
            .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::ZERO);
        // Queue visibility has whole seconds: round down, and hold the message in memory until
        // its exact time if it arrives early (see `deliverable_at`).
        let queue_delay = Duration::from_secs(delay.as_secs());
        let body = self.envelope_body(message, sender).await?;
        self.control[partition]
            .put(body.as_bytes(), queue_delay)
            .await
            .map_err(storage)?;
        {
            let mut state = self.orchestrations.lock();
            match visible_at.filter(|_| !delay.is_zero()) {
                Some(t) => state.delayed.insert(t),
                None => state.sent_to.insert(partition),
            };
        }
        // The queue sent to is polled at once; the others (where other processes' answers to
        // this one's work arrive) within a second while this process is busy.
        self.orchestration_poll.lock().nudge(BUSY_POLL);
        self.signals.orchestrations.notify_one();
        Ok(())
    }

    /// Sends an activity request to the work-item queue.
    pub(super) async fn send_activity_message(
        &self,
        message: &TaskMessage,
        sender: Option<&OrchestrationInstance>,
    ) -> StoreResult<()> {
        let body = self.envelope_body(message, sender).await?;
        self.work_items
            .put(body.as_bytes(), Duration::ZERO)
            .await
            .map_err(storage)?;
        self.activity_poll.lock().reset();
        self.signals.activities.notify_one();
        Ok(())
    }

    /// The `MessageData` body, or a wrapper naming a gzip blob when it is over 45 KB.
    async fn envelope_body(
        &self,
        message: &TaskMessage,
        sender: Option<&OrchestrationInstance>,
    ) -> StoreResult<String> {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let json = envelope::encode(message, sequence, sender)?;
        if json.len() <= envelope::MAX_INLINE_MESSAGE {
            return Ok(json);
        }
        let name = envelope::blob_name(message);
        self.large
            .put(&name, gzip(json.as_bytes())?, WriteCondition::Always)
            .await
            .map_err(storage)?;
        Ok(envelope::blob_wrapper(&name))
    }

    /// Reads a received message (downloading large ones); `Err(Corrupt)` for unreadable ones.
    pub(super) async fn read_message(
        &self,
        received: &ReceivedMessage,
    ) -> StoreResult<(TaskMessage, i64)> {
        match envelope::decode(&received.body)? {
            Envelope::Inline(message, sequence) => Ok((*message, sequence)),
            Envelope::InBlob(name) => {
                let data = self
                    .large
                    .get(&name)
                    .await
                    .map_err(storage)?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("large message blob {name:?} is missing"))
                    })?;
                match envelope::decode(&gunzip(&data)?)? {
                    Envelope::Inline(message, sequence) => Ok((*message, sequence)),
                    Envelope::InBlob(_) => Err(StoreError::Corrupt(format!(
                        "large message blob {name:?} points at another blob"
                    ))),
                }
            }
        }
    }

    /// The blob of a timer function's schedule status.
    fn timer_blob(function: &str) -> String {
        format!("timers/{}/status", function.to_ascii_lowercase())
    }

    pub(super) async fn load_timer(&self, function: &str) -> StoreResult<Option<ScheduleStatus>> {
        let Some(data) = self
            .leases
            .get(&Self::timer_blob(function))
            .await
            .map_err(storage)?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&data)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("timer status of {function:?}: {e}")))
    }

    pub(super) async fn save_timer(
        &self,
        function: &str,
        status: &ScheduleStatus,
    ) -> StoreResult<()> {
        let json = serde_json::to_vec(status)
            .map_err(|e| StoreError::storage(format!("cannot serialize a timer status: {e}")))?;
        self.leases
            .put(&Self::timer_blob(function), json, WriteCondition::Always)
            .await
            .map_err(storage)?;
        Ok(())
    }
}

/// When a received message may be delivered: timers and delayed starts not before their
/// time, even if the queue (whole seconds) showed them a little early.
pub(super) fn deliverable_at(message: &TaskMessage) -> DateTime<Utc> {
    let now = durable_store::clock::now();
    let due = match &message.event.kind {
        EventKind::TimerFired { fire_at, .. } => Some(*fire_at),
        EventKind::ExecutionStarted(started) => started.scheduled_start_time,
        _ => None,
    };
    due.map_or(now, |t| t.max(now))
}

pub(super) fn gzip(data: &[u8]) -> StoreResult<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(data)
        .and_then(|_| encoder.finish())
        .map_err(|e| StoreError::storage(format!("gzip failed: {e}")))
}

pub(super) fn gunzip(data: &[u8]) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::Corrupt(format!("a large message is not gzip: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod storage_error_tests {
    use super::*;

    fn status(status: u16) -> AzureError {
        AzureError::Status {
            method: "PUT".into(),
            resource: "/t".into(),
            status,
            code: String::new(),
            message: String::new(),
        }
    }

    #[test]
    fn throttling_server_errors_and_lost_connections_are_retryable() {
        for s in [408, 429, 500, 503] {
            assert!(storage(status(s)).is_retryable(), "{s}");
        }
        for s in [400, 403, 404, 409] {
            assert!(!storage(status(s)).is_retryable(), "{s}");
        }
        let lost = AzureError::Transport("http://x".into(), "connection reset".into());
        assert!(storage(lost).is_retryable());
    }
}
