//! The backlog of the embedded task hub: orchestration messages and activity requests ready to
//! be taken, and how long the oldest of each has waited. One "queue" of each kind, and no
//! partitions.

use std::time::Duration;

use rusqlite::{params, Connection};

use super::codec::SqlResultExt;
use durable_store::{Backlog, QueueBacklog, StoreResult};

/// Reads the backlog at `now` (100 ns ticks).
pub(crate) fn read(conn: &Connection, now: i64) -> StoreResult<Backlog> {
    let queue = |name: &str, sql: &str| -> StoreResult<QueueBacklog> {
        let (messages, oldest): (i64, Option<i64>) = conn
            .prepare_cached(sql)
            .db()?
            .query_row(params![now], |row| Ok((row.get(0)?, row.get(1)?)))
            .db()?;
        Ok(QueueBacklog {
            name: name.to_owned(),
            messages: messages.max(0) as u64,
            oldest_message_age: oldest
                .map(|t| Duration::from_nanos(now.saturating_sub(t).max(0) as u64 * 100)),
        })
    };
    Ok(Backlog {
        control_queues: vec![queue(
            "orchestration_messages",
            "SELECT count(*), min(visible_at) FROM orchestration_messages WHERE visible_at <= ?1",
        )?],
        work_items: queue(
            "activity_messages",
            "SELECT count(*), min(visible_at) FROM activity_messages \
             WHERE visible_at <= ?1 AND (lock_token IS NULL OR locked_until <= ?1)",
        )?,
        partitions: Vec::new(),
    })
}
