//! What the timer trigger keeps in the task hub between runs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The last and next occurrence of a timer, persisted in the task hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleStatus {
    /// The occurrence that last ran.
    pub last: DateTime<Utc>,
    /// The next occurrence.
    pub next: DateTime<Utc>,
    /// When the status was written.
    pub last_updated: DateTime<Utc>,
}
