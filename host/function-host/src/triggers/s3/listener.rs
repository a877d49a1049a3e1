//! One S3 blob function's listener: the scan loop, the event loop (with an event queue), and
//! the run of one object version.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::bucket::{Bucket, ObjectItem, ObjectVersion, S3Result};
use super::connection::S3Connection;
use super::events::created_objects;
use super::receipts::Receipts;
use super::{CLAIM, RESERVED_PREFIX};
use crate::app::{BlobFunction, BlobInfo, BlobInput, FunctionContext};
use crate::triggers::backoff::{pause_or_stop, Backoff};
use crate::triggers::blob::path::BlobPath;
use crate::triggers::blob::run::run_blob_function;
use crate::triggers::blob::{Claimed, ReceiptState, MIN_POLL};
use crate::triggers::storage::StorageTriggerConfig;
use durable_client::DurableClient;

/// An S3 blob function ready to start.
pub(crate) struct S3Listener {
    name: Arc<str>,
    function: BlobFunction,
    path: BlobPath,
    connection: S3Connection,
    host_id: String,
    max_failures: u32,
    max_polling_interval: Duration,
}

/// A started listener's clients and state, shared by its scan and event loops.
struct Running {
    listener: S3Listener,
    bucket: Bucket,
    receipts: Receipts,
    /// Key → the version settled for it.
    settled: Mutex<HashMap<String, String>>,
    context: FunctionContext,
}

/// The listener for one S3 blob function whose connection is `connection` (already parsed).
pub(crate) fn listener(
    name: &str,
    function: &BlobFunction,
    path: BlobPath,
    connection: S3Connection,
    config: &StorageTriggerConfig,
) -> S3Listener {
    S3Listener {
        name: Arc::from(name),
        function: function.clone(),
        path,
        connection,
        host_id: config.host_id.clone(),
        max_failures: config.queues.max_dequeue_count.max(1),
        max_polling_interval: config.blobs.max_polling_interval,
    }
}

/// Spawns the listeners: one task that builds their clients, then runs a scan loop per
/// function and one event loop per event queue (functions sharing a queue share its loop,
/// which hands each event to the functions whose bucket and path it matches).
pub(crate) fn spawn(
    listeners: Vec<S3Listener>,
    client: &DurableClient,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    if listeners.is_empty() {
        return Vec::new();
    }
    for l in &listeners {
        tracing::info!(
            function = &*l.name,
            path = %l.function.path,
            connection = %l.function.connection,
            events = l.connection.event_queue_url.is_some(),
            "S3 blob trigger started"
        );
    }
    let (client, shutdown) = (client.clone(), shutdown.clone());
    vec![tokio::spawn(run_all(listeners, client, shutdown))]
}

async fn run_all(
    listeners: Vec<S3Listener>,
    client: DurableClient,
    shutdown: watch::Receiver<bool>,
) {
    let mut queues: HashMap<String, (aws_sdk_sqs::Client, Vec<Arc<Running>>)> = HashMap::new();
    let mut tasks = Vec::new();
    for l in listeners {
        let (s3, sqs) = l.connection.clients().await;
        let queue_url = l.connection.event_queue_url.clone();
        let running = Arc::new(Running::new(l, s3, client.clone()));
        if let (Some(sqs), Some(url)) = (sqs, queue_url) {
            queues
                .entry(url)
                .or_insert_with(|| (sqs, Vec::new()))
                .1
                .push(running.clone());
        }
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(
            async move { running.scan_loop(shutdown).await },
        ));
    }
    for (url, (sqs, group)) in queues {
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(receive_events(sqs, url, group, shutdown)));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// What became of one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Run to success, found done, or poisoned: never again.
    Settled,
    /// Failed: retried later.
    Failed,
    /// Claimed elsewhere, changed or deleted meanwhile: looked at again later.
    Skipped,
}

impl Running {
    fn new(listener: S3Listener, s3: aws_sdk_s3::Client, client: DurableClient) -> Running {
        let owner = format!("{}-{}", listener.host_id, std::process::id());
        let bucket = Bucket::new(s3, listener.path.container());
        let receipts = Receipts::new(bucket.clone(), &listener.host_id, &listener.name, &owner);
        let context = FunctionContext {
            client,
            function_name: listener.name.clone(),
        };
        Running {
            listener,
            bucket,
            receipts,
            settled: Mutex::new(HashMap::new()),
            context,
        }
    }
}

impl Running {
    fn name(&self) -> &str {
        &self.listener.name
    }

    /// Scans at start-up, then after a pause that doubles while nothing changes.
    async fn scan_loop(&self, mut shutdown: watch::Receiver<bool>) {
        let l = &self.listener;
        let mut backoff = Backoff::new(MIN_POLL, l.max_polling_interval);
        loop {
            match self.scan(&shutdown).await {
                Ok(true) => backoff.reset(),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(function = self.name(), bucket = self.bucket.name(), error = %e, "scanning the bucket failed")
                }
            }
            if pause_or_stop(backoff.next_pause(), &mut shutdown).await {
                return;
            }
        }
    }

    /// Lists the bucket under the path's prefix once and runs every unsettled version; true
    /// if any ran.
    async fn scan(&self, shutdown: &watch::Receiver<bool>) -> S3Result<bool> {
        let mut worked = false;
        let mut seen = std::collections::HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .bucket
                .list_page(self.listener.path.prefix(), token.as_deref())
                .await?;
            for item in page.items {
                if item.key.starts_with(RESERVED_PREFIX) {
                    continue;
                }
                seen.insert(item.key.clone());
                if *shutdown.borrow() {
                    return Ok(worked);
                }
                match self.consider(&item).await {
                    Ok(Outcome::Settled | Outcome::Failed) => worked = true,
                    Ok(Outcome::Skipped) => {}
                    Err(e) => {
                        tracing::warn!(function = self.name(), key = %item.key, error = %e, "S3 failed while handling the object; retrying later")
                    }
                }
            }
            token = page.next;
            if token.is_none() {
                break;
            }
        }
        // Forget deleted objects, so one written again under the same key is noticed even
        // if it has the same ETag (the same content).
        self.settled.lock().retain(|key, _| seen.contains(key));
        Ok(worked)
    }

    /// Runs one version unless it is settled here or does not match the path.
    async fn consider(&self, item: &ObjectItem) -> S3Result<Outcome> {
        let Some(params) = self.listener.path.bind(&item.key) else {
            return Ok(Outcome::Skipped);
        };
        if self.settled.lock().get(&item.key) == Some(&item.etag) {
            return Ok(Outcome::Skipped);
        }
        let outcome = self.process(item, params).await?;
        if outcome == Outcome::Settled {
            self.settled
                .lock()
                .insert(item.key.clone(), item.etag.clone());
        }
        Ok(outcome)
    }

    /// Runs the version an event names (its current one when the event carries no ETag).
    async fn on_event(&self, key: &str, etag: Option<String>) -> S3Result<()> {
        tracing::info!(
            function = self.name(),
            key,
            "S3 event: an object was created"
        );
        let item = match etag {
            Some(etag) => ObjectItem {
                key: key.to_string(),
                etag,
                last_modified: None,
            },
            None => match self.bucket.head(key).await? {
                Some(item) => item,
                None => return Ok(()),
            },
        };
        self.consider(&item).await.map(|_| ())
    }

    /// Claims, runs and settles one version.
    async fn process(
        &self,
        item: &ObjectItem,
        path_params: HashMap<String, String>,
    ) -> S3Result<Outcome> {
        let claim = match self.receipts.claim(&item.etag, &item.key).await? {
            Claimed::Run(claim) => claim,
            Claimed::Settled => return Ok(Outcome::Settled),
            Claimed::Busy => return Ok(Outcome::Skipped),
        };
        let content = match self.bucket.get_version(&item.key, &item.etag).await {
            Ok(ObjectVersion::Found(content)) => content,
            Ok(ObjectVersion::Changed | ObjectVersion::Missing) => {
                // A newer version (or nothing) is there; this one never runs.
                let mut receipt = claim.receipt.clone();
                receipt.state = ReceiptState::Complete;
                self.receipts.settle(claim, receipt).await?;
                return Ok(Outcome::Skipped);
            }
            Err(e) => {
                let receipt = claim.receipt.clone();
                let _ = self.receipts.settle(claim, receipt).await;
                return Err(e);
            }
        };
        let bucket = self.bucket.name();
        let attempt = claim.receipt.failures + 1;
        let input = BlobInput {
            info: BlobInfo {
                container: bucket.to_string(),
                name: item.key.clone(),
                path: format!("{bucket}/{}", item.key),
                path_params,
                etag: item.etag.clone(),
                uri: format!("s3://{bucket}/{}", item.key),
                length: content.len() as u64,
                last_modified: item.last_modified,
                attempt,
            },
            content,
        };
        let claim = tokio::sync::Mutex::new(claim);
        let renew = || async {
            let mut held = claim.lock().await;
            if let Err(e) = self.receipts.renew(&mut held).await {
                tracing::warn!(function = self.name(), key = %item.key, error = %e, "renewing the claim on the object failed");
            }
        };
        let l = &self.listener;
        let outcome =
            run_blob_function(&l.name, &l.function, input, &self.context, CLAIM / 3, renew).await;
        let claim = claim.into_inner();
        let mut receipt = claim.receipt.clone();
        let result = match outcome {
            Ok(()) => {
                receipt.state = ReceiptState::Complete;
                Outcome::Settled
            }
            Err(failure) => {
                receipt.failures += 1;
                if receipt.failures >= l.max_failures {
                    self.poison(item, &failure.to_string(), receipt.failures)
                        .await?;
                    receipt.state = ReceiptState::Poisoned;
                    Outcome::Settled
                } else {
                    Outcome::Failed
                }
            }
        };
        self.receipts.settle(claim, receipt).await?;
        Ok(result)
    }

    /// Moves a version that failed too often under `.durable/poison/{function}/`, with the
    /// reason in its metadata.
    async fn poison(&self, item: &ObjectItem, error: &str, failures: u32) -> S3Result<()> {
        let to = format!("{RESERVED_PREFIX}poison/{}/{}", self.name(), item.key);
        let reason = format!("failed {failures} times; last: {error}");
        self.bucket
            .move_aside(&item.key, &item.etag, &to, &reason)
            .await?;
        tracing::error!(
            function = self.name(),
            key = %item.key,
            etag = %item.etag,
            moved_to = %to,
            "object given up on after too many failures"
        );
        Ok(())
    }
}

/// Receives the event notifications on one queue and runs the objects they name in the
/// functions whose bucket and path match, until shutdown; the scans still run (slowly, when
/// nothing changes) and catch what an event missed.
async fn receive_events(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    group: Vec<Arc<Running>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(MIN_POLL, Duration::from_secs(30));
    while !*shutdown.borrow() {
        let receive = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(10)
            .send();
        let received = tokio::select! {
            r = receive => r,
            _ = shutdown.changed() => return,
        };
        let messages = match received {
            Ok(out) => {
                backoff.reset();
                out.messages.unwrap_or_default()
            }
            Err(e) => {
                let e = super::bucket::failed(e);
                tracing::warn!(queue = %queue_url, error = %e, "receiving S3 events failed");
                if pause_or_stop(backoff.next_pause(), &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        for message in messages {
            for object in created_objects(message.body().unwrap_or_default()) {
                if object.key.starts_with(RESERVED_PREFIX) {
                    continue;
                }
                tracing::info!(bucket = %object.bucket, key = %object.key, "S3 event: an object was created");
                for running in group.iter().filter(|r| r.bucket.name() == object.bucket) {
                    if let Err(e) = running.on_event(&object.key, object.etag.clone()).await {
                        tracing::warn!(function = running.name(), key = %object.key, error = %e, "S3 failed while handling an event; the next scan retries");
                    }
                }
            }
            // Handled or not, the scans own retries: the event is not needed again.
            if let Some(handle) = message.receipt_handle() {
                if let Err(e) = sqs
                    .delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                {
                    tracing::debug!(queue = %queue_url, error = %super::bucket::failed(e), "deleting a handled event failed; it comes back and is ignored");
                }
            }
        }
    }
}
