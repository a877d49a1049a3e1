//! What this process holds in memory between a queue get and a commit: received messages,
//! per-instance locks, activity locks, and the idle-poll back-off.
//!
//! Queue visibility (minutes, extended while a message is held) keeps other processes away
//! from a received message; locks shorter than the queue's one-second granularity, redelivery
//! after a lost lock and abandon delays are kept here, which is exact because only the owner of
//! a partition reads its control queue.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use durable_engine::message::TaskMessage;

/// A received queue message held for delivery.
#[derive(Debug, Clone)]
pub(super) struct Held {
    /// Local id, increasing in receive order (the work item's message id).
    pub id: i64,
    /// Control queue index (or 0 for the work-item queue).
    pub queue: usize,
    /// The queue's message id.
    pub message_id: String,
    /// The latest pop receipt.
    pub pop_receipt: String,
    /// The message.
    pub message: TaskMessage,
    /// Queue insertion time and sender sequence number: delivery order.
    pub order: (DateTime<Utc>, i64),
    /// Not delivered before this time.
    pub visible_at: DateTime<Utc>,
    /// Until when the queue hides it from other processes (extended while held).
    pub hidden_until: DateTime<Utc>,
    /// Deliveries so far.
    pub dequeue_count: u32,
    /// Current lock: token and expiry (activities only; orchestrations lock per instance).
    pub lock: Option<(String, DateTime<Utc>)>,
}

/// A lock on one instance's messages.
#[derive(Debug, Clone)]
pub(super) struct InstanceLock {
    /// The work item's token.
    pub token: String,
    /// When another worker may take the instance.
    pub expires: DateTime<Utc>,
    /// The held messages handed out with the lock.
    pub message_ids: Vec<i64>,
    /// The sentinel row's ETag when history was read (`None`: no sentinel yet).
    pub sentinel_etag: Option<String>,
    /// Stored history length of the current execution.
    pub history_len: u64,
    /// The current execution id per the sentinel.
    pub execution_id: Option<String>,
}

/// What this process wrote at an instance's last checkpoint: enough to lock it again
/// without reading the sentinel and the Instances row. A stale entry (another process wrote
/// since) fails the sentinel compare-and-swap and is dropped, so the retry reads afresh.
#[derive(Debug, Clone)]
pub(super) struct Checkpoint {
    /// The sentinel row's ETag after the write.
    pub sentinel_etag: Option<String>,
    /// Stored history length of the current execution.
    pub history_len: u64,
    /// The current execution id.
    pub execution_id: Option<String>,
    /// The Instances row as written.
    pub row: Option<durable_store::InstanceState>,
}

/// The Instances row a work item carries, reconciled with the history's sentinel row.
///
/// A checkpoint writes the history (ending with the sentinel) before the Instances row, so a
/// commit cut short between the two (a lost response, a reset connection) leaves the row
/// behind the history, or missing. The runtime decides from the row whether to replay stored
/// history; trusting a stale row would run the orchestrator again from nothing and append a
/// second `ExecutionStarted` and repeated tasks after the first. So the sentinel wins: the row
/// gets its history length and execution, and a row of another execution (or none) stands in
/// as a running one, to be rewritten from the replayed history by the next commit.
pub(super) fn row_as_history_says(
    instance_id: &str,
    row: Option<durable_store::InstanceState>,
    execution_id: Option<&str>,
    history_len: u64,
) -> Option<durable_store::InstanceState> {
    use durable_engine::history::OrchestrationStatus;
    let Some(execution_id) = execution_id.filter(|_| history_len > 0) else {
        return row;
    };
    let now = durable_store::clock::now();
    let mut row = row.unwrap_or_else(|| durable_store::InstanceState {
        instance_id: instance_id.to_owned(),
        execution_id: execution_id.to_owned(),
        name: String::new(),
        version: None,
        status: OrchestrationStatus::Running,
        input: None,
        output: None,
        custom_status: None,
        failure_details: None,
        parent_instance_id: None,
        created_at: now,
        last_updated_at: now,
        completed_at: None,
        history_len,
        tags: Default::default(),
    });
    if row.execution_id != execution_id {
        tracing::warn!(
            instance_id,
            "the Instances row lags its history (another execution); replaying the history"
        );
        row.execution_id = execution_id.to_owned();
        row.status = OrchestrationStatus::Running;
        row.output = None;
        row.failure_details = None;
        row.completed_at = None;
    } else if row.history_len != history_len {
        tracing::warn!(
            instance_id,
            row = row.history_len,
            history = history_len,
            "the Instances row lags its history; replaying the history"
        );
    }
    row.history_len = history_len;
    Some(row)
}

/// Orchestration messages and instance locks.
#[derive(Debug, Default)]
pub(super) struct OrchestrationState {
    /// Held messages by target instance.
    pub messages: HashMap<String, Vec<Held>>,
    /// Locks by instance.
    pub locks: HashMap<String, InstanceLock>,
    /// Visibility times of delayed messages this process sent, so that it polls when they
    /// come due.
    pub delayed: BTreeSet<DateTime<Utc>>,
    /// Control queues this process has sent a visible message to since it last polled them:
    /// polled next, without the others (local hand-off).
    pub sent_to: BTreeSet<usize>,
    /// Last checkpoints written here, by instance (bounded; see [`Self::remember`]).
    pub checkpoints: HashMap<String, Checkpoint>,
    /// The Pending rows this process's client wrote for new instances (no row was there), by
    /// instance, until their first work item (bounded; see [`Self::remember_created`]).
    pub created: HashMap<String, durable_store::InstanceState>,
}

/// At most this many checkpoints and created instances are remembered; beyond, they are all
/// forgotten (they are only a shortcut: a missing one means two reads).
const MAX_REMEMBERED: usize = 20_000;

impl OrchestrationState {
    /// True if a message with this queue id is already held (a redelivery after the queue
    /// lease ran out); refreshes its pop receipt.
    pub fn refresh(
        &mut self,
        instance_id: &str,
        message_id: &str,
        pop_receipt: &str,
        hidden_until: DateTime<Utc>,
    ) -> bool {
        let Some(held) = self.messages.get_mut(instance_id) else {
            return false;
        };
        match held.iter_mut().find(|h| h.message_id == message_id) {
            Some(h) => {
                h.pop_receipt = pop_receipt.to_owned();
                h.hidden_until = hidden_until;
                true
            }
            None => false,
        }
    }

    /// Records a checkpoint; forgets them all when too many pile up.
    pub fn remember(&mut self, instance_id: &str, checkpoint: Checkpoint) {
        if self.checkpoints.len() >= MAX_REMEMBERED {
            self.checkpoints.clear();
        }
        self.checkpoints.insert(instance_id.to_owned(), checkpoint);
    }

    /// Records the Pending row of an instance created where no row was; forgets them all
    /// when too many pile up (e.g. of instances whose partitions other processes own).
    pub fn remember_created(&mut self, row: durable_store::InstanceState) {
        if self.created.len() >= MAX_REMEMBERED {
            self.created.clear();
        }
        self.created.insert(row.instance_id.clone(), row);
    }

    /// What to lock `instance_id` from without reading: the last checkpoint written here; or,
    /// for the first work item of an instance created here that carries its start, an empty
    /// history and the Pending row. Nothing is then known to be stored beyond that row, and
    /// if something is (a start processed elsewhere and delivered again), the sentinel's
    /// insert fails and the retry reads afresh.
    pub fn known_checkpoint(
        &mut self,
        instance_id: &str,
        messages: &[durable_store::QueuedMessage],
    ) -> Option<Checkpoint> {
        use durable_engine::history::EventKind;
        let created = self.created.remove(instance_id);
        if let Some(checkpoint) = self.checkpoints.get(instance_id) {
            return Some(checkpoint.clone());
        }
        let row = created?;
        let starts_it = messages.iter().any(|m| match &m.message.event.kind {
            EventKind::ExecutionStarted(s) => {
                s.orchestration_instance.execution_id.as_deref() == Some(&*row.execution_id)
            }
            _ => false,
        });
        starts_it.then_some(Checkpoint {
            sentinel_etag: None,
            history_len: 0,
            execution_id: None,
            row: Some(row),
        })
    }

    /// Whether `instance_id` is locked by a lock that has not expired.
    pub fn is_locked(&self, instance_id: &str, now: DateTime<Utc>) -> bool {
        self.locks.get(instance_id).is_some_and(|l| l.expires > now)
    }

    /// The earliest future time something held becomes deliverable.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lock_ends = self.locks.iter().filter_map(|(id, l)| {
            (l.expires > now && self.messages.get(id).is_some_and(|m| !m.is_empty()))
                .then_some(l.expires)
        });
        let visible = self
            .messages
            .values()
            .flatten()
            .map(|h| h.visible_at)
            .filter(|t| *t > now);
        let delayed = self.delayed.iter().copied().filter(|t| *t > now);
        lock_ends.chain(visible).chain(delayed).min()
    }

    /// Removes and returns the held messages with these ids.
    pub fn take(&mut self, instance_id: &str, ids: &[i64]) -> Vec<Held> {
        let Some(held) = self.messages.get_mut(instance_id) else {
            return Vec::new();
        };
        let (taken, kept): (Vec<_>, Vec<_>) = std::mem::take(held)
            .into_iter()
            .partition(|h| ids.contains(&h.id));
        *held = kept;
        if held.is_empty() {
            self.messages.remove(instance_id);
        }
        taken
    }
}

/// What a poll of one or more queues found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Polled {
    /// No message.
    Nothing,
    /// Fewer messages than a batch holds: the queue is drained for now.
    Some,
    /// A full batch from some queue: more may be waiting.
    Full,
}

impl Polled {
    /// The outcome of one receive of `received` messages.
    pub fn of(received: usize) -> Self {
        match received {
            0 => Polled::Nothing,
            n if n >= durable_azure_storage::queues::MAX_BATCH => Polled::Full,
            _ => Polled::Some,
        }
    }

    /// The outcome of this poll and `other` together.
    pub fn and(self, other: Polled) -> Polled {
        match (self, other) {
            (Polled::Full, _) | (_, Polled::Full) => Polled::Full,
            (Polled::Some, _) | (_, Polled::Some) => Polled::Some,
            _ => Polled::Nothing,
        }
    }
}

/// Exponential back-off of idle queue polls, reset by work and by local sends.
#[derive(Debug)]
pub(super) struct Backoff {
    next: Instant,
    interval: Duration,
    /// The longest interval (`maxQueuePollingInterval`).
    max: Duration,
}

/// The shortest idle poll interval.
const MIN_POLL: Duration = Duration::from_millis(10);

impl Backoff {
    /// Polls at once, then backs off up to `max` while polls find nothing.
    pub fn new(max: Duration) -> Self {
        Backoff {
            next: Instant::now(),
            interval: MIN_POLL,
            max: max.max(MIN_POLL),
        }
    }

    /// Whether the queues should be polled now.
    pub fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    /// Records a poll's outcome: a full batch polls again at once (more may be waiting);
    /// some messages poll again after the shortest interval; nothing doubles the interval.
    pub fn record(&mut self, polled: Polled) {
        let (interval, wait) = match polled {
            Polled::Full => (MIN_POLL, Duration::ZERO),
            Polled::Some => (MIN_POLL, MIN_POLL),
            Polled::Nothing => {
                let doubled = (self.interval * 2).min(self.max);
                (doubled, doubled)
            }
        };
        self.interval = interval;
        self.next = Instant::now() + wait;
    }

    /// Polls within `cap` at the latest (this process is busy: work from elsewhere may
    /// follow its own), unless it polls sooner anyway.
    pub fn nudge(&mut self, cap: Duration) {
        self.interval = self.interval.min(cap);
        self.next = self.next.min(Instant::now() + cap);
    }

    /// Polls at once next time (this process just sent something).
    pub fn reset(&mut self) {
        self.interval = MIN_POLL;
        self.next = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_maximum_and_resets() {
        const MAX_POLL: Duration = Duration::from_secs(30);
        let mut b = Backoff::new(MAX_POLL);
        assert!(b.due());
        b.record(Polled::Nothing);
        b.record(Polled::Nothing);
        assert!(!b.due());
        assert_eq!(b.interval, MIN_POLL * 4);
        for _ in 0..30 {
            b.record(Polled::Nothing);
        }
        assert_eq!(b.interval, MAX_POLL);
        b.reset();
        assert!(b.due());
        // A drained queue is asked again soon, not at once; a full batch at once.
        b.record(Polled::Some);
        assert!(!b.due());
        assert_eq!(b.interval, MIN_POLL);
        b.record(Polled::Full);
        assert!(b.due());
        // A busy process polls its idle queues within the cap, however long it was idle.
        for _ in 0..30 {
            b.record(Polled::Nothing);
        }
        b.nudge(Duration::from_secs(1));
        assert_eq!(b.interval, Duration::from_secs(1));
        assert!(b.next <= Instant::now() + Duration::from_secs(1));
        assert_eq!(Polled::of(0).and(Polled::of(3)), Polled::Some);
        assert_eq!(Polled::of(32).and(Polled::Nothing), Polled::Full);
    }
}
