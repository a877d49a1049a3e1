//! Conversions between store types and SQLite values: 100 ns ticks, JSON, instance rows.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::encode::EncodedInstance;
use durable_engine::history::{FailureDetails, OrchestrationStatus};
use durable_store::{InstanceState, StoreError, StoreResult};

/// 100 ns ticks in one second.
const TICKS_PER_SECOND: i64 = 10_000_000;

/// A timestamp as 100 ns ticks since the Unix epoch (sub-tick precision is dropped).
pub(crate) fn to_ticks(t: &DateTime<Utc>) -> i64 {
    // A leap second is represented with nanos >= 1e9; keep it inside its second.
    let nanos = t.timestamp_subsec_nanos().min(999_999_999);
    let ticks = i128::from(t.timestamp()) * i128::from(TICKS_PER_SECOND) + i128::from(nanos / 100);
    // Saturates beyond ±29,000 years.
    i64::try_from(ticks).unwrap_or(if ticks < 0 { i64::MIN } else { i64::MAX })
}

/// The timestamp of a tick count written by [`to_ticks`].
pub(crate) fn from_ticks(ticks: i64) -> StoreResult<DateTime<Utc>> {
    let secs = ticks.div_euclid(TICKS_PER_SECOND);
    // rem_euclid is in 0..1e7, so the nanos fit in u32.
    let nanos = (ticks.rem_euclid(TICKS_PER_SECOND) * 100) as u32;
    DateTime::from_timestamp(secs, nanos)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ticks} is out of range")))
}

/// Ticks of a duration, saturating.
pub(crate) fn duration_ticks(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX)
}

/// Maps rusqlite errors to store errors: unreadable values are corruption, the rest storage.
pub(crate) trait SqlResultExt<T> {
    /// The result with its error mapped.
    fn db(self) -> StoreResult<T>;
}

impl<T> SqlResultExt<T> for rusqlite::Result<T> {
    fn db(self) -> StoreResult<T> {
        self.map_err(sql_error)
    }
}

/// The store error for a rusqlite error.
pub(crate) fn sql_error(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt(e.to_string()),
        other => {
            // Another process holding the database, or the disk, may let go; a bad statement
            // or a constraint will not.
            let retryable = matches!(
                other.sqlite_error_code(),
                Some(
                    rusqlite::ErrorCode::DatabaseBusy
                        | rusqlite::ErrorCode::DatabaseLocked
                        | rusqlite::ErrorCode::SystemIoFailure
                        | rusqlite::ErrorCode::DiskFull
                        | rusqlite::ErrorCode::ReadOnly
                )
            );
            StoreError::backend(other.to_string(), other, retryable)
        }
    }
}

/// Serializes a value for a JSON column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::storage(format!("cannot serialize to JSON: {e}")))
}

/// Reads a JSON column back; `what` names the value in the error.
pub(crate) fn from_json<T: DeserializeOwned>(json: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("unreadable {what}: {e}")))
}

/// The columns of the instances table, in the order [`RawInstance::read`] expects.
pub(crate) const INSTANCE_COLUMNS: &str = "instance_id, execution_id, name, version, status, \
     input, output, custom_status, failure_details, parent_instance_id, created_at, \
     last_updated_at, completed_at, history_len, tags";

/// An instances row as stored, before validation.
pub(crate) struct RawInstance {
    instance_id: String,
    execution_id: String,
    name: String,
    version: Option<String>,
    status: String,
    input: Option<String>,
    output: Option<String>,
    custom_status: Option<String>,
    failure_details: Option<String>,
    parent_instance_id: Option<String>,
    created_at: i64,
    last_updated_at: i64,
    completed_at: Option<i64>,
    history_len: i64,
    tags: Option<String>,
}

impl RawInstance {
    /// Reads the [`INSTANCE_COLUMNS`] of a row.
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            instance_id: row.get(0)?,
            execution_id: row.get(1)?,
            name: row.get(2)?,
            version: row.get(3)?,
            status: row.get(4)?,
            input: row.get(5)?,
            output: row.get(6)?,
            custom_status: row.get(7)?,
            failure_details: row.get(8)?,
            parent_instance_id: row.get(9)?,
            created_at: row.get(10)?,
            last_updated_at: row.get(11)?,
            completed_at: row.get(12)?,
            history_len: row.get(13)?,
            tags: row.get(14)?,
        })
    }

    /// Validates and converts the row.
    pub(crate) fn into_state(self) -> StoreResult<InstanceState> {
        let status = OrchestrationStatus::from_name(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "instance {:?} has unknown status {:?}",
                self.instance_id, self.status
            ))
        })?;
        let failure_details = self
            .failure_details
            .as_deref()
            .map(|j| from_json::<FailureDetails>(j, "failure details"))
            .transpose()?;
        let history_len = u64::try_from(self.history_len).map_err(|_| {
            StoreError::Corrupt(format!(
                "instance {:?} has history_len {}",
                self.instance_id, self.history_len
            ))
        })?;
        Ok(InstanceState {
            instance_id: self.instance_id,
            execution_id: self.execution_id,
            name: self.name,
            version: self.version,
            status,
            input: self.input,
            output: self.output,
            custom_status: self.custom_status,
            failure_details,
            parent_instance_id: self.parent_instance_id,
            created_at: from_ticks(self.created_at)?,
            last_updated_at: from_ticks(self.last_updated_at)?,
            completed_at: self.completed_at.map(from_ticks).transpose()?,
            history_len,
            tags: match self.tags.as_deref() {
                Some(json) => from_json(json, "tags")?,
                None => Default::default(),
            },
        })
    }
}

/// The instance row of `instance_id`, if any.
pub(crate) fn load_instance(
    conn: &Connection,
    instance_id: &str,
) -> StoreResult<Option<InstanceState>> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE instance_id = ?1");
    let raw = conn
        .prepare_cached(&sql)
        .db()?
        .query_row([instance_id], RawInstance::read)
        .optional()
        .db()?;
    raw.map(RawInstance::into_state).transpose()
}

/// Inserts or overwrites an instance row; `history_len` is the caller's computed count.
pub(crate) fn upsert_instance(
    conn: &Connection,
    row: &EncodedInstance,
    history_len: u64,
) -> StoreResult<()> {
    let state = &row.state;
    let tags = match state.tags.is_empty() {
        true => None,
        false => Some(to_json(&state.tags)?),
    };
    conn.prepare_cached(
        "INSERT INTO instances (instance_id, execution_id, name, version, status, input, \
         output, custom_status, failure_details, parent_instance_id, created_at, \
         last_updated_at, completed_at, history_len, tags) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
         ON CONFLICT (instance_id) DO UPDATE SET execution_id = excluded.execution_id, \
         name = excluded.name, version = excluded.version, status = excluded.status, \
         input = excluded.input, output = excluded.output, \
         custom_status = excluded.custom_status, failure_details = excluded.failure_details, \
         parent_instance_id = excluded.parent_instance_id, created_at = excluded.created_at, \
         last_updated_at = excluded.last_updated_at, completed_at = excluded.completed_at, \
         history_len = excluded.history_len, tags = excluded.tags",
    )
    .db()?
    .execute(rusqlite::params![
        state.instance_id,
        state.execution_id,
        state.name,
        state.version,
        state.status.name(),
        state.input,
        state.output,
        state.custom_status,
        row.failure_details,
        state.parent_instance_id,
        to_ticks(&state.created_at),
        to_ticks(&state.last_updated_at),
        state.completed_at.as_ref().map(to_ticks),
        sql_len(history_len)?,
        tags,
    ])
    .db()?;
    Ok(())
}

/// Updates the mutable columns of an existing row (status and input only when `status` /
/// `input` say they changed: the status is indexed, the input may be large). False if there
/// is no row.
pub(crate) fn update_instance(
    conn: &Connection,
    row: &EncodedInstance,
    history_len: u64,
    status: bool,
    input: bool,
) -> StoreResult<bool> {
    let state = &row.state;
    let (status_name, len) = (state.status.name(), sql_len(history_len)?);
    let (updated, completed) = (
        to_ticks(&state.last_updated_at),
        state.completed_at.as_ref().map(to_ticks),
    );
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![
        &state.instance_id,
        &state.output,
        &state.custom_status,
        &row.failure_details,
        &updated,
        &completed,
        &len,
    ];
    let sql = match (status, input) {
        (false, false) => UPDATE_INSTANCE,
        (true, false) => UPDATE_INSTANCE_STATUS,
        (false, true) => UPDATE_INSTANCE_INPUT,
        (true, true) => UPDATE_INSTANCE_STATUS_INPUT,
    };
    if status {
        args.push(&status_name);
    }
    if input {
        args.push(&state.input);
    }
    let changed = conn
        .prepare_cached(sql)
        .db()?
        .execute(args.as_slice())
        .db()?;
    Ok(changed > 0)
}

/// The statements of [`update_instance`]: ?1..?7 always, then the status, then the input.
const UPDATE_INSTANCE: &str = "UPDATE instances SET output = ?2, custom_status = ?3, \
     failure_details = ?4, last_updated_at = ?5, completed_at = ?6, history_len = ?7 \
     WHERE instance_id = ?1";
const UPDATE_INSTANCE_STATUS: &str = "UPDATE instances SET output = ?2, custom_status = ?3, \
     failure_details = ?4, last_updated_at = ?5, completed_at = ?6, history_len = ?7, \
     status = ?8 WHERE instance_id = ?1";
const UPDATE_INSTANCE_INPUT: &str = "UPDATE instances SET output = ?2, custom_status = ?3, \
     failure_details = ?4, last_updated_at = ?5, completed_at = ?6, history_len = ?7, \
     input = ?8 WHERE instance_id = ?1";
const UPDATE_INSTANCE_STATUS_INPUT: &str = "UPDATE instances SET output = ?2, \
     custom_status = ?3, failure_details = ?4, last_updated_at = ?5, completed_at = ?6, \
     history_len = ?7, status = ?8, input = ?9 WHERE instance_id = ?1";

/// A history length as an SQLite integer.
fn sql_len(history_len: u64) -> StoreResult<i64> {
    i64::try_from(history_len)
        .map_err(|_| StoreError::storage(format!("history length {history_len} too large")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::time;
    use durable_store::clock;

    #[test]
    fn a_busy_database_is_retryable_and_a_constraint_is_not() {
        let failure = |code| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("x".into()))
        };
        assert!(sql_error(failure(rusqlite::ffi::SQLITE_BUSY)).is_retryable());
        assert!(sql_error(failure(rusqlite::ffi::SQLITE_LOCKED)).is_retryable());
        assert!(!sql_error(failure(rusqlite::ffi::SQLITE_CONSTRAINT)).is_retryable());
        assert!(matches!(
            sql_error(rusqlite::Error::InvalidColumnType(
                0,
                "c".into(),
                rusqlite::types::Type::Null
            )),
            StoreError::Corrupt(_)
        ));
    }

    #[test]
    fn ticks_round_trip_at_100ns() {
        let t = time::parse("2024-05-06T07:08:09.1234567Z").unwrap();
        assert_eq!(from_ticks(to_ticks(&t)).unwrap(), t);
        let now = clock::now();
        assert_eq!(from_ticks(to_ticks(&now)).unwrap(), now);
        let before_epoch = time::parse("1969-12-31T23:59:59.9999999Z").unwrap();
        assert_eq!(to_ticks(&before_epoch), -1);
        assert_eq!(from_ticks(-1).unwrap(), before_epoch);
    }

    #[test]
    fn extreme_ticks_do_not_fail() {
        for ticks in [i64::MIN, i64::MAX] {
            let t = from_ticks(ticks).unwrap();
            assert_eq!(to_ticks(&t), ticks);
        }
    }
}
