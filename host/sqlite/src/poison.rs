//! Messages that cannot be read back are set aside, not retried forever: one unreadable row
//! (written by a newer build, or damaged by hand) must not stall the whole queue.

use rusqlite::{params, Connection};

use super::codec::SqlResultExt;
use durable_store::StoreResult;

/// The table of set-aside messages, created with the schema.
pub(crate) const DDL: &str = "
CREATE TABLE IF NOT EXISTS poison_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    queue       TEXT NOT NULL,
    message_id  INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    message     TEXT NOT NULL,
    error       TEXT NOT NULL,
    moved_at    INTEGER NOT NULL
);
";

/// Which queue a message came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Queue {
    /// `orchestration_messages`.
    Orchestrations,
    /// `activity_messages`.
    Activities,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Orchestrations => "orchestration_messages",
            Queue::Activities => "activity_messages",
        }
    }
}

/// Moves an unreadable message out of its queue into `poison_messages`.
pub(crate) fn set_aside(
    conn: &Connection,
    queue: Queue,
    message_id: i64,
    now: i64,
    error: &str,
) -> StoreResult<()> {
    let table = queue.table();
    tracing::error!(
        queue = table,
        message_id,
        error,
        "set aside an unreadable queue message"
    );
    conn.prepare_cached(&format!(
        "INSERT INTO poison_messages (queue, message_id, instance_id, message, error, moved_at) \
         SELECT ?2, id, instance_id, message, ?3, ?4 FROM {table} WHERE id = ?1"
    ))
    .db()?
    .execute(params![message_id, table, error, now])
    .db()?;
    conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))
        .db()?
        .execute([message_id])
        .db()?;
    Ok(())
}
