//! Singleton locks: one row per lock name, naming the owner (a `SqliteTaskHub`, see
//! decision 0010) and when the lock runs out.
//!
//! The table is created with `CREATE TABLE IF NOT EXISTS` by every schema application, as the
//! timer statuses are, so an older task hub file gains it when next opened. A lock whose owner
//! is gone (its owner file is no longer locked: the process died) is free at once, expired or
//! not.

use rusqlite::{params, Connection, OptionalExtension};

use super::codec::SqlResultExt;
use super::owners::Owner;
use durable_store::StoreResult;

/// The table of singleton locks; idempotent.
pub(crate) const DDL: &str = "
CREATE TABLE IF NOT EXISTS singleton_locks (
    name        TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
    owner       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Takes or renews the lock `name` for `owner` until `until` (ticks) if it is free, expired,
/// already `owner`'s, or held by an owner that is gone; true if `owner` holds it now.
pub(crate) fn lock(
    conn: &Connection,
    owner: &Owner,
    name: &str,
    now: i64,
    until: i64,
) -> StoreResult<bool> {
    let holder: Option<(String, i64)> = conn
        .prepare_cached("SELECT owner, expires_at FROM singleton_locks WHERE name = ?1")
        .db()?
        .query_row(params![name], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .db()?;
    let free = match &holder {
        None => true,
        Some((holder, expires_at)) => {
            *holder == owner.id || *expires_at <= now || owner.is_gone(holder)
        }
    };
    if !free {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO singleton_locks (name, owner, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
    )
    .db()?
    .execute(params![name, owner.id, until])
    .db()?;
    Ok(true)
}

/// Deletes the lock `name` if `owner` holds it.
pub(crate) fn release(conn: &Connection, owner: &Owner, name: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM singleton_locks WHERE name = ?1 AND owner = ?2")
        .db()?
        .execute(params![name, owner.id])
        .db()?;
    Ok(())
}
