//! Reading and purging instances: history, paged queries, purges.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::codec::{from_json, to_ticks, RawInstance, SqlResultExt, INSTANCE_COLUMNS};
use durable_engine::history::{HistoryEvent, OrchestrationStatus};
use durable_store::{
    InstanceOrder, InstancePage, InstanceQuery, PurgeFilter, StoreError, StoreResult,
};

/// Prefix of continuation tokens; the rest is the hex of the last instance id returned.
const TOKEN_PREFIX: &str = "sq1.";

/// The current execution's history, in order.
pub(crate) fn history(conn: &Connection, instance_id: &str) -> StoreResult<Vec<HistoryEvent>> {
    let mut stmt = conn
        .prepare_cached("SELECT event FROM history WHERE instance_id = ?1 ORDER BY seq")
        .db()?;
    let rows = stmt
        .query_map([instance_id], |row| row.get::<_, String>(0))
        .db()?;
    let mut events = Vec::new();
    for json in rows {
        events.push(from_json(&json.db()?, "history event")?);
    }
    Ok(events)
}

/// One page of instances matching the query, by instance id.
pub(crate) fn query(conn: &Connection, query: &InstanceQuery) -> StoreResult<InstancePage> {
    let page_size = query.effective_page_size();
    let columns = if query.skip_inputs {
        std::borrow::Cow::Owned(INSTANCE_COLUMNS.replacen("input,", "NULL AS input,", 1))
    } else {
        std::borrow::Cow::Borrowed(INSTANCE_COLUMNS)
    };
    let mut sql = format!("SELECT {columns} FROM instances WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if !query.statuses.is_empty() {
        in_statuses(&mut sql, &mut args, &query.statuses);
    }
    name_range_and_prefix(&mut sql, &mut args, query);
    let newest_first = query.order == InstanceOrder::NewestFirst;
    match (&query.continuation, newest_first) {
        (None, _) => {}
        (Some(token), false) => {
            args.push(Value::Text(decode_token(token)?));
            sql.push_str(&format!(" AND instance_id > ?{}", args.len()));
        }
        (Some(token), true) => {
            let (created, id) = decode_newest_token(token)?;
            args.push(Value::Integer(created));
            args.push(Value::Text(id));
            let (c, i) = (args.len() - 1, args.len());
            sql.push_str(&format!(
                " AND (created_at < ?{c} OR (created_at = ?{c} AND instance_id < ?{i}))"
            ));
        }
    }
    // One more than a page tells whether another page follows.
    args.push(Value::Integer(
        i64::try_from(page_size.saturating_add(1)).unwrap_or(i64::MAX),
    ));
    let order = if newest_first {
        "created_at DESC, instance_id DESC"
    } else {
        "instance_id"
    };
    sql.push_str(&format!(" ORDER BY {order} LIMIT ?{}", args.len()));

    // Not cached: the SQL varies with the filter and would evict the hot statements.
    let mut stmt = conn.prepare(&sql).db()?;
    let rows = stmt
        .query_map(params_from_iter(args), RawInstance::read)
        .db()?;
    let mut instances = Vec::new();
    for raw in rows {
        instances.push(raw.db()?.into_state()?);
    }
    let continuation = if instances.len() > page_size {
        instances.truncate(page_size);
        instances.last().map(|i| {
            if newest_first {
                encode_newest_token(to_ticks(&i.created_at), &i.instance_id)
            } else {
                encode_token(&i.instance_id)
            }
        })
    } else {
        None
    };
    Ok(InstancePage {
        instances,
        continuation,
    })
}

/// The name, entity exclusion, created-time range, id prefix and tags of `query` as SQL
/// conditions.
fn name_range_and_prefix(sql: &mut String, args: &mut Vec<Value>, query: &InstanceQuery) {
    if let Some(name) = &query.name {
        args.push(Value::Text(name.clone()));
        sql.push_str(&format!(" AND name = ?{}", args.len()));
    }
    if query.exclude_entities {
        // Entity instance ids are `@name@key`: the ids from "@" up to (not including) "A".
        sql.push_str(" AND (instance_id < '@' OR instance_id >= 'A')");
    }
    created_range(sql, args, query.created_from, query.created_to);
    if let Some(prefix) = query
        .instance_id_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        args.push(Value::Text(prefix.to_owned()));
        sql.push_str(&format!(" AND instance_id >= ?{}", args.len()));
        if let Some(upper) = prefix_upper_bound(prefix) {
            args.push(Value::Text(upper));
            sql.push_str(&format!(" AND instance_id < ?{}", args.len()));
        }
    }
    for (key, value) in &query.tags {
        args.push(Value::Text(key.clone()));
        args.push(Value::Text(value.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM json_each(instances.tags) WHERE key = ?{} AND value = ?{})",
            args.len() - 1,
            args.len()
        ));
    }
}

/// How many instances match the query's name, created range and prefix, by status.
pub(crate) fn count(
    conn: &Connection,
    query: &InstanceQuery,
) -> StoreResult<BTreeMap<OrchestrationStatus, u64>> {
    let mut sql = String::from("SELECT status, COUNT(*) FROM instances WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    name_range_and_prefix(&mut sql, &mut args, query);
    sql.push_str(" GROUP BY status");
    let mut stmt = conn.prepare(&sql).db()?;
    let rows = stmt
        .query_map(params_from_iter(args), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .db()?;
    let mut counts = BTreeMap::new();
    for row in rows {
        let (status, n) = row.db()?;
        let status = OrchestrationStatus::from_name(&status).ok_or_else(|| {
            StoreError::storage(format!(
                "the instances table holds an unknown status {status:?}"
            ))
        })?;
        counts.insert(status, u64::try_from(n).unwrap_or_default());
    }
    Ok(counts)
}

/// Deletes an instance and everything queued for it; false if there was no row.
pub(crate) fn purge(conn: &Connection, instance_id: &str) -> StoreResult<bool> {
    let existed = conn
        .prepare_cached("DELETE FROM instances WHERE instance_id = ?1")
        .db()?
        .execute([instance_id])
        .db()?
        > 0;
    for sql in [
        "DELETE FROM history WHERE instance_id = ?1",
        "DELETE FROM orchestration_messages WHERE instance_id = ?1",
        "DELETE FROM orchestration_locks WHERE instance_id = ?1",
        "DELETE FROM activity_messages WHERE instance_id = ?1",
    ] {
        conn.prepare_cached(sql).db()?.execute([instance_id]).db()?;
    }
    Ok(existed)
}

/// Purges the terminal instances matching the filter; returns how many.
pub(crate) fn purge_matching(conn: &Connection, filter: &PurgeFilter) -> StoreResult<u64> {
    let statuses = filter.terminal_statuses();
    if statuses.is_empty() {
        return Ok(0);
    }
    let mut sql = String::from("SELECT instance_id FROM instances WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    in_statuses(&mut sql, &mut args, &statuses);
    created_range(&mut sql, &mut args, filter.created_from, filter.created_to);
    let ids = {
        let mut stmt = conn.prepare(&sql).db()?;
        let rows = stmt
            .query_map(params_from_iter(args), |row| row.get::<_, String>(0))
            .db()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().db()?
    };
    let mut purged = 0;
    for id in ids {
        if purge(conn, &id)? {
            purged += 1;
        }
    }
    Ok(purged)
}

/// Appends `AND status IN (...)`.
fn in_statuses(sql: &mut String, args: &mut Vec<Value>, statuses: &[OrchestrationStatus]) {
    let mut placeholders = Vec::with_capacity(statuses.len());
    for status in statuses {
        args.push(Value::Text(status.name().to_owned()));
        placeholders.push(format!("?{}", args.len()));
    }
    sql.push_str(&format!(" AND status IN ({})", placeholders.join(", ")));
}

/// Appends the inclusive created-at bounds that are set.
fn created_range(
    sql: &mut String,
    args: &mut Vec<Value>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) {
    if let Some(from) = from {
        args.push(Value::Integer(to_ticks(&from)));
        sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
    }
    if let Some(to) = to {
        args.push(Value::Integer(to_ticks(&to)));
        sql.push_str(&format!(" AND created_at <= ?{}", args.len()));
    }
}

/// The smallest string greater than every string starting with `prefix`, if there is one.
///
/// SQLite compares text as UTF-8 bytes, which orders like code points.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A continuation token resuming after `instance_id`.
fn encode_token(instance_id: &str) -> String {
    let mut token = String::with_capacity(TOKEN_PREFIX.len() + instance_id.len() * 2);
    token.push_str(TOKEN_PREFIX);
    for byte in instance_id.bytes() {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}

/// Prefix of continuation tokens of newest-first listings: `{created ticks}.{hex of the id}`
/// of the last instance returned follow.
const NEWEST_TOKEN_PREFIX: &str = "sq2.";

fn encode_newest_token(created_ticks: i64, instance_id: &str) -> String {
    let id = encode_token(instance_id);
    format!(
        "{NEWEST_TOKEN_PREFIX}{created_ticks}.{}",
        &id[TOKEN_PREFIX.len()..]
    )
}

/// The creation time (ticks) and instance id inside a token from [`encode_newest_token`].
fn decode_newest_token(token: &str) -> StoreResult<(i64, String)> {
    let bad = || StoreError::BadContinuation(token.to_owned());
    let rest = token.strip_prefix(NEWEST_TOKEN_PREFIX).ok_or_else(bad)?;
    let (ticks, hex) = rest.split_once('.').ok_or_else(bad)?;
    let ticks = ticks.parse().map_err(|_| bad())?;
    let id = decode_token(&format!("{TOKEN_PREFIX}{hex}")).map_err(|_| bad())?;
    Ok((ticks, id))
}

/// The instance id inside a token from [`encode_token`].
fn decode_token(token: &str) -> StoreResult<String> {
    let bad = || StoreError::BadContinuation(token.to_owned());
    let hex = token.strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for id in ["", "a", "order-42", "ünï/cödé"] {
            assert_eq!(decode_token(&encode_token(id)).unwrap(), id);
        }
        for bad in ["", "x", "sq1.4", "sq1.zz", "sq1.ff"] {
            assert!(matches!(
                decode_token(bad),
                Err(StoreError::BadContinuation(_))
            ));
        }
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(
            prefix_upper_bound("a\u{d7ff}").as_deref(),
            Some("a\u{e000}")
        );
        let max = char::MAX.to_string();
        assert_eq!(prefix_upper_bound(&format!("a{max}")).as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound(&max), None);
    }
}
