//! Entity settings: the batch size cap and the reorder window (host.json
//! `extensions.durableTask.maxEntityOperationBatchSize` / `entityMessageReorderWindowInMinutes`).

use std::time::Duration;

use super::sorter::DEFAULT_REORDER_WINDOW;

/// The default cap on operations per batch (the extension's default outside Consumption).
pub const DEFAULT_MAX_OPERATION_BATCH_SIZE: usize = 5000;

/// How entities process their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityOptions {
    /// Most operations one batch (one work item, one commit) runs; the rest runs in the next
    /// batch, in order. 0 is treated as 1.
    pub max_operation_batch_size: usize,
    /// How long an entity holds a request back waiting for the sender's earlier request.
    pub reorder_window: Duration,
}

impl Default for EntityOptions {
    fn default() -> Self {
        Self {
            max_operation_batch_size: DEFAULT_MAX_OPERATION_BATCH_SIZE,
            reorder_window: DEFAULT_REORDER_WINDOW,
        }
    }
}
