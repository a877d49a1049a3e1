//! The orchestration queue: creating instances, sending messages, locking work items and
//! committing episodes.
//!
//! Every function runs on the writer thread inside a request savepoint, so an `Err` return
//! leaves the database exactly as it was before the call.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{
    duration_ticks, from_json, from_ticks, load_instance, update_instance, upsert_instance,
    SqlResultExt,
};
use super::encode::{EncodedCommit, EncodedInstance, EncodedMessage, RowChange};
use super::poison::{self, Queue};
use super::writer::Ctx;
use durable_engine::history::OrchestrationStatus;
use durable_engine::message::TaskMessage;
use durable_store::{
    ActivityWorkItem, Batch, InstanceState, OrchestrationWorkItem, QueuedMessage, StoreError,
    StoreResult, WorkItemId,
};

/// Creates or replaces an instance from its `ExecutionStarted` message (`encoded`: the same
/// message, ready to enqueue).
pub(crate) fn create_instance(
    ctx: &mut Ctx<'_>,
    start: &TaskMessage,
    encoded: &EncodedMessage,
) -> StoreResult<()> {
    let (started, execution_id) = durable_store::started_execution(start)?;
    let instance_id = start.instance_id();
    let conn = ctx.conn;
    let current: Option<String> = conn
        .prepare_cached("SELECT status FROM instances WHERE instance_id = ?1")
        .db()?
        .query_row([instance_id], |row| row.get(0))
        .optional()
        .db()?;
    let status = current
        .map(|name| {
            OrchestrationStatus::from_name(&name).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "instance {instance_id:?} has unknown status {name:?}"
                ))
            })
        })
        .transpose()?;
    durable_store::ensure_startable(instance_id, status)?;
    for sql in [
        "DELETE FROM history WHERE instance_id = ?1",
        "DELETE FROM orchestration_messages WHERE instance_id = ?1",
        "DELETE FROM orchestration_locks WHERE instance_id = ?1",
    ] {
        conn.prepare_cached(sql).db()?.execute([instance_id]).db()?;
    }
    let now = from_ticks(ctx.now)?;
    let state = InstanceState::pending(instance_id, execution_id, started, now);
    let row = EncodedInstance {
        state,
        failure_details: None,
    };
    upsert_instance(conn, &row, 0)?;
    enqueue(ctx, encoded)
}

/// Enqueues a message for an orchestration, visible at its `visible_at` (or now).
pub(crate) fn enqueue(ctx: &mut Ctx<'_>, message: &EncodedMessage) -> StoreResult<()> {
    let visible_at = message.visible_at.unwrap_or(ctx.now);
    ctx.conn
        .prepare_cached(
            "INSERT INTO orchestration_messages (instance_id, visible_at, message) \
             VALUES (?1, ?2, ?3)",
        )
        .db()?
        .execute(params![message.instance_id, visible_at, message.json])
        .db()?;
    ctx.notify_orchestrations = true;
    Ok(())
}

/// Locks up to `max` instances with visible messages, oldest message first.
pub(crate) fn lock(
    ctx: &mut Ctx<'_>,
    max: usize,
    lock_for: std::time::Duration,
) -> StoreResult<Batch<OrchestrationWorkItem>> {
    let conn = ctx.conn;
    let now = ctx.now;
    let instance_ids = lockable_instances(conn, now, max)?;
    if instance_ids.is_empty() {
        return Ok(Batch {
            items: Vec::new(),
            next_due: next_due(conn, now)?.map(from_ticks).transpose()?,
        });
    }
    let locked_until = now.saturating_add(duration_ticks(lock_for));
    let mut items = Vec::with_capacity(instance_ids.len());
    for instance_id in instance_ids {
        let lock_token = ctx.owner.token();
        conn.prepare_cached(
            "INSERT INTO orchestration_locks (instance_id, lock_token, locked_until) \
             VALUES (?1, ?2, ?3) ON CONFLICT (instance_id) DO UPDATE SET \
             lock_token = excluded.lock_token, locked_until = excluded.locked_until",
        )
        .db()?
        .execute(params![instance_id, lock_token, locked_until])
        .db()?;
        let messages = visible_messages(conn, &instance_id, now)?;
        if messages.is_empty() {
            // every visible message was unreadable and set aside
            conn.prepare_cached("DELETE FROM orchestration_locks WHERE instance_id = ?1")
                .db()?
                .execute([&instance_id])
                .db()?;
            continue;
        }
        let instance = load_instance(conn, &instance_id)?;
        items.push(OrchestrationWorkItem {
            instance_id,
            lock_token,
            messages,
            instance,
        });
    }
    Ok(Batch {
        items,
        next_due: None,
    })
}

/// Up to `max` unlocked instances with visible messages, the longest-waiting first.
///
/// Messages are read in `(visible_at, id)` order, which the `visible_at` index serves, so
/// delayed messages (timers) are never scanned and the scan stops after `max` instances.
fn lockable_instances(conn: &Connection, now: i64, max: usize) -> StoreResult<Vec<String>> {
    let mut ids = Vec::new();
    if max == 0 {
        return Ok(ids);
    }
    let mut seen = HashSet::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT m.instance_id FROM orchestration_messages AS m \
             WHERE m.visible_at <= ?1 AND NOT EXISTS (SELECT 1 FROM orchestration_locks AS l \
                 WHERE l.instance_id = m.instance_id AND l.locked_until > ?1) \
             ORDER BY m.visible_at, m.id",
        )
        .db()?;
    let mut rows = stmt.query([now]).db()?;
    while let Some(row) = rows.next().db()? {
        let id: String = row.get(0).db()?;
        if seen.insert(id.clone()) {
            ids.push(id);
            if ids.len() == max {
                break;
            }
        }
    }
    Ok(ids)
}

/// The visible messages of one instance, in enqueue order.
fn visible_messages(
    conn: &Connection,
    instance_id: &str,
    now: i64,
) -> StoreResult<Vec<QueuedMessage>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, message FROM orchestration_messages \
             WHERE instance_id = ?1 AND visible_at <= ?2 ORDER BY id",
        )
        .db()?;
    let rows = stmt
        .query_map(params![instance_id, now], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .db()?;
    let mut messages = Vec::new();
    let mut unreadable = Vec::new();
    for row in rows {
        let (id, json) = row.db()?;
        match from_json(&json, "orchestration message") {
            Ok(message) => messages.push(QueuedMessage {
                id: WorkItemId::new(id),
                message,
            }),
            Err(e) => unreadable.push((id, e.to_string())),
        }
    }
    for (id, error) in unreadable {
        poison::set_aside(conn, Queue::Orchestrations, id, now, &error)?;
    }
    Ok(messages)
}

/// When something may next become lockable: a delayed message of an unlocked instance, or
/// the expiry of a lock held on an instance that has messages.
fn next_due(conn: &Connection, now: i64) -> StoreResult<Option<i64>> {
    let delayed: Option<i64> = conn
        .prepare_cached(
            "SELECT m.visible_at FROM orchestration_messages AS m \
             WHERE m.visible_at > ?1 AND NOT EXISTS (SELECT 1 FROM orchestration_locks AS l \
                 WHERE l.instance_id = m.instance_id AND l.locked_until > ?1) \
             ORDER BY m.visible_at LIMIT 1",
        )
        .db()?
        .query_row([now], |row| row.get(0))
        .optional()
        .db()?;
    let lock_expiry: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(l.locked_until) FROM orchestration_locks AS l \
             WHERE l.locked_until > ?1 AND EXISTS (SELECT 1 FROM orchestration_messages AS m \
                 WHERE m.instance_id = l.instance_id)",
        )
        .db()?
        .query_row([now], |row| row.get(0))
        .db()?;
    Ok(match (delayed, lock_expiry) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Fails with `LockLost` unless `instance_id` is locked with `lock_token`.
fn check_lock(conn: &Connection, instance_id: &str, lock_token: &str) -> StoreResult<()> {
    let token: Option<String> = conn
        .prepare_cached("SELECT lock_token FROM orchestration_locks WHERE instance_id = ?1")
        .db()?
        .query_row([instance_id], |row| row.get(0))
        .optional()
        .db()?;
    if token.as_deref() == Some(lock_token) {
        Ok(())
    } else {
        Err(StoreError::LockLost(instance_id.to_owned()))
    }
}

/// What a commit needs of its work item.
pub(crate) struct LockedItem {
    /// The locked instance.
    pub instance_id: String,
    /// The lock token.
    pub lock_token: String,
    /// Ids of the work item's messages.
    pub message_ids: Vec<i64>,
}

impl LockedItem {
    /// The parts of a work item a commit or abandon needs.
    pub(crate) fn of(item: &OrchestrationWorkItem) -> Self {
        Self {
            instance_id: item.instance_id.clone(),
            lock_token: item.lock_token.clone(),
            message_ids: item.messages.iter().map(|m| m.id.raw()).collect(),
        }
    }
}

/// Commits an episode: lock check, consumed messages, history, row, outbound messages.
pub(crate) fn complete(
    ctx: &mut Ctx<'_>,
    item: &LockedItem,
    commit: &EncodedCommit,
) -> StoreResult<Vec<ActivityWorkItem>> {
    let conn = ctx.conn;
    let instance_id = item.instance_id.as_str();
    check_lock(conn, instance_id, &item.lock_token)?;
    if let Some(row) = &commit.instance {
        if row.state.instance_id != instance_id {
            return Err(StoreError::storage(format!(
                "the commit for {instance_id:?} carries the row of {:?}",
                row.state.instance_id
            )));
        }
    }
    {
        let mut delete = conn
            .prepare_cached("DELETE FROM orchestration_messages WHERE id = ?1 AND instance_id = ?2")
            .db()?;
        for id in &item.message_ids {
            delete.execute(params![id, instance_id]).db()?;
        }
    }
    let events = &commit.history;
    let history_len = if commit.new_execution {
        conn.prepare_cached("DELETE FROM history WHERE instance_id = ?1")
            .db()?
            .execute([instance_id])
            .db()?;
        insert_history(conn, instance_id, 0, events)?;
        Some(events.len() as u64)
    } else if events.is_empty() {
        None
    } else {
        let start = stored_history_len(conn, instance_id)?;
        insert_history(conn, instance_id, start, events)?;
        Some(start + events.len() as u64)
    };
    match (&commit.instance, history_len) {
        (Some(row), len) => {
            let len = match len {
                Some(len) => len,
                None => stored_history_len(conn, instance_id)?,
            };
            let updated = match commit.change {
                RowChange::Update { status, input } => {
                    update_instance(conn, row, len, status, input)?
                }
                RowChange::Full => false,
            };
            if !updated {
                upsert_instance(conn, row, len)?;
            }
        }
        (None, Some(len)) => {
            conn.prepare_cached("UPDATE instances SET history_len = ?2 WHERE instance_id = ?1")
                .db()?
                .execute(params![instance_id, len as i64])
                .db()?;
        }
        (None, None) => {}
    }
    send_outbound(ctx, instance_id, commit)
}

/// The end of an episode commit: outbound messages, the lock released, and a wake-up if
/// messages are waiting for the instance.
pub(crate) fn send_outbound(
    ctx: &mut Ctx<'_>,
    instance_id: &str,
    commit: &EncodedCommit,
) -> StoreResult<Vec<ActivityWorkItem>> {
    let conn = ctx.conn;
    for message in &commit.orchestrator_messages {
        enqueue(ctx, message)?;
    }
    let mut locked = Vec::new();
    if !commit.activity_messages.is_empty() {
        let (count, lock_for) = commit.lock;
        let locked_until = ctx.now.saturating_add(lock_for);
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO activity_messages (instance_id, message, visible_at) \
                 VALUES (?1, ?2, ?3)",
            )
            .db()?;
        let mut insert_locked = conn
            .prepare_cached(
                "INSERT INTO activity_messages (instance_id, message, visible_at, lock_token, \
                 locked_until, dequeue_count) VALUES (?1, ?2, ?3, ?4, ?3, 1)",
            )
            .db()?;
        let requests = commit
            .activity_messages
            .iter()
            .zip(&commit.activity_requests);
        for (i, (message, request)) in requests.enumerate() {
            if i < count {
                let lock_token = ctx.owner.token();
                insert_locked
                    .execute(params![
                        message.instance_id,
                        message.json,
                        locked_until,
                        lock_token
                    ])
                    .db()?;
                locked.push(ActivityWorkItem {
                    id: WorkItemId::new(conn.last_insert_rowid()),
                    lock_token,
                    message: request.clone(),
                    dequeue_count: 1,
                });
            } else {
                insert
                    .execute(params![message.instance_id, message.json, ctx.now])
                    .db()?;
                ctx.notify_activities = true;
            }
        }
    }
    conn.prepare_cached("DELETE FROM orchestration_locks WHERE instance_id = ?1")
        .db()?
        .execute([instance_id])
        .db()?;
    // Messages that arrived while the instance was locked were not lockable; they are now.
    let more: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM orchestration_messages WHERE instance_id = ?1)",
        )
        .db()?
        .query_row([instance_id], |row| row.get(0))
        .db()?;
    ctx.notify_orchestrations |= more;
    Ok(locked)
}

/// Appends events after the first `start` and returns the new length.
pub(crate) fn append_history(
    conn: &Connection,
    instance_id: &str,
    start: u64,
    events: &[String],
) -> StoreResult<u64> {
    insert_history(conn, instance_id, start, events)?;
    Ok(start + events.len() as u64)
}

/// Releases the lock; the item's messages become visible again after `delay`.
pub(crate) fn abandon(
    ctx: &mut Ctx<'_>,
    item: &LockedItem,
    delay: std::time::Duration,
) -> StoreResult<()> {
    let conn = ctx.conn;
    check_lock(conn, &item.instance_id, &item.lock_token)?;
    let visible_at = ctx.now.saturating_add(duration_ticks(delay));
    {
        let mut update = conn
            .prepare_cached(
                "UPDATE orchestration_messages SET visible_at = ?1 \
                 WHERE id = ?2 AND instance_id = ?3",
            )
            .db()?;
        for id in &item.message_ids {
            update
                .execute(params![visible_at, id, item.instance_id])
                .db()?;
        }
    }
    conn.prepare_cached("DELETE FROM orchestration_locks WHERE instance_id = ?1")
        .db()?
        .execute([&item.instance_id])
        .db()?;
    ctx.notify_orchestrations = true;
    Ok(())
}

/// The number of stored events of the current execution.
fn stored_history_len(conn: &Connection, instance_id: &str) -> StoreResult<u64> {
    let next: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM history WHERE instance_id = ?1")
        .db()?
        .query_row([instance_id], |row| row.get(0))
        .db()?;
    u64::try_from(next)
        .map_err(|_| StoreError::Corrupt(format!("history of {instance_id:?} has seq {next}")))
}

/// Inserts events at `start`, `start + 1`, ...
fn insert_history(
    conn: &Connection,
    instance_id: &str,
    start: u64,
    events: &[String],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut insert = conn
        .prepare_cached("INSERT INTO history (instance_id, seq, event) VALUES (?1, ?2, ?3)")
        .db()?;
    for (i, event) in events.iter().enumerate() {
        let seq =
            i64::try_from(start + i as u64).map_err(|_| StoreError::storage("history too long"))?;
        insert.execute(params![instance_id, seq, event]).db()?;
    }
    Ok(())
}
