//! One blob function's listener: the scan loop and the run of one blob version.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::path::BlobPath;
use super::receipts::{Claimed, Receipt, ReceiptState, Receipts};
use super::run::run_blob_function;
use super::{LEASE, MIN_POLL, POISON_QUEUE};
use crate::app::{BlobFunction, BlobInfo, BlobInput, FunctionContext};
use crate::triggers::backoff::{pause_or_stop, Backoff};
use crate::triggers::storage::{clients_for, StorageTriggerConfig, StorageTriggerError};
use durable_azure_storage::blobs::{BlobItem, BlobVersion, ContainerClient};
use durable_azure_storage::queues::QueueClient;
use durable_azure_storage::AzureResult;
use durable_client::DurableClient;

const TRIGGER: &str = "blobTrigger";
/// The services its connection must reach: blobs, and the poison queue.
const NEEDS: &[durable_azure_storage::StorageService] = &[
    durable_azure_storage::StorageService::Blob,
    durable_azure_storage::StorageService::Queue,
];

/// Blobs listed per page.
const PAGE: usize = 1000;

/// A blob function ready to scan.
pub(crate) struct BlobListener {
    name: Arc<str>,
    function: BlobFunction,
    path: BlobPath,
    container: ContainerClient,
    receipts: Receipts,
    poison: QueueClient,
    max_failures: u32,
    max_polling_interval: Duration,
}

/// Checks every blob function's path and connection; builds the listeners.
pub(crate) fn prepare(
    functions: &[(String, BlobFunction)],
    config: &StorageTriggerConfig,
) -> Result<Vec<BlobListener>, StorageTriggerError> {
    let mut listeners = Vec::with_capacity(functions.len());
    for (name, function) in functions {
        let path = BlobPath::parse(&function.path).map_err(|e| StorageTriggerError::BadTarget {
            function: name.clone(),
            reason: e.to_string(),
        })?;
        let clients = clients_for(name, TRIGGER, &function.connection, NEEDS)?;
        listeners.push(BlobListener {
            name: Arc::from(name.as_str()),
            container: clients.container(path.container()),
            receipts: Receipts::new(&clients, &config.host_id, name),
            poison: clients.queue(POISON_QUEUE),
            path,
            function: function.clone(),
            max_failures: config.queues.max_dequeue_count.max(1),
            max_polling_interval: config.blobs.max_polling_interval,
        });
    }
    Ok(listeners)
}

/// Spawns the listeners.
pub(crate) fn spawn(
    listeners: Vec<BlobListener>,
    client: &DurableClient,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    listeners
        .into_iter()
        .map(|l| {
            tracing::info!(
                function = &*l.name,
                path = %l.function.path,
                connection = %l.function.connection,
                "blob trigger started"
            );
            tokio::spawn(Arc::new(l).run(client.clone(), shutdown.clone()))
        })
        .collect()
}

/// What became of one version in a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Run to success, found done, or poisoned: never again.
    Settled,
    /// Failed: retried on a later scan.
    Failed,
    /// Claimed elsewhere, changed or deleted meanwhile: looked at again on a later scan.
    Skipped,
}

impl BlobListener {
    async fn run(self: Arc<Self>, client: DurableClient, mut shutdown: watch::Receiver<bool>) {
        let context = FunctionContext {
            client,
            function_name: self.name.clone(),
        };
        let mut backoff = Backoff::new(MIN_POLL, self.max_polling_interval);
        // The watched container is created if missing (as the queue trigger creates its
        // queue), so that writers need not; the receipts container is ours.
        while let Err(e) = match self.container.create_if_not_exists().await {
            Ok(()) => self.receipts.create_container().await,
            Err(e) => Err(e),
        } {
            tracing::warn!(function = &*self.name, error = %e, "cannot create the containers; retrying");
            if pause_or_stop(backoff.next_pause(), &mut shutdown).await {
                return;
            }
        }
        backoff.reset();
        // Blob name → the version settled for it.
        let mut settled: HashMap<String, String> = HashMap::new();
        loop {
            match self.scan(&mut settled, &context, &shutdown).await {
                Ok(true) => backoff.reset(),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(function = &*self.name, error = %e, "scanning the container failed")
                }
            }
            if pause_or_stop(backoff.next_pause(), &mut shutdown).await {
                return;
            }
        }
    }

    /// Lists the container once and runs every unsettled version; true if any ran.
    async fn scan(
        &self,
        settled: &mut HashMap<String, String>,
        context: &FunctionContext,
        shutdown: &watch::Receiver<bool>,
    ) -> AzureResult<bool> {
        let mut worked = false;
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = match self
                .container
                .list_page(self.path.prefix(), marker.as_deref(), PAGE)
                .await
            {
                Ok(page) => page,
                // No container yet: nothing to do until someone creates it.
                Err(e) if e.status() == Some(404) => return Ok(false),
                Err(e) => return Err(e),
            };
            for item in page.items {
                let Some(params) = self.path.bind(&item.name) else {
                    continue;
                };
                seen.push(item.name.clone());
                if settled.get(&item.name) == Some(&item.etag) {
                    continue;
                }
                if *shutdown.borrow() {
                    return Ok(worked);
                }
                match self.process(&item, params, context).await {
                    Ok(Outcome::Settled) => {
                        worked = true;
                        settled.insert(item.name.clone(), item.etag.clone());
                    }
                    Ok(Outcome::Failed) => worked = true,
                    Ok(Outcome::Skipped) => {}
                    Err(e) => {
                        tracing::warn!(function = &*self.name, blob = %item.name, error = %e, "storage failed while handling the blob; retrying later")
                    }
                }
            }
            marker = page.next_marker;
            if marker.is_none() {
                break;
            }
        }
        // Forget deleted blobs, so a blob written again under the same name is noticed even
        // if the service reused an ETag.
        let seen: std::collections::HashSet<String> = seen.into_iter().collect();
        settled.retain(|name, _| seen.contains(name));
        Ok(worked)
    }

    /// Claims, runs and settles one version.
    async fn process(
        &self,
        item: &BlobItem,
        path_params: HashMap<String, String>,
        context: &FunctionContext,
    ) -> AzureResult<Outcome> {
        let container = self.path.container();
        let claim = match self
            .receipts
            .claim(&item.etag, container, &item.name)
            .await?
        {
            Claimed::Run(claim) => claim,
            Claimed::Settled => return Ok(Outcome::Settled),
            Claimed::Busy => return Ok(Outcome::Skipped),
        };
        let blob = match self.container.get_version(&item.name, &item.etag).await {
            Ok(BlobVersion::Found(blob)) => blob,
            Ok(BlobVersion::Changed | BlobVersion::Missing) => {
                // The next scan sees the new version (or nothing); this one never runs.
                let receipt = Receipt {
                    state: ReceiptState::Complete,
                    ..claim.receipt.clone()
                };
                self.receipts.settle(claim, &receipt).await?;
                return Ok(Outcome::Skipped);
            }
            Err(e) => {
                let receipt = claim.receipt.clone();
                let _ = self.receipts.settle(claim, &receipt).await;
                return Err(e);
            }
        };
        let attempt = claim.receipt.failures + 1;
        let input = BlobInput {
            info: BlobInfo {
                container: container.to_string(),
                name: item.name.clone(),
                path: format!("{container}/{}", item.name),
                path_params,
                etag: item.etag.clone(),
                uri: self.container.blob_url(&item.name),
                length: blob.content.len() as u64,
                last_modified: blob
                    .last_modified
                    .as_deref()
                    .or(Some(item.last_modified.as_str()))
                    .and_then(|t| chrono::DateTime::parse_from_rfc2822(t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc)),
                attempt,
            },
            content: blob.content,
        };
        let renew = || async {
            if let Err(e) = self.receipts.renew(&claim).await {
                tracing::warn!(function = &*self.name, blob = %item.name, error = %e, "renewing the receipt lease failed");
            }
        };
        let outcome =
            run_blob_function(&self.name, &self.function, input, context, LEASE / 3, renew).await;
        let mut receipt = claim.receipt.clone();
        let result = match outcome {
            Ok(()) => {
                receipt.state = ReceiptState::Complete;
                Outcome::Settled
            }
            Err(_) => {
                receipt.failures += 1;
                if receipt.failures >= self.max_failures {
                    self.report_poison(item).await?;
                    receipt.state = ReceiptState::Poisoned;
                    Outcome::Settled
                } else {
                    Outcome::Failed
                }
            }
        };
        self.receipts.settle(claim, &receipt).await?;
        Ok(result)
    }

    /// Puts a message naming the poisoned version on the blob trigger's poison queue.
    async fn report_poison(&self, item: &BlobItem) -> AzureResult<()> {
        let message = json!({
            "Type": "BlobTrigger",
            "FunctionId": &*self.name,
            "BlobType": "BlockBlob",
            "ContainerName": self.path.container(),
            "BlobName": item.name,
            "ETag": item.etag,
        });
        self.poison.create_if_not_exists().await?;
        self.poison
            .put(message.to_string().as_bytes(), Duration::ZERO)
            .await?;
        tracing::error!(
            function = &*self.name,
            blob = %item.name,
            etag = %item.etag,
            poison_queue = POISON_QUEUE,
            "blob version given up on after too many failures"
        );
        Ok(())
    }
}
