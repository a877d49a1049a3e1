//! An instance with its sub-orchestrations: terminating or purging the whole tree (opt-in, as
//! the durabletask protocol's `recursive` flag). The children are read from each instance's
//! history (the sub-orchestrations its current execution created).

use std::collections::HashSet;

use super::{ClientError, DurableClient, PurgeHistoryResult};

/// How long a recursive terminate waits for one instance to end before it reads its children.
const ENDING: std::time::Duration = std::time::Duration::from_secs(10);
/// How many times it reads the tree again for children started meanwhile.
const ROUNDS: usize = 5;
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

    /// The instance and all its descendants, each once, parents before their children. A
    /// child counts only if its instance names the parent as its parent: an id that history
    /// names but another starter owns now (a refused child start, a reused id) is left alone.
    async fn tree(&self, instance_id: &str) -> Result<Vec<String>, ClientError> {
        let mut seen = HashSet::from([instance_id.to_string()]);
        let mut order = vec![instance_id.to_string()];
        let mut next = 0;
        while let Some(id) = order.get(next).cloned() {
            next += 1;
            for child in self.sub_orchestrations(&id).await? {
                if !seen.insert(child.clone()) {
                    continue;
                }
                let state = self.store.get_instance(&child).await?;
                if state.is_some_and(|s| s.parent_instance_id.as_deref() == Some(id.as_str())) {
                    order.push(child);
                }
            }
        }
        Ok(order)
    }

    /// Waits (a little) until each of `ids` has ended, so that no episode of theirs still in
    /// flight starts a child after the tree is read.
    async fn until_ended(&self, ids: &[String]) -> Result<(), ClientError> {
        for id in ids {
            let _ = self
                .wait_terminal(id, ENDING, std::time::Duration::from_millis(50))
                .await?;
        }
        Ok(())
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
        let mut ended = vec![instance_id.to_string()];
        // Each round: once the instances ended, read the tree again and end what still runs;
        // an episode that was in flight may have started children meanwhile.
        for _ in 0..ROUNDS {
            self.until_ended(&ended).await?;
            ended.clear();
            for id in self.tree(instance_id).await?.into_iter().skip(1) {
                let running = self
                    .store
                    .get_instance(&id)
                    .await?
                    .is_some_and(|i| !i.status.is_terminal());
                if !running {
                    continue;
                }
                match self.terminate(&id, reason).await {
                    Ok(()) => {
                        terminated += 1;
                        ended.push(id);
                    }
                    // ended or purged in the meantime
                    Err(ClientError::WrongStatus { .. } | ClientError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if ended.is_empty() {
                break;
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
