//! Timer schedule status: one row per timer function.
//!
//! The table is created with `CREATE TABLE IF NOT EXISTS` by every schema application, so a
//! task hub file written before timer triggers existed gains it when next opened; older builds
//! ignore it. Function names compare with `NOCASE` (ASCII), as function names do.

use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{from_ticks, to_ticks, SqlResultExt};
use durable_store::ScheduleStatus;
use durable_store::StoreResult;

/// The table of timer statuses; idempotent.
pub(crate) const DDL: &str = "
CREATE TABLE IF NOT EXISTS timer_status (
    function_name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
    last          INTEGER NOT NULL,
    next          INTEGER NOT NULL,
    last_updated  INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The status saved for `function`, if any.
pub(crate) fn load(conn: &Connection, function: &str) -> StoreResult<Option<ScheduleStatus>> {
    let row = conn
        .prepare_cached(
            "SELECT last, next, last_updated FROM timer_status WHERE function_name = ?1",
        )
        .db()?
        .query_row(params![function], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })
        .optional()
        .db()?;
    row.map(|(last, next, last_updated)| {
        Ok(ScheduleStatus {
            last: from_ticks(last)?,
            next: from_ticks(next)?,
            last_updated: from_ticks(last_updated)?,
        })
    })
    .transpose()
}

/// Inserts or replaces the status of `function` (keeping the stored spelling of its name).
pub(crate) fn save(conn: &Connection, function: &str, status: &ScheduleStatus) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO timer_status (function_name, last, next, last_updated)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (function_name) DO UPDATE SET
             last = excluded.last, next = excluded.next, last_updated = excluded.last_updated",
    )
    .db()?
    .execute(params![
        function,
        to_ticks(&status.last),
        to_ticks(&status.next),
        to_ticks(&status.last_updated)
    ])
    .db()?;
    Ok(())
}
