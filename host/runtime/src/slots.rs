//! Activity slots reserved for the requests a commit hands back already locked: the commit
//! asks the store to lock as many new requests as there are free slots, and each runs in its
//! slot at once, without a `lock_activities` round trip.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use super::Shared;

/// Takes up to `wanted` free activity slots, for requests a commit will hand back locked.
pub(crate) fn reserve(shared: &Shared, wanted: usize) -> Vec<OwnedSemaphorePermit> {
    let mut permits = Vec::new();
    while permits.len() < wanted {
        match Arc::clone(&shared.activity_slots).try_acquire_owned() {
            Ok(permit) => permits.push(permit),
            Err(_) => break,
        }
    }
    permits
}

/// The lock request for `permits` reserved slots.
pub(crate) fn lock_for(shared: &Shared, permits: &[OwnedSemaphorePermit]) -> (usize, Duration) {
    (permits.len(), shared.options.activity_lock)
}
