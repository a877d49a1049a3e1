//! Singleton locks: a blob lease per lock name, as Azure Functions' singleton listener locks
//! are. The blob `locks/{name}.listener` in the hub's lease container holds nothing; its lease,
//! proposed with this hub object's own lease id, is the lock. A holder extends it; a holder
//! that stops extending it (or dies) loses it when the lease runs out.

use std::time::Duration;

use durable_azure_storage::blobs::WriteCondition;
use durable_store::StoreResult;

use super::hub::{storage, AzureTaskHub};

/// The shortest and longest blob lease Azure Storage grants.
const SHORTEST: Duration = Duration::from_secs(15);
const LONGEST: Duration = Duration::from_secs(60);

impl AzureTaskHub {
    fn singleton_blob(name: &str) -> String {
        format!("locks/{}.listener", name.to_ascii_lowercase())
    }

    /// Takes the lease for `period` (15–60 s), or extends it if this object holds it; creates
    /// the blob on first use.
    ///
    /// Both are one Acquire Lease with this object's own lease id as the proposed id: on a free
    /// or expired lease it takes it, on an active lease with that id it starts the period
    /// again, on anyone else's it fails. A Renew Lease first would be wrong on an expired
    /// lease: Azurite renews an expired lease whatever lease id is given, keeping the old
    /// holder's id, so a host that never held it would think it does until its next renewal.
    pub(super) async fn lock_singleton_blob(
        &self,
        name: &str,
        period: Duration,
    ) -> StoreResult<bool> {
        let blob = Self::singleton_blob(name);
        let period = period.clamp(SHORTEST, LONGEST);
        for attempt in 0..2 {
            match self
                .leases
                .acquire_lease(&blob, &self.singleton_lease, Some(period))
                .await
            {
                Ok(_) => return Ok(true),
                Err(e) if matches!(e.status(), Some(409) | Some(412)) => return Ok(false),
                Err(e) if e.status() == Some(404) && attempt == 0 => {
                    match self
                        .leases
                        .put(&blob, Vec::new(), WriteCondition::IfNotExists)
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if matches!(e.status(), Some(409) | Some(412)) => {}
                        Err(e) => return Err(storage(e)),
                    }
                }
                Err(e) => return Err(storage(e)),
            }
        }
        Ok(false)
    }

    /// Releases the lease if this object holds it.
    pub(super) async fn release_singleton_blob(&self, name: &str) -> StoreResult<()> {
        let blob = Self::singleton_blob(name);
        match self
            .leases
            .release_lease(&blob, &self.singleton_lease)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.status(), Some(404) | Some(409) | Some(412)) => Ok(()),
            Err(e) => Err(storage(e)),
        }
    }
}
