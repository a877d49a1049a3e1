//! [`Backlog`]: the work waiting in a task hub, as an autoscaler sees it.

use std::time::Duration;

use serde::Serialize;

/// The work waiting in a task hub's queues, and who holds its partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backlog {
    /// The orchestration (control) queues: one per partition on Azure Storage, one on the
    /// embedded store.
    pub control_queues: Vec<QueueBacklog>,
    /// The activity (work-item) queue.
    pub work_items: QueueBacklog,
    /// Each partition and the worker holding its lease (`None`: free); empty for a store
    /// without partitions.
    pub partitions: Vec<PartitionOwner>,
}

/// One queue's backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueBacklog {
    /// The queue's name.
    pub name: String,
    /// Messages waiting (Azure Storage: the queue's approximate count, invisible ones too).
    pub messages: u64,
    /// How long the oldest message ready to be taken has waited, if there is one.
    #[serde(serialize_with = "seconds")]
    pub oldest_message_age: Option<Duration>,
}

/// A partition and the worker holding its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionOwner {
    /// The partition (its control queue's name).
    pub partition: String,
    /// The worker id holding it, if any.
    pub owner: Option<String>,
}

fn seconds<S: serde::Serializer>(age: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match age {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl Backlog {
    /// Messages waiting in all control queues.
    pub fn control_messages(&self) -> u64 {
        self.control_queues.iter().map(|q| q.messages).sum()
    }

    /// How many workers would take this backlog on at once, each running up to
    /// `activities_per_worker` activities and `orchestrations_per_worker` orchestration
    /// episodes: enough for the activity queue, and enough for the control queues (no more
    /// than there are partitions, since a partition is served by one worker at a time); at
    /// least one while anything waits, none when nothing does.
    pub fn recommended_workers(
        &self,
        activities_per_worker: usize,
        orchestrations_per_worker: usize,
    ) -> u64 {
        let for_activities = self
            .work_items
            .messages
            .div_ceil(activities_per_worker.max(1) as u64);
        let partitions = self.control_queues.len().max(1) as u64;
        let for_orchestrations = self
            .control_messages()
            .div_ceil(orchestrations_per_worker.max(1) as u64)
            .min(partitions);
        for_activities.max(for_orchestrations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(messages: u64) -> QueueBacklog {
        QueueBacklog {
            name: "q".into(),
            messages,
            oldest_message_age: None,
        }
    }

    fn backlog(control: &[u64], work_items: u64) -> Backlog {
        Backlog {
            control_queues: control.iter().map(|m| queue(*m)).collect(),
            work_items: queue(work_items),
            partitions: Vec::new(),
        }
    }

    #[test]
    fn workers_follow_the_larger_need_and_partitions_cap_orchestrations() {
        assert_eq!(backlog(&[0, 0, 0, 0], 0).recommended_workers(10, 10), 0);
        assert_eq!(backlog(&[0, 0, 0, 0], 1).recommended_workers(10, 10), 1);
        assert_eq!(backlog(&[0, 0, 0, 0], 95).recommended_workers(10, 10), 10);
        assert_eq!(backlog(&[50, 50, 50, 50], 0).recommended_workers(10, 10), 4);
        assert_eq!(backlog(&[5, 0, 0, 0], 25).recommended_workers(10, 10), 3);
        assert_eq!(backlog(&[0], 7).recommended_workers(0, 0), 7);
    }
}
