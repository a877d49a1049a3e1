//! Lock owners: every hub that opens the file is an owner with a random id, and every lock
//! token it hands out starts with `<owner id>:`. The owner holds an exclusive advisory lock on
//! the file `<database>.owners/<owner id>` for as long as it is open; the kernel drops it when
//! the process dies, however it dies. A hub that opens the file releases, at once, every lock
//! whose owner's file it can lock itself (the owner is gone): its work is visible again instead
//! of waiting out the lock duration (300 s for activities by default). SQLite in WAL mode only
//! works between processes of one machine, so all owners of a file see the same advisory locks.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::codec::{to_ticks, SqlResultExt};
use durable_store::clock;
use durable_store::{StoreError, StoreResult};

/// This hub's owner id and the open, locked file that proves it is alive.
pub(crate) struct Owner {
    /// The id every lock token of this hub starts with.
    pub id: String,
    path: PathBuf,
    _file: File,
}

impl Owner {
    /// Registers a new owner for the database `db`: creates and locks its file.
    pub(crate) fn register(db: &Path) -> StoreResult<Self> {
        let dir = owners_dir(db);
        let io = |e: std::io::Error| {
            StoreError::storage(format!(
                "cannot register a lock owner in {}: {e}",
                dir.display()
            ))
        };
        fs::create_dir_all(&dir).map_err(io)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let path = dir.join(&id);
        let file = File::create(&path).map_err(io)?;
        file.try_lock().map_err(|e| io(e.into()))?;
        Ok(Self {
            id,
            path,
            _file: file,
        })
    }

    /// True when no live process holds the owner `other` (its file is unlocked or gone).
    pub(crate) fn is_gone(&self, other: &str) -> bool {
        self.path.parent().is_some_and(|dir| is_gone(dir, other))
    }

    /// A new lock token of this owner.
    pub(crate) fn token(&self) -> String {
        format!("{}:{}", self.id, uuid::Uuid::new_v4().simple())
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The directory of owner files of the database `db`.
fn owners_dir(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".owners");
    PathBuf::from(name)
}

/// Releases the locks of owners that are gone (their file can be locked, or is missing);
/// returns how many orchestration and activity locks were released.
pub(crate) fn release_dead(
    conn: &Connection,
    db: &Path,
    me: &Owner,
) -> StoreResult<(usize, usize)> {
    let owners: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT substr(lock_token, 1, instr(lock_token, ':') - 1) \
                 FROM orchestration_locks WHERE instr(lock_token, ':') > 0 \
                 UNION SELECT DISTINCT substr(lock_token, 1, instr(lock_token, ':') - 1) \
                 FROM activity_messages \
                 WHERE lock_token IS NOT NULL AND instr(lock_token, ':') > 0",
            )
            .db()?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0)).db()?;
        rows.collect::<rusqlite::Result<_>>().db()?
    };
    let dir = owners_dir(db);
    let now = to_ticks(&clock::now());
    let (mut orchestrations, mut activities) = (0, 0);
    for owner in owners {
        if owner == me.id || !is_gone(&dir, &owner) {
            continue;
        }
        let pattern = format!("{owner}:%");
        orchestrations += conn
            .prepare("DELETE FROM orchestration_locks WHERE lock_token LIKE ?1")
            .db()?
            .execute([&pattern])
            .db()?;
        activities += conn
            .prepare(
                "UPDATE activity_messages SET lock_token = NULL, locked_until = NULL, \
                 visible_at = ?2 WHERE lock_token LIKE ?1",
            )
            .db()?
            .execute(rusqlite::params![pattern, now])
            .db()?;
        let _ = fs::remove_file(dir.join(&owner));
    }
    Ok((orchestrations, activities))
}

/// True when no live process holds the owner's file.
fn is_gone(dir: &Path, owner: &str) -> bool {
    // Owner ids are hex; anything else is not ours to judge.
    if owner.is_empty() || !owner.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    match File::open(dir.join(owner)) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        Ok(file) => match file.try_lock() {
            Ok(()) => true,
            Err(TryLockError::WouldBlock) => false,
            Err(TryLockError::Error(_)) => false,
        },
    }
}
