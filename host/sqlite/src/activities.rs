//! The activity queue: at-least-once delivery of `TaskScheduled` requests.
//!
//! A request stays in `activity_messages` until it is completed. `visible_at` is when it may
//! next be handed out: locking (and renewing) moves it to the lock expiry, so an expired lock
//! makes the request visible again without any clean-up, and every lookup is a range of the
//! `visible_at` index. Redelivered requests come back with a higher `dequeue_count`.

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::codec::update_instance;
use super::codec::{duration_ticks, from_json, from_ticks, SqlResultExt};
use super::encode::{EncodedCommit, EncodedMessage};
use super::orchestrations;
use super::poison::{self, Queue};
use super::writer::Ctx;
use durable_engine::history::OrchestrationStatus;
use durable_engine::message::TaskMessage;
use durable_store::{
    ActivityWorkItem, Batch, DirectCommit, EpisodeTarget, StoreError, StoreResult, WorkItemId,
};

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
        let lock_token = ctx.owner.token();
        update.execute(params![id, lock_token, locked_until]).db()?;
        let dequeue_count = u32::try_from(dequeue_count.saturating_add(1)).map_err(|_| {
            StoreError::Corrupt(format!(
                "activity message {id} has dequeue count {dequeue_count}"
            ))
        })?;
        items.push(ActivityWorkItem {
            id: WorkItemId::new(id),
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

/// Deletes the request and commits the episode its answer produced on a cached execution,
/// if the instance is unlocked and still where `target` says; otherwise writes nothing.
pub(crate) fn complete_with_episode(
    ctx: &mut Ctx<'_>,
    id: i64,
    target: &EpisodeTarget,
    commit: &EncodedCommit,
) -> StoreResult<DirectCommit> {
    let conn = ctx.conn;
    let instance_id = target.instance_id.as_str();
    let (Some(row), false) = (&commit.instance, commit.new_execution) else {
        return Ok(DirectCommit::Declined);
    };
    let stored: Option<(String, i64, String)> = conn
        .prepare_cached(
            "SELECT execution_id, history_len, status FROM instances WHERE instance_id = ?1",
        )
        .db()?
        .query_row([instance_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .db()?;
    let Some((execution_id, history_len, status)) = stored else {
        return Ok(DirectCommit::Declined);
    };
    let terminal = OrchestrationStatus::from_name(&status).is_none_or(|s| s.is_terminal());
    if execution_id != target.execution_id
        || u64::try_from(history_len).ok() != Some(target.history_len)
        || terminal
    {
        return Ok(DirectCommit::Declined);
    }
    // Any lock row, even an expired one, may belong to a worker about to commit an episode.
    let locked: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM orchestration_locks WHERE instance_id = ?1)")
        .db()?
        .query_row([instance_id], |r| r.get(0))
        .db()?;
    if locked {
        return Ok(DirectCommit::Declined);
    }
    let deleted = conn
        .prepare_cached("DELETE FROM activity_messages WHERE id = ?1")
        .db()?
        .execute([id])
        .db()?;
    if deleted == 0 {
        return Ok(DirectCommit::Duplicate);
    }
    let len =
        orchestrations::append_history(conn, instance_id, target.history_len, &commit.history)?;
    let status_changed = row.state.status.name() != status;
    if !update_instance(conn, row, len, status_changed, false)? {
        return Err(StoreError::storage(format!(
            "instance {instance_id:?} vanished"
        )));
    }
    orchestrations::send_outbound(ctx, instance_id, commit).map(DirectCommit::Committed)
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
