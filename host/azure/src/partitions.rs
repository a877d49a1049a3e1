//! Partition leases: which control queues this process reads, shared fairly among every
//! process of one task hub.
//!
//! Each control queue has a lease blob `{hubl}-leases/default/{hubl}-control-NN` whose JSON
//! content names the owner (`PartitionId`, `Owner`, `Token`, `Epoch`). Ownership itself is a
//! blob lease, which the storage service enforces with its own clock: a lease not renewed
//! within the lease interval (15–60 s) lapses, so a killed process's partitions become free
//! without anyone's cooperation. A process
//!
//! - renews its leases every renew interval, and drops a partition whose renewal is refused
//!   (it was taken over);
//! - every acquire interval reads all lease blobs, takes free partitions while it holds fewer
//!   than its fair share (`ceil(partitions / processes)`), and takes one over (a lease change
//!   with the owner's token) from a process holding at least two more than itself;
//! - releases its leases on a graceful shutdown, so the others take over at once.
//!
//! Two processes may both read a queue for a moment during a takeover; the sentinel row's
//! compare-and-swap keeps the history single-writer (§2.9).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::layout::HubNames;
use super::AzureError;
use durable_azure_storage::blobs::{ContainerClient, WriteCondition};

/// Lease timing (DTFx's `LeaseInterval`, `LeaseRenewInterval`, `LeaseAcquireInterval`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    /// How long a lease lasts without renewal (15–60 s, a limit of blob leases).
    pub lease_interval: Duration,
    /// How often held leases are renewed.
    pub renew_interval: Duration,
    /// How often the leases are read to take free partitions and balance.
    pub acquire_interval: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            lease_interval: Duration::from_secs(30),
            renew_interval: Duration::from_secs(10),
            acquire_interval: Duration::from_secs(10),
        }
    }
}

impl LeaseSettings {
    /// The settings with each interval brought into the range blob leases accept (lease
    /// 15–60 s; renewal at most a third of it, so that two renewals can fail in a row).
    pub fn clamped(&self) -> LeaseSettings {
        let lease = self
            .lease_interval
            .clamp(Duration::from_secs(15), Duration::from_secs(60));
        LeaseSettings {
            lease_interval: lease,
            renew_interval: self
                .renew_interval
                .clamp(Duration::from_millis(100), lease / 3),
            acquire_interval: self.acquire_interval.max(Duration::from_millis(100)),
        }
    }
}

/// The JSON content of a lease blob.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LeaseContent {
    /// The control queue's name.
    pub partition_id: String,
    /// The owning worker, or `None` when released.
    pub owner: Option<String>,
    /// The current lease id, or `None` when released.
    pub token: Option<String>,
    /// Incremented by every acquisition and takeover.
    pub epoch: i64,
}

/// A lease this process holds.
#[derive(Debug, Clone)]
struct Owned {
    lease_id: String,
    epoch: i64,
    renewed: Instant,
}

/// One partition as a scan saw it.
struct Seen {
    partition: usize,
    leased: bool,
    content: LeaseContent,
}

/// The partition leases of one process.
pub(super) struct Partitions {
    container: ContainerClient,
    names: HubNames,
    worker: String,
    settings: LeaseSettings,
    owned: Mutex<BTreeMap<usize, Owned>>,
    /// Partitions given up since the hub last asked (their held messages must be released).
    lost: Mutex<Vec<usize>>,
}

impl Partitions {
    pub fn new(
        container: ContainerClient,
        names: HubNames,
        worker: String,
        settings: LeaseSettings,
    ) -> Self {
        Partitions {
            container,
            names,
            worker,
            settings: settings.clamped(),
            owned: Mutex::default(),
            lost: Mutex::default(),
        }
    }

    /// This worker's id, as lease blobs name it.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// The timing in use.
    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    /// The lease blob of a partition.
    pub fn blob_name(names: &HubNames, partition: usize) -> String {
        format!("default/{}", names.control_queue(partition as u32))
    }

    /// Whether this process holds the lease of `partition`.
    pub fn owns(&self, partition: usize) -> bool {
        self.owned.lock().contains_key(&partition)
    }

    /// The partitions this process holds.
    pub fn owned(&self) -> Vec<usize> {
        self.owned.lock().keys().copied().collect()
    }

    /// Partitions lost since the last call.
    pub fn take_lost(&self) -> Vec<usize> {
        std::mem::take(&mut *self.lost.lock())
    }

    fn lose(&self, partition: usize, why: &str) {
        if self.owned.lock().remove(&partition).is_some() {
            tracing::info!(
                partition = %self.names.control_queue(partition as u32),
                worker = %self.worker,
                why,
                "partition lease lost"
            );
            self.lost.lock().push(partition);
        }
    }

    /// Creates the lease blobs that do not exist yet (released, epoch 0).
    pub async fn create_blobs(&self) -> Result<(), AzureError> {
        for p in 0..self.names.partitions as usize {
            self.create_blob(p).await?;
        }
        Ok(())
    }

    async fn create_blob(&self, partition: usize) -> Result<(), AzureError> {
        let content = LeaseContent {
            partition_id: self.names.control_queue(partition as u32),
            ..LeaseContent::default()
        };
        let body = serde_json::to_vec(&content).unwrap_or_default();
        let blob = Self::blob_name(&self.names, partition);
        match self
            .container
            .put(&blob, body, WriteCondition::IfNotExists)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.status(), Some(409) | Some(412)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Renews the held leases; a refused renewal gives the partition up, and so does one that
    /// could not be confirmed for a whole lease interval.
    pub async fn renew(&self) {
        let held: Vec<(usize, Owned)> = self
            .owned
            .lock()
            .iter()
            .map(|(p, o)| (*p, o.clone()))
            .collect();
        let renewals = held.into_iter().map(|(p, owned)| async move {
            let blob = Self::blob_name(&self.names, p);
            let result = self.container.renew_lease(&blob, &owned.lease_id).await;
            (p, owned, result)
        });
        for (p, owned, result) in futures::future::join_all(renewals).await {
            match result {
                Ok(()) => {
                    if let Some(o) = self.owned.lock().get_mut(&p) {
                        if o.lease_id == owned.lease_id {
                            o.renewed = Instant::now();
                        }
                    }
                }
                Err(e) if matches!(e.status(), Some(409) | Some(412) | Some(404)) => {
                    self.lose(p, "taken over by another worker");
                }
                Err(e) => {
                    if owned.renewed.elapsed() >= self.settings.lease_interval {
                        self.lose(p, "could not renew within the lease interval");
                    } else {
                        tracing::warn!(error = %e, "could not renew a partition lease; retrying");
                    }
                }
            }
        }
    }

    /// Reads every lease, takes free partitions up to this process's fair share, and takes
    /// one over from a process holding at least two more than this one.
    pub async fn balance(&self) -> Result<(), AzureError> {
        let seen = self.scan().await?;
        let mine = self.owned();
        // What the blobs say: leases held by others (a lease of ours that names someone
        // else was taken over, whatever renewal said).
        for s in &seen {
            if mine.contains(&s.partition) && s.content.owner.as_deref() != Some(&self.worker) {
                self.lose(s.partition, "the lease blob names another worker");
            }
        }
        let mut counts: HashMap<String, Vec<&Seen>> = HashMap::new();
        for s in seen.iter().filter(|s| s.leased) {
            if let Some(owner) = &s.content.owner {
                if owner != &self.worker {
                    counts.entry(owner.clone()).or_default().push(s);
                }
            }
        }
        let total = self.names.partitions as usize;
        let workers = counts.len() + 1;
        let share = total.div_ceil(workers);
        let mut have = self.owned.lock().len();

        // Free partitions, and leases an earlier run of this same worker id left behind.
        let mut free: Vec<&Seen> = seen
            .iter()
            .filter(|s| !self.owns(s.partition))
            .filter(|s| {
                !s.leased
                    || (s.content.owner.as_deref() == Some(&self.worker)
                        && s.content.token.is_some())
            })
            .collect();
        // Spread simultaneous starters over different partitions.
        free.sort_by_key(|s| (s.partition + rotation(&self.worker, total)) % total);
        for s in free {
            if have >= share {
                break;
            }
            if self.take(s).await {
                have += 1;
            }
        }
        // One takeover per round from the most loaded process, if it is ahead by two.
        if have < share {
            let victim = counts
                .values()
                .filter(|held| held.len() >= have + 2)
                .max_by_key(|held| held.len());
            if let Some(held) = victim {
                if let Some(s) = held.first() {
                    self.take(s).await;
                }
            }
        }
        Ok(())
    }

    async fn scan(&self) -> Result<Vec<Seen>, AzureError> {
        let reads = (0..self.names.partitions as usize).map(|p| async move {
            let blob = Self::blob_name(&self.names, p);
            (p, self.container.get_with_lease(&blob).await)
        });
        let mut seen = Vec::new();
        for (p, read) in futures::future::join_all(reads).await {
            match read? {
                None => {
                    // A hub created before its lease blobs: create this one.
                    self.create_blob(p).await?;
                }
                Some((body, leased)) => {
                    let content = serde_json::from_slice(&body).unwrap_or_else(|e| {
                        tracing::warn!(partition = p, error = %e, "unreadable lease blob; treating it as released");
                        LeaseContent::default()
                    });
                    seen.push(Seen {
                        partition: p,
                        leased,
                        content,
                    });
                }
            }
        }
        Ok(seen)
    }

    /// Acquires (or takes over, when `seen` is leased) the lease of one partition and writes
    /// this worker into its blob; false if another process was faster.
    async fn take(&self, seen: &Seen) -> bool {
        let blob = Self::blob_name(&self.names, seen.partition);
        let proposed = uuid::Uuid::new_v4().to_string();
        let acquired = match (&seen.content.token, seen.leased) {
            (Some(token), true) => self.container.change_lease(&blob, token, &proposed).await,
            _ => {
                self.container
                    .acquire_lease(&blob, &proposed, Some(self.settings.lease_interval))
                    .await
            }
        };
        let lease_id = match acquired {
            Ok(id) => id,
            Err(e) if matches!(e.status(), Some(409) | Some(412)) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "could not acquire a partition lease");
                return false;
            }
        };
        let content = LeaseContent {
            partition_id: self.names.control_queue(seen.partition as u32),
            owner: Some(self.worker.clone()),
            token: Some(lease_id.clone()),
            epoch: seen.content.epoch + 1,
        };
        let body = serde_json::to_vec(&content).unwrap_or_default();
        if let Err(e) = self
            .container
            .put(&blob, body, WriteCondition::Lease(&lease_id))
            .await
        {
            tracing::warn!(error = %e, "could not record a partition lease; releasing it");
            let _ = self.container.release_lease(&blob, &lease_id).await;
            return false;
        }
        tracing::info!(
            partition = %content.partition_id,
            worker = %self.worker,
            epoch = content.epoch,
            taken_over = seen.leased,
            "partition lease acquired"
        );
        self.owned.lock().insert(
            seen.partition,
            Owned {
                lease_id,
                epoch: content.epoch,
                renewed: Instant::now(),
            },
        );
        true
    }

    /// Releases every held lease (graceful shutdown), clearing the owner in each blob.
    pub async fn release_all(&self) {
        let held: Vec<(usize, Owned)> = std::mem::take(&mut *self.owned.lock())
            .into_iter()
            .collect();
        let releases = held.into_iter().map(|(p, owned)| async move {
            let blob = Self::blob_name(&self.names, p);
            let content = LeaseContent {
                partition_id: self.names.control_queue(p as u32),
                owner: None,
                token: None,
                epoch: owned.epoch,
            };
            let body = serde_json::to_vec(&content).unwrap_or_default();
            let _ = self
                .container
                .put(&blob, body, WriteCondition::Lease(&owned.lease_id))
                .await;
            if let Err(e) = self.container.release_lease(&blob, &owned.lease_id).await {
                tracing::warn!(error = %e, "could not release a partition lease");
            }
        });
        futures::future::join_all(releases).await;
    }

    /// Who holds which partition now, read from the lease blobs (for tests and tools):
    /// partition index → owner, for leases currently held.
    pub async fn owners(&self) -> Result<BTreeMap<usize, String>, AzureError> {
        Ok(self
            .scan()
            .await?
            .into_iter()
            .filter(|s| s.leased)
            .filter_map(|s| Some((s.partition, s.content.owner?)))
            .collect())
    }
}

/// A per-worker rotation of the partition order, so that processes starting together try
/// different partitions first.
fn rotation(worker: &str, total: usize) -> usize {
    (super::layout::fnv1a(worker.as_bytes()) as usize) % total.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_clamped_to_what_blob_leases_accept() {
        let s = LeaseSettings {
            lease_interval: Duration::from_secs(5),
            renew_interval: Duration::from_secs(30),
            acquire_interval: Duration::ZERO,
        }
        .clamped();
        assert_eq!(s.lease_interval, Duration::from_secs(15));
        assert_eq!(s.renew_interval, Duration::from_secs(5));
        assert_eq!(s.acquire_interval, Duration::from_millis(100));
    }

    #[test]
    fn lease_content_has_the_dtfx_field_names() {
        let c = LeaseContent {
            partition_id: "hub-control-02".into(),
            owner: Some("w1".into()),
            token: Some("t".into()),
            epoch: 3,
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"PartitionId": "hub-control-02", "Owner": "w1", "Token": "t", "Epoch": 3})
        );
    }
}
