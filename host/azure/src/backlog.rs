//! The backlog of an Azure Storage task hub, for autoscalers: each control queue's and the
//! work-item queue's depth and the age of its oldest visible message (since it was put), and
//! the partition leases' holders.

use durable_store::{Backlog, PartitionOwner, QueueBacklog, StoreResult};

use super::hub::{storage, AzureTaskHub};
use durable_azure_storage::queues::QueueClient;

impl AzureTaskHub {
    pub(super) async fn read_backlog(&self) -> StoreResult<Backlog> {
        let control = futures::future::try_join_all(self.control.iter().map(queue_backlog));
        let (control_queues, work_items, owners) = futures::try_join!(
            control,
            queue_backlog(&self.work_items),
            self.partition_owners()
        )?;
        let partitions = self
            .control
            .iter()
            .map(|q| PartitionOwner {
                partition: q.name().to_owned(),
                owner: owners.get(q.name()).cloned(),
            })
            .collect();
        Ok(Backlog {
            control_queues,
            work_items,
            partitions,
        })
    }
}

async fn queue_backlog(queue: &QueueClient) -> StoreResult<QueueBacklog> {
    let depth = queue.depth().await.map_err(storage)?;
    let now = durable_store::clock::now();
    Ok(QueueBacklog {
        name: queue.name().to_owned(),
        messages: depth.approximate_messages,
        oldest_message_age: depth
            .oldest_visible_inserted_at
            .map(|at| (now - at).to_std().unwrap_or_default()),
    })
}
