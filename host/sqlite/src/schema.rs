//! Opening the database file: connection settings and the tables of a task hub.
//!
//! Times are INTEGER 100 ns ticks since the Unix epoch (the precision of `engine::time`);
//! events and messages are DTFx JSON. In both queues `visible_at` is when a message may next
//! be handed out; for activity requests a lock moves it to `locked_until`.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::Connection;

use super::codec::SqlResultExt;
use durable_store::{StoreError, StoreResult};

/// The layout version kept in `PRAGMA user_version`: 2 added `instances.tags`.
const SCHEMA_VERSION: i64 = 2;

/// How long a statement waits for another process's write lock before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The tables and indexes; every statement is idempotent.
const DDL: &str = "
CREATE TABLE IF NOT EXISTS instances (
    instance_id        TEXT PRIMARY KEY NOT NULL,
    execution_id       TEXT NOT NULL,
    name               TEXT NOT NULL,
    version            TEXT,
    status             TEXT NOT NULL,
    input              TEXT,
    output             TEXT,
    custom_status      TEXT,
    failure_details    TEXT,
    parent_instance_id TEXT,
    created_at         INTEGER NOT NULL,
    last_updated_at    INTEGER NOT NULL,
    completed_at       INTEGER,
    history_len        INTEGER NOT NULL DEFAULT 0,
    tags               TEXT
);
CREATE INDEX IF NOT EXISTS instances_by_status ON instances (status, created_at);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (created_at);

CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    event       TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS orchestration_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    visible_at  INTEGER NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orchestration_messages_by_visible
    ON orchestration_messages (visible_at);
CREATE INDEX IF NOT EXISTS orchestration_messages_by_instance
    ON orchestration_messages (instance_id, id);

CREATE TABLE IF NOT EXISTS orchestration_locks (
    instance_id  TEXT PRIMARY KEY NOT NULL,
    lock_token   TEXT NOT NULL,
    locked_until INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS activity_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id   TEXT NOT NULL,
    message       TEXT NOT NULL,
    visible_at    INTEGER NOT NULL,
    lock_token    TEXT,
    locked_until  INTEGER,
    dequeue_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS activity_messages_by_visible ON activity_messages (visible_at);
CREATE INDEX IF NOT EXISTS activity_messages_by_instance ON activity_messages (instance_id);
";

/// Opens (creating if needed) the database file with its settings and the schema.
pub(crate) fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).db()?;
    // SQLite falls back to reading when it may not write (a read-only file or file system);
    // a task hub it cannot write to would fail every request, so it is refused here.
    if conn.is_readonly(rusqlite::MAIN_DB).db()? {
        return Err(StoreError::storage(format!(
            "the task hub file {} is read-only: the host needs to write to it and to create \
             {}-wal and {}-shm beside it",
            path.display(),
            path.display(),
            path.display()
        )));
    }
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .db()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::storage(format!(
            "{} cannot use write-ahead logging (journal mode is {mode})",
            path.display()
        )));
    }
    // NORMAL in every configuration: a commit appends to the log without syncing it. With
    // `synchronous_full` the writer's sync thread fsyncs the log after each commit and before
    // any reply, which is what FULL would do inside COMMIT (see `syncer`).
    conn.pragma_update(None, "synchronous", "NORMAL").db()?;
    conn.pragma_update(None, "foreign_keys", false).db()?;
    // Savepoint sub-journals in memory rather than in temporary files.
    conn.pragma_update(None, "temp_store", "MEMORY").db()?;
    conn.pragma_update(None, "cache_size", -32_768).db()?; // 32 MiB

    // Checkpoint every ~32 MiB of WAL rather than 4 MiB: pages rewritten by many commits are
    // copied back once (about 15% more commits/s under load). The writer keeps the log much
    // smaller when the volume runs short of space (see `checkpoint`).
    let (pages, limit) = super::checkpoint::ROOMY;
    conn.pragma_update(None, "wal_autocheckpoint", pages).db()?;
    conn.pragma_update(None, "journal_size_limit", limit).db()?;
    // Plans must not depend on bound values: otherwise SQLite re-prepares cached statements
    // whenever a parameter changes (the bundled build has STAT4).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .db()?;
    conn.set_prepared_statement_cache_capacity(64);

    conn.execute_batch("BEGIN IMMEDIATE").db()?;
    match apply(&conn) {
        Ok(()) => conn.execute_batch("COMMIT").db()?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(conn)
}

/// Creates missing tables inside the caller's transaction; refuses unknown layouts.
pub(crate) fn apply(conn: &Connection) -> StoreResult<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .db()?;
    if !(0..=SCHEMA_VERSION).contains(&version) {
        return Err(StoreError::storage(format!(
            "the task hub has schema version {version}; this build understands up to \
             {SCHEMA_VERSION} (a newer build made it)"
        )));
    }
    conn.execute_batch(DDL).db()?;
    if version == 1 {
        // A hub made before tags: the column is added (no row has tags yet).
        conn.execute_batch("ALTER TABLE instances ADD COLUMN tags TEXT")
            .db()?;
    }
    conn.execute_batch(super::timers::DDL).db()?;
    conn.execute_batch(super::singletons::DDL).db()?;
    conn.execute_batch(super::poison::DDL).db()?;
    if version != SCHEMA_VERSION {
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .db()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task hub made before tags (schema 1) gains the column and keeps its rows.
    #[test]
    fn a_schema_1_hub_gains_tags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE instances (
                    instance_id TEXT PRIMARY KEY NOT NULL, execution_id TEXT NOT NULL,
                    name TEXT NOT NULL, version TEXT, status TEXT NOT NULL, input TEXT,
                    output TEXT, custom_status TEXT, failure_details TEXT,
                    parent_instance_id TEXT, created_at INTEGER NOT NULL,
                    last_updated_at INTEGER NOT NULL, completed_at INTEGER,
                    history_len INTEGER NOT NULL DEFAULT 0);
                 INSERT INTO instances (instance_id, execution_id, name, status, created_at,
                    last_updated_at) VALUES ('old', 'e', 'n', 'Running', 1, 1);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let row = crate::codec::load_instance(&conn, "old").unwrap().unwrap();
        assert!(row.tags.is_empty());
        drop(conn);
        // Opening again is a no-op.
        open(&path).unwrap();
        // A newer layout is refused.
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let e = open(&path).unwrap_err().to_string();
        assert!(e.contains("newer build"), "{e}");
    }
}
