//! The messages entities exchange, as the JSON payloads of `EventRaised` events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::id::EntityId;
use crate::history::FailureDetails;

/// Event name of an operation request (call, signal or lock request).
pub const OP: &str = "op";
/// Event name of a lock release.
pub const RELEASE: &str = "release";
/// Event name of the message an entity sends itself to go on after a capped batch.
pub const CONTINUE: &str = "continue";
/// Request id of the releases `clean_entity_storage` sends for orphaned locks.
pub const FIX_ORPHANED_LOCK: &str = "fix-orphaned-lock";
/// `result` of the response that grants a lock.
pub const LOCK_GRANTED: &str = "Lock Acquisition Completed";

/// A request to an entity: an operation call or signal, or a lock request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestMessage {
    /// The operation name (absent for lock requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// One-way: no response is sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signal: bool,
    /// The operation input, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The request id (a GUID); responses are named by it.
    pub id: String,
    /// The calling orchestration, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The calling orchestration's execution id.
    #[serde(
        rename = "parentExecution",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_execution: Option<String>,
    /// For scheduled signals: not before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// When the request was sent.
    #[serde(rename = "Timestamp", default = "default_time")]
    pub timestamp: DateTime<Utc>,
    /// The ordering label: the timestamp of the sender's previous request to the
    /// same entity. `None`: the request carries no label (an older sender); `Some(None)`: the
    /// first request (written as .NET's `DateTime.MinValue`).
    #[serde(
        rename = "Predecessor",
        default,
        skip_serializing_if = "Option::is_none",
        with = "dotnet_time"
    )]
    pub predecessor: Option<Option<DateTime<Utc>>>,
    /// The entities to lock, sorted (lock requests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockset: Option<Vec<EntityId>>,
    /// Index of the entity in `lockset` this request is addressed to.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pos: usize,
}

fn default_time() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Times as .NET writes a `DateTime` that may be unset: none is written as
/// `DateTime.MinValue`; `MinValue` (with or without a zone), `null` or an unreadable value read
/// back as none.
pub(crate) mod dotnet_time {
    use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    const MIN_VALUE: &str = "0001-01-01T00:00:00Z";

    /// Writes the time, or `MinValue` for none.
    pub fn serialize<S: Serializer>(
        t: &Option<Option<DateTime<Utc>>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t.flatten() {
            Some(t) => s.serialize_str(&crate::time::format(&t)),
            None => s.serialize_str(MIN_VALUE),
        }
    }

    /// Reads a present value: `Some(None)` for `MinValue`, `null` or unreadable text.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
        Ok(Some(read(d)?))
    }

    /// Reads an optional time; `MinValue`, `null` and unreadable text are `None`.
    pub fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        Ok(text.and_then(|s| parse(&s)).filter(|t| t.year() > 1))
    }

    fn parse(s: &str) -> Option<DateTime<Utc>> {
        crate::time::parse(s).ok().or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
    }
}

impl RequestMessage {
    /// An operation request (`signal` = one-way).
    pub fn operation(
        id: String,
        op: &str,
        input: Option<String>,
        signal: bool,
        timestamp: DateTime<Utc>,
    ) -> Self {
        Self {
            op: Some(op.to_string()),
            signal,
            input,
            id,
            parent: None,
            parent_execution: None,
            due: None,
            timestamp,
            predecessor: None,
            lockset: None,
            pos: 0,
        }
    }

    /// True for lock requests.
    pub fn is_lock_request(&self) -> bool {
        self.lockset.is_some()
    }
}

/// An entity's answer to a call, or a lock grant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// The operation's result as JSON text, the error message as JSON text on failure, or
    /// [`LOCK_GRANTED`]. Always written (`null` for none), as Durable Functions writes it:
    /// the SDKs that read this shape look the field up.
    #[serde(default)]
    pub result: Option<String>,
    /// The error type, present only when the operation failed.
    #[serde(
        rename = "exceptionType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exception_type: Option<String>,
    /// The failure, when the operation failed.
    #[serde(
        rename = "failureDetails",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_details: Option<FailureDetails>,
}

impl ResponseMessage {
    /// A successful result.
    pub fn ok(result: Option<String>) -> Self {
        Self {
            result,
            ..Self::default()
        }
    }

    /// A failed operation. Its `result` is the error message as JSON text, as Durable
    /// Functions writes it (the SDKs that read this shape parse it as JSON).
    pub fn failed(details: FailureDetails) -> Self {
        Self {
            result: serde_json::to_string(&details.error_message).ok(),
            exception_type: Some(details.error_type.clone()),
            failure_details: Some(details),
        }
    }

    /// The failure, if the operation failed.
    pub fn failure(&self) -> Option<FailureDetails> {
        let ty = self.exception_type.as_ref()?;
        Some(self.failure_details.clone().unwrap_or_else(|| {
            // The message is JSON text (a string) when Durable Functions wrote it, else plain.
            let text = self.result.clone().unwrap_or_default();
            let message = serde_json::from_str::<String>(&text).unwrap_or(text);
            FailureDetails::new(ty.clone(), message)
        }))
    }
}

/// Releases the locks a critical section holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseMessage {
    /// The lock holder (orchestration instance id).
    pub parent: String,
    /// The lock request id.
    pub id: String,
}
