//! Blob receipts: one blob per (function, blob version) in `azure-webjobs-hosts`, whose lease
//! is the claim on a run and whose content records how the version fared.

use serde::{Deserialize, Serialize};

pub use super::{Claimed, ReceiptState};
use super::{LEASE, RECEIPTS_CONTAINER};
use durable_azure_storage::blobs::{ContainerClient, WriteCondition};
use durable_azure_storage::{AzureResult, StorageClients};

/// A receipt's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The state.
    pub state: ReceiptState,
    /// Failed runs so far.
    pub failures: u32,
}

impl Receipt {
    fn new() -> Self {
        Receipt {
            state: ReceiptState::Incomplete,
            failures: 0,
        }
    }
}

/// A held claim on one version's run.
#[derive(Debug)]
pub struct Claim {
    /// The receipt blob.
    pub blob: String,
    /// The lease on it.
    pub lease_id: String,
    /// Its content when claimed.
    pub receipt: Receipt,
}

/// The receipts of one function.
#[derive(Clone)]
pub struct Receipts {
    container: ContainerClient,
    prefix: String,
}

impl Receipts {
    /// Receipts of `function` for the hosts sharing `host_id`.
    pub fn new(clients: &StorageClients, host_id: &str, function: &str) -> Self {
        Receipts {
            container: clients.container(RECEIPTS_CONTAINER),
            prefix: format!("blobreceipts/{host_id}/{function}"),
        }
    }

    /// Creates the receipts container if missing.
    pub async fn create_container(&self) -> AzureResult<()> {
        self.container.create_if_not_exists().await
    }

    /// The receipt blob of one version.
    pub fn blob_name(&self, etag: &str, container: &str, blob: &str) -> String {
        format!(
            "{}/{}/{container}/{blob}",
            self.prefix,
            etag.trim_matches('"')
        )
    }

    /// Claims the run of one version.
    pub async fn claim(
        &self,
        etag: &str,
        container: &str,
        blob: &str,
    ) -> AzureResult<Claimed<Claim>> {
        let name = self.blob_name(etag, container, blob);
        let fresh = serde_json::to_vec(&Receipt::new()).unwrap_or_default();
        match self
            .container
            .put(&name, fresh, WriteCondition::IfNotExists)
            .await
        {
            Ok(_) => {}
            Err(e) if matches!(e.status(), Some(409) | Some(412)) => {}
            Err(e) => return Err(e),
        }
        let proposed = uuid::Uuid::new_v4().to_string();
        let lease_id = match self
            .container
            .acquire_lease(&name, &proposed, Some(LEASE))
            .await
        {
            Ok(id) => id,
            Err(e) if e.status() == Some(409) => return Ok(Claimed::Busy),
            Err(e) => return Err(e),
        };
        // Read under the lease: whatever was written before it was taken is final.
        let receipt = match self.container.get(&name).await? {
            Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(receipt = %name, error = %e, "unreadable receipt; treated as new");
                Receipt::new()
            }),
            None => Receipt::new(),
        };
        if receipt.state != ReceiptState::Incomplete {
            self.release(&name, &lease_id).await;
            return Ok(Claimed::Settled);
        }
        Ok(Claimed::Run(Claim {
            blob: name,
            lease_id,
            receipt,
        }))
    }

    /// Renews a claim's lease.
    pub async fn renew(&self, claim: &Claim) -> AzureResult<()> {
        self.container
            .renew_lease(&claim.blob, &claim.lease_id)
            .await
    }

    /// Records `receipt` under the claim's lease and releases it.
    pub async fn settle(&self, claim: Claim, receipt: &Receipt) -> AzureResult<()> {
        let content = serde_json::to_vec(receipt).unwrap_or_default();
        let written = self
            .container
            .put(&claim.blob, content, WriteCondition::Lease(&claim.lease_id))
            .await;
        self.release(&claim.blob, &claim.lease_id).await;
        written.map(|_| ())
    }

    async fn release(&self, blob: &str, lease_id: &str) {
        if let Err(e) = self.container.release_lease(blob, lease_id).await {
            tracing::debug!(receipt = %blob, error = %e, "releasing a receipt lease failed; it runs out by itself");
        }
    }
}
