//! An instance with its sub-orchestrations: terminating or purging the whole tree (opt-in, as
//! the durabletask protocol's `recursive` flag). The children are read from each instance's
//! history (the sub-orchestrations its current execution created).

use std::collections::HashSet;

use super::{ClientError, DurableClient, PurgeHistoryResult};
use durable_engine::history::EventKind;

impl DurableClient {
    /// The instance ids of the sub-orchestrations the instance's current execution created,
    /// in the order it created them.
    pub async fn sub_orchestrations(&self, instance_id: &str) -> Result<Vec<String>, ClientError> {
        let history = self.store.get_history(instance_id).await?;
        Ok(history
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::SubOrchestrationInstanceCreated { instance_id, .. } => {
                    Some(instance_id.clone())
                }
                _ => None,
            })
            .collect())
    }

    /// The instance and all its descendants, each once, parents before their children.
    async fn tree(&self, instance_id: &str) -> Result<Vec<String>, ClientError> {
        let mut seen = HashSet::from([instance_id.to_string()]);
        let mut order = vec![instance_id.to_string()];
        let mut next = 0;
        while let Some(id) = order.get(next).cloned() {
            next += 1;
            for child in self.sub_orchestrations(&id).await? {
                if seen.insert(child.clone()) {
                    order.push(child);
                }
            }
        }
        Ok(order)
    }

    /// Terminates the instance and every sub-orchestration under it that still runs (the
    /// parent first, so that it starts no more). The instance itself must be running, pending
    /// or suspended; returns how many instances were terminated.
    pub async fn terminate_recursive(
        &self,
        instance_id: &str,
        reason: &str,
    ) -> Result<usize, ClientError> {
        self.terminate(instance_id, reason).await?;
        let mut terminated = 1;
        for id in self.tree(instance_id).await?.into_iter().skip(1) {
            let running = self
                .store
                .get_instance(&id)
                .await?
                .is_some_and(|i| !i.status.is_terminal());
            if running {
                match self.terminate(&id, reason).await {
                    Ok(()) => terminated += 1,
                    // ended or purged in the meantime
                    Err(ClientError::WrongStatus { .. } | ClientError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(terminated)
    }

    /// Deletes the instance and every sub-orchestration under it, with their histories (the
    /// children first); returns how many instances were deleted.
    pub async fn purge_instance_history_recursive(
        &self,
        instance_id: &str,
    ) -> Result<PurgeHistoryResult, ClientError> {
        let tree = self.tree(instance_id).await?;
        let mut deleted = 0;
        for id in tree.iter().rev() {
            deleted += self.purge_instance_history(id).await?.instances_deleted;
        }
        Ok(PurgeHistoryResult {
            instances_deleted: deleted,
        })
    }
}
