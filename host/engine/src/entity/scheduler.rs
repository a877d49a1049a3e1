//! What an entity's instance row holds: the scheduler state as the input, the
//! entity status as the custom status.

use serde::{Deserialize, Serialize};

use super::messages::RequestMessage;
use super::sorter::MessageSorter;

/// The whole state of an entity between batches.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Whether the entity has state (the extension format writes it explicitly).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exists: bool,
    /// The user state, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Requests waiting (for a lock to be released).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<RequestMessage>,
    /// The orchestration holding the lock.
    #[serde(rename = "lockedBy", default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    /// A batch stopped at the size cap; a `continue` to itself resumes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Ordering and de-duplication state.
    #[serde(default, skip_serializing_if = "MessageSorter::is_empty")]
    pub sorter: MessageSorter,
}

impl SchedulerState {
    /// Reads the state from an instance row's input (`None` or `null` = a fresh entity).
    pub fn from_input(input: Option<&str>) -> Result<Self, serde_json::Error> {
        match input.map(str::trim) {
            None | Some("") | Some("null") => Ok(Self::default()),
            Some(json) => serde_json::from_str(json),
        }
    }

    /// True when nothing is left: no state, no lock, no queue, no ordering state (implicit
    /// deletion).
    pub fn is_empty(&self) -> bool {
        self.is_unused() && self.sorter.is_empty()
    }

    /// True when no state, lock or request is left (the de-duplication memory may be): what
    /// `clean_entity_storage` removes.
    pub fn is_unused(&self) -> bool {
        self.state.is_none()
            && self.locked_by.is_none()
            && self.queue.is_empty()
            && !self.suspended
            && self.sorter.buffered_count() == 0
    }

    /// The instance row's input: `None` once the entity is empty.
    pub fn to_input(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        serde_json::to_string(self).ok()
    }

    /// The status stored as the instance's custom status.
    pub fn status(&self) -> EntityStatus {
        EntityStatus {
            entity_exists: self.state.is_some(),
            queue_size: self.queue.len() + self.sorter.buffered_count(),
            locked_by: self.locked_by.clone(),
        }
    }
}

/// The entity status kept in the instance's custom status.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EntityStatus {
    /// The entity has state.
    #[serde(rename = "entityExists", default)]
    pub entity_exists: bool,
    /// Requests waiting (for a lock, or for an earlier request of the same sender).
    #[serde(rename = "queueSize", default, skip_serializing_if = "is_zero")]
    pub queue_size: usize,
    /// The lock holder.
    #[serde(rename = "lockedBy", default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
