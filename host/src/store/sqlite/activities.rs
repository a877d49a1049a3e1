//! The activity queue: at-least-once delivery of `TaskScheduled` requests.
//!
//! A request stays in `activity_messages` until it is completed. `visible_at` is when it may
//! next be handed out: locking (and renewing) moves it to the lock expiry, so an expired lock
//! makes the request visible again without any clean-up, and every lookup is a range of the
//! `visible_at` index. Redelivered requests come back with a higher `dequeue_count`.

use std::time::Duration;

use rusqlite::{params, Connection};

use super::codec::{duration_ticks, from_json, from_ticks, SqlResultExt};
use super::encode::EncodedMessage;
use super::poison::{self, Queue};
use super::writer::Ctx;
use crate::engine::message::TaskMessage;
use crate::store::{ActivityWorkItem, Batch, StoreError, StoreResult};

/// Locks up to `max` visible requests, oldest first.
pub(crate) fn lock(
    ctx: &mut Ctx<'_>,
    max: usize,
    lock_for: Duration,
) -> StoreResult<Batch<ActivityWorkItem>> {
    let conn = ctx.conn;
    let now = ctx.now;
    let candidates = lockable(conn, now, max)?;
    if candidates.is_empty() {
        return Ok(Batch {
            items: Vec::new(),
            next_due: next_due(conn, now)?.map(from_ticks).transpose()?,
        });
    }
    let locked_until = now.saturating_add(duration_ticks(lock_for));
    let mut update = conn
        .prepare_cached(
            "UPDATE activity_messages SET lock_token = ?2, locked_until = ?3, \
             visible_at = ?3, dequeue_count = dequeue_count + 1 WHERE id = ?1",
        )
        .db()?;
    let mut items = Vec::with_capacity(candidates.len());
    for (id, json, dequeue_count) in candidates {
        let message: TaskMessage = match from_json(&json, "activity message") {
            Ok(m) => m,
            Err(e) => {
                poison::set_aside(conn, Queue::Activities, id, now, &e.to_string())?;
                continue;
            }
        };
        let lock_token = uuid::Uuid::new_v4().simple().to_string();
        update.execute(params![id, lock_token, locked_until]).db()?;
        let dequeue_count = u32::try_from(dequeue_count.saturating_add(1)).map_err(|_| {
            StoreError::Corrupt(format!(
                "activity message {id} has dequeue count {dequeue_count}"
            ))
        })?;
        items.push(ActivityWorkItem {
            id,
            lock_token,
            message,
            dequeue_count,
        });
    }
    Ok(Batch {
        items,
        next_due: None,
    })
}

/// Up to `max` visible requests (unlocked, or with an expired lock), longest-waiting first:
/// id, message JSON, dequeue count.
fn lockable(conn: &Connection, now: i64, max: usize) -> StoreResult<Vec<(i64, String, i64)>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, message, dequeue_count FROM activity_messages \
             WHERE visible_at <= ?1 ORDER BY visible_at, id LIMIT ?2",
        )
        .db()?;
    let rows = stmt
        .query_map(params![now, limit], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// When a request may next be handed out: a delay ending, or a lock expiring.
fn next_due(conn: &Connection, now: i64) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT MIN(visible_at) FROM activity_messages WHERE visible_at > ?1")
        .db()?
        .query_row([now], |row| row.get(0))
        .db()
}

/// Deletes the request and enqueues its response; false if it was already completed.
pub(crate) fn complete(ctx: &mut Ctx<'_>, id: i64, response: &EncodedMessage) -> StoreResult<bool> {
    let deleted = ctx
        .conn
        .prepare_cached("DELETE FROM activity_messages WHERE id = ?1")
        .db()?
        .execute([id])
        .db()?;
    if deleted == 0 {
        return Ok(false);
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO orchestration_messages (instance_id, visible_at, message) \
             VALUES (?1, ?2, ?3)",
        )
        .db()?
        .execute(params![response.instance_id, ctx.now, response.json])
        .db()?;
    ctx.notify_orchestrations = true;
    Ok(true)
}

/// Unlocks the request; it becomes visible again after `delay`.
pub(crate) fn abandon(
    ctx: &mut Ctx<'_>,
    id: i64,
    lock_token: &str,
    delay: Duration,
) -> StoreResult<()> {
    let visible_at = ctx.now.saturating_add(duration_ticks(delay));
    let changed = ctx
        .conn
        .prepare_cached(
            "UPDATE activity_messages SET lock_token = NULL, locked_until = NULL, \
             visible_at = ?3 WHERE id = ?1 AND lock_token = ?2",
        )
        .db()?
        .execute(params![id, lock_token, visible_at])
        .db()?;
    if changed == 0 {
        return Err(lock_lost(id));
    }
    ctx.notify_activities = true;
    Ok(())
}

/// Extends the lock to `now + lock_for`, if the token still holds it.
pub(crate) fn renew(
    ctx: &mut Ctx<'_>,
    id: i64,
    lock_token: &str,
    lock_for: Duration,
) -> StoreResult<()> {
    let locked_until = ctx.now.saturating_add(duration_ticks(lock_for));
    let changed = ctx
        .conn
        .prepare_cached(
            "UPDATE activity_messages SET locked_until = ?3, visible_at = ?3 \
             WHERE id = ?1 AND lock_token = ?2",
        )
        .db()?
        .execute(params![id, lock_token, locked_until])
        .db()?;
    if changed == 0 {
        return Err(lock_lost(id));
    }
    Ok(())
}

/// The error for a request whose lock is gone.
fn lock_lost(id: i64) -> StoreError {
    StoreError::LockLost(format!("activity request {id}"))
}
