//! Per-sender ordering and de-duplication of entity requests.
//!
//! A sender labels each request with a timestamp that grows strictly per destination and with
//! the timestamp of its previous request to that destination (the predecessor). A receiver
//! delivers a request once its predecessor has been delivered, or once the request is older
//! than the reorder window (its predecessor is then presumed lost or already forgotten), and
//! buffers it until then. A request whose timestamp is not newer than the last one delivered
//! from the same sender execution is a duplicate (a resend after a crash, or one instance
//! processed twice) and is dropped. Client signals (no parent), scheduled requests, forwarded
//! lock requests (`pos > 0`) and requests without a `Predecessor` (from a sender that does not
//! label) bypass the sorter.
//!
//! The state is the `sorter` member of the scheduler state, with the extension's field names.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::messages::RequestMessage;

/// The default reorder window (`EntityMessageReorderWindowInMinutes` = 30).
pub const DEFAULT_REORDER_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The smallest step between two timestamps (one .NET tick, 100 ns).
fn tick() -> Duration {
    Duration::nanoseconds(100)
}

/// Ordering state: what this instance sent (as a sender) and received (as an entity).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageSorter {
    /// Destination instance id -> timestamp of the last request sent to it.
    #[serde(
        rename = "LastSentToInstance",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub last_sent_to_instance: BTreeMap<String, DateTime<Utc>>,
    /// Sender instance id -> what was delivered from it and what waits for a predecessor.
    #[serde(
        rename = "ReceivedFromInstance",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub received_from_instance: BTreeMap<String, ReceiveBuffer>,
    /// Senders last heard from before this time are forgotten.
    #[serde(
        rename = "ReceiveHorizon",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::time::deserialize_opt"
    )]
    pub receive_horizon: Option<DateTime<Utc>>,
    /// Destinations last sent to before this time are forgotten.
    #[serde(
        rename = "SendHorizon",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::time::deserialize_opt"
    )]
    pub send_horizon: Option<DateTime<Utc>>,
}

/// What an entity knows about one sender.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReceiveBuffer {
    /// Timestamp of the last request delivered from this sender.
    #[serde(
        rename = "Last",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::messages::dotnet_time::read"
    )]
    pub last: Option<DateTime<Utc>>,
    /// The sender's execution the timestamps belong to (a new execution starts afresh).
    #[serde(
        rename = "ExecutionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub execution_id: Option<String>,
    /// Requests waiting for their predecessor, by timestamp.
    #[serde(
        rename = "Buffered",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub buffered: BTreeMap<DateTime<Utc>, RequestMessage>,
}

/// What [`MessageSorter::receive`] did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Delivered (possibly with buffered successors).
    Delivered,
    /// Held until its predecessor arrives or the reorder window passes.
    Buffered,
    /// Dropped: already delivered (or buffered) once.
    Duplicate,
}

impl MessageSorter {
    /// True when there is nothing to keep.
    pub fn is_empty(&self) -> bool {
        self.last_sent_to_instance.is_empty() && self.received_from_instance.is_empty()
    }

    /// Labels a request to `destination` sent at `now`: a timestamp later than every earlier
    /// one to that destination, and the previous one as predecessor. Destinations not written
    /// to within `window` are forgotten (their receivers no longer wait for anything from us).
    pub fn label_outgoing(
        &mut self,
        request: &mut RequestMessage,
        destination: &str,
        now: DateTime<Utc>,
        window: std::time::Duration,
    ) {
        let horizon = horizon_of(now, window);
        // Advances (and forgets old destinations) once per window, not on every send.
        if self
            .send_horizon
            .is_none_or(|h| h < horizon_of(horizon, window))
        {
            self.send_horizon = Some(horizon);
            self.last_sent_to_instance.retain(|_, t| *t >= horizon);
        }
        let last = self.last_sent_to_instance.get(destination).copied();
        let timestamp = match last {
            Some(last) if now <= last => last + tick(),
            _ => now,
        };
        request.timestamp = timestamp;
        request.predecessor = Some(last);
        self.last_sent_to_instance
            .insert(destination.to_string(), timestamp);
    }

    /// Takes one incoming request; appends what may run now to `deliver`, in order.
    pub fn receive(
        &mut self,
        request: RequestMessage,
        now: DateTime<Utc>,
        window: std::time::Duration,
        deliver: &mut Vec<RequestMessage>,
    ) -> Received {
        let labelled = request.predecessor.is_some();
        let sender = match &request.parent {
            Some(parent) if labelled && request.due.is_none() && request.pos == 0 => parent.clone(),
            _ => {
                deliver.push(request);
                return Received::Delivered;
            }
        };
        let horizon = self.advance_receive_horizon(now, window);
        let entry = self.received_from_instance.entry(sender).or_default();
        if entry.execution_id != request.parent_execution {
            // A new execution of the sender: whatever the old one left waiting runs first.
            deliver.extend(std::mem::take(&mut entry.buffered).into_values());
            entry.last = None;
            entry.execution_id = request.parent_execution.clone();
        }
        let ts = request.timestamp;
        if entry.last.is_some_and(|last| ts <= last) || entry.buffered.contains_key(&ts) {
            return Received::Duplicate;
        }
        let ready = match request.predecessor.flatten() {
            None => true,
            Some(p) => p < horizon || entry.last.is_some_and(|last| p <= last),
        };
        if !ready {
            entry.buffered.insert(ts, request);
            return Received::Buffered;
        }
        entry.last = Some(ts);
        deliver.push(request);
        entry.release_successors(deliver);
        Received::Delivered
    }

    /// Delivers buffered requests older than the reorder window (their predecessors are not
    /// coming) and forgets senders not heard from within it. Call once per batch.
    pub fn flush_expired(
        &mut self,
        now: DateTime<Utc>,
        window: std::time::Duration,
        deliver: &mut Vec<RequestMessage>,
    ) {
        let horizon = self.advance_receive_horizon(now, window);
        for entry in self.received_from_instance.values_mut() {
            while let Some(entry_ts) = entry.buffered.keys().next().copied() {
                if entry_ts >= horizon {
                    break;
                }
                if let Some(request) = entry.buffered.remove(&entry_ts) {
                    entry.last = Some(entry_ts);
                    deliver.push(request);
                }
                entry.release_successors(deliver);
            }
        }
        self.received_from_instance
            .retain(|_, e| !e.buffered.is_empty() || e.last.is_some_and(|l| l >= horizon));
    }

    /// Requests waiting for a predecessor.
    pub fn buffered_count(&self) -> usize {
        self.received_from_instance
            .values()
            .map(|e| e.buffered.len())
            .sum()
    }

    fn advance_receive_horizon(
        &mut self,
        now: DateTime<Utc>,
        window: std::time::Duration,
    ) -> DateTime<Utc> {
        let horizon = horizon_of(now, window);
        let horizon = self.receive_horizon.map_or(horizon, |h| h.max(horizon));
        self.receive_horizon = Some(horizon);
        horizon
    }
}

impl ReceiveBuffer {
    /// Delivers buffered requests whose predecessor has now been delivered, in order.
    fn release_successors(&mut self, deliver: &mut Vec<RequestMessage>) {
        while let Some((&ts, next)) = self.buffered.iter().next() {
            let ready = match (next.predecessor.flatten(), self.last) {
                (None, _) => true,
                (Some(p), Some(last)) => p <= last,
                (Some(_), None) => false,
            };
            if !ready {
                break;
            }
            if let Some(request) = self.buffered.remove(&ts) {
                self.last = Some(ts);
                deliver.push(request);
            }
        }
    }
}

/// `now - window`, or the earliest time when that underflows.
fn horizon_of(now: DateTime<Utc>, window: std::time::Duration) -> DateTime<Utc> {
    Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
