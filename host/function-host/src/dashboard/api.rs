//! `/dashboard/api/`: the JSON the page needs that the management API does not give in the
//! right shape: compact instance rows and counts by status (orchestrations only: entities
//! have their own page), and an instance with its raw history (every event, with its ids,
//! pending ones included, as the timeline needs).
//!
//! | Path | |
//! |---|---|
//! | `access` | `{"authorized", "newestFirst"}`: whether the request's key (or none) is enough, and whether the store lists newest first |
//! | `instances?{filter}&continuation=` | one page of rows (the management API's filter) |
//! | `counts?{filter}` | instances by status for the filter's name, time range and prefix; `complete` is false when a store that counts by reading rows stopped at 10,000 |
//! | `instances/{id}` | the instance row and its current execution's history |
//! | `entities?name=&continuation=` | entities with their state, lock holder and queue |
//! | `entity?name=&key=` | one entity, read now (`exists: false` when it has no row or state) |

use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::http_api::{instance_query, DurableApi};
use durable_engine::entity::{EntityId, SchedulerState};
use durable_engine::history::{HistoryEvent, OrchestrationStatus};
use durable_http::{HttpRequest, HttpResponse};
use durable_store::{InstanceQuery, InstanceState, StoreError, TaskHub};

/// Answers `GET /dashboard/api/{call}`.
pub(super) async fn answer(api: &DurableApi, call: &str, req: &HttpRequest) -> HttpResponse {
    let result = match call {
        "instances" => instances(api, req).await,
        "counts" => counts(api, req).await,
        "entities" => entities(api, req).await,
        "entity" => entity(api, req).await,
        _ => match call.strip_prefix("instances/") {
            Some(id) => match percent_encoding::percent_decode_str(id).decode_utf8() {
                Ok(id) => instance(api, &id).await,
                Err(_) => Ok(HttpResponse::error(
                    StatusCode::BAD_REQUEST,
                    "the instance id does not percent-decode to UTF-8",
                )),
            },
            None => Ok(HttpResponse::error(
                StatusCode::NOT_FOUND,
                &format!("the dashboard API has no {call:?}"),
            )),
        },
    };
    result.unwrap_or_else(|e| {
        let status = if matches!(
            e,
            StoreError::BadContinuation(_) | StoreError::Unsupported(_)
        ) {
            StatusCode::BAD_REQUEST
        } else if e.is_retryable() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        HttpResponse::error(status, &e.to_string())
    })
}

/// One page of instance rows, without inputs and outputs.
async fn instances(api: &DurableApi, req: &HttpRequest) -> Result<HttpResponse, StoreError> {
    let mut query = match instance_query(req) {
        Ok(q) => q,
        Err(response) => return Ok(*response),
    };
    query.skip_inputs = true;
    query.exclude_entities = true;
    query.page_size = query.page_size.clamp(1, 500);
    query.continuation = req
        .query_param("continuation")
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let page = api.client.store().query_instances(&query).await?;
    let rows: Vec<Value> = page.instances.iter().map(row).collect();
    Ok(HttpResponse::ok_json(&json!({
        "instances": rows,
        "continuation": page.continuation,
    })))
}

/// Instances by status.
async fn counts(api: &DurableApi, req: &HttpRequest) -> Result<HttpResponse, StoreError> {
    let mut query = match instance_query(req) {
        Ok(q) => q,
        Err(response) => return Ok(*response),
    };
    query.exclude_entities = true;
    let store = api.client.store();
    let (counts, complete) = if store.counts_cheaply() {
        (store.count_instances(&query).await?, true)
    } else {
        count_up_to(&**store, query, COUNT_LIMIT).await?
    };
    let total: u64 = counts.values().sum();
    let by_name: Map<String, Value> = counts
        .into_iter()
        .map(|(status, n)| (status.name().to_owned(), json!(n)))
        .collect();
    Ok(HttpResponse::ok_json(
        &json!({ "counts": by_name, "total": total, "complete": complete }),
    ))
}

/// Rows read at most for the counts of a store that counts by reading rows (Azure Storage),
/// refreshed every few seconds by every open list.
const COUNT_LIMIT: u64 = 10_000;

/// Counts by status reading at most `limit` rows; `false` when more were left unread.
async fn count_up_to(
    store: &dyn TaskHub,
    mut query: InstanceQuery,
    limit: u64,
) -> Result<(BTreeMap<OrchestrationStatus, u64>, bool), StoreError> {
    query.statuses.clear();
    query.skip_inputs = true;
    query.continuation = None;
    let mut counts = BTreeMap::new();
    let mut read = 0u64;
    loop {
        query.page_size = usize::try_from((limit - read).min(1000)).unwrap_or(1000);
        let page = store.query_instances(&query).await?;
        for instance in &page.instances {
            *counts.entry(instance.status).or_insert(0) += 1;
        }
        read += page.instances.len() as u64;
        match page.continuation {
            None => return Ok((counts, true)),
            Some(_) if read >= limit => return Ok((counts, false)),
            Some(token) => query.continuation = Some(token),
        }
    }
}

/// The instance row (with input, output, custom status and failure) and its history.
async fn instance(api: &DurableApi, id: &str) -> Result<HttpResponse, StoreError> {
    let store = api.client.store();
    let Some(state) = store.get_instance(id).await? else {
        return Ok(HttpResponse::error(
            StatusCode::NOT_FOUND,
            &format!("no instance {id:?} in this task hub"),
        ));
    };
    let history = store.get_history(id).await?;
    let mut instance = row(&state);
    if let Value::Object(fields) = &mut instance {
        fields.insert("executionId".into(), json!(state.execution_id));
        fields.insert("input".into(), parsed(state.input.as_deref()));
        fields.insert("output".into(), parsed(state.output.as_deref()));
        fields.insert(
            "customStatus".into(),
            parsed(state.custom_status.as_deref()),
        );
        fields.insert("failureDetails".into(), json!(state.failure_details));
    }
    let events: Vec<Value> = history.iter().map(event).collect();
    Ok(HttpResponse::ok_json(
        &json!({ "instance": instance, "history": events }),
    ))
}

/// A page of entities (of one name, if given): state, the orchestration holding the lock,
/// and how many requests wait.
async fn entities(api: &DurableApi, req: &HttpRequest) -> Result<HttpResponse, StoreError> {
    let prefix = match req
        .query_param("name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => format!("@{}@", name.to_lowercase()),
        None => "@".to_owned(),
    };
    let query = InstanceQuery {
        instance_id_prefix: Some(prefix),
        page_size: 100,
        continuation: req
            .query_param("continuation")
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        ..InstanceQuery::default()
    };
    let page = api.client.store().query_instances(&query).await?;
    let mut entities = Vec::new();
    for row in &page.instances {
        let Ok(id) = EntityId::from_scheduler_id(&row.instance_id) else {
            continue;
        };
        let Some(entity) = entity_json(&id, row) else {
            continue;
        };
        let unused = entity["exists"] == false && entity["lockedBy"].is_null();
        if unused && entity["queueSize"] == 0 {
            continue; // deleted, or never given state
        }
        entities.push(entity);
    }
    Ok(HttpResponse::ok_json(&json!({
        "entities": entities,
        "continuation": page.continuation,
    })))
}

/// One entity: its state, lock holder and queue, read now.
async fn entity(api: &DurableApi, req: &HttpRequest) -> Result<HttpResponse, StoreError> {
    let name = req.query_param("name").unwrap_or_default();
    let key = req.query_param("key").unwrap_or_default();
    let id = match EntityId::new(name, key) {
        Ok(id) => id,
        Err(e) => return Ok(HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string())),
    };
    let row = api.client.store().get_instance(&id.scheduler_id()).await?;
    let Some(row) = row else {
        return Ok(HttpResponse::ok_json(&json!({ "exists": false })));
    };
    Ok(HttpResponse::ok_json(
        &entity_json(&id, &row).unwrap_or_else(|| json!({ "exists": false })),
    ))
}

/// An entity's row as the page shows it; `None` if its scheduler state cannot be read.
fn entity_json(id: &EntityId, row: &InstanceState) -> Option<Value> {
    let scheduler = SchedulerState::from_input(row.input.as_deref()).ok()?;
    let status = scheduler.status();
    Some(json!({
        "name": id.name,
        "key": id.key,
        "lastOperationTime": row.last_updated_at,
        "exists": status.entity_exists,
        "state": parsed(scheduler.state.as_deref()),
        "lockedBy": status.locked_by,
        "queueSize": status.queue_size,
    }))
}

/// The columns of the list.
fn row(s: &InstanceState) -> Value {
    json!({
        "instanceId": s.instance_id,
        "name": s.name,
        "version": s.version,
        "status": s.status.name(),
        "createdAt": s.created_at,
        "lastUpdatedAt": s.last_updated_at,
        "completedAt": s.completed_at,
        "historyLength": s.history_len,
        "parentInstanceId": s.parent_instance_id,
        "tags": s.tags,
    })
}

/// A history event as stored (DTFx JSON), with its type's name beside the number.
fn event(e: &HistoryEvent) -> Value {
    let mut value = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.insert("EventTypeName".into(), json!(e.event_type().name()));
    }
    value
}

/// Stored JSON text as JSON (text that is not JSON as a string).
fn parsed(text: Option<&str>) -> Value {
    match text {
        None => Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use durable_engine::history::{
        EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance,
    };
    use durable_engine::message::TaskMessage;

    use super::*;

    #[tokio::test]
    async fn counting_by_reading_rows_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn TaskHub> =
            Arc::new(durable_sqlite::SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
        for i in 0..5 {
            let target = OrchestrationInstance {
                instance_id: format!("i{i}"),
                execution_id: Some(format!("e{i}")),
            };
            let started = ExecutionStarted {
                orchestration_instance: target.clone(),
                name: "Counted".into(),
                ..ExecutionStarted::default()
            };
            let event = HistoryEvent::new(
                durable_store::clock::now(),
                EventKind::ExecutionStarted(Box::new(started)),
            );
            store
                .create_instance(TaskMessage::new(target, event))
                .await
                .unwrap();
        }
        let all = InstanceQuery::default();
        let (counts, complete) = count_up_to(&*store, all.clone(), 3).await.unwrap();
        assert_eq!(counts[&OrchestrationStatus::Pending], 3);
        assert!(!complete, "two rows were left unread");
        let (counts, complete) = count_up_to(&*store, all, 5).await.unwrap();
        assert_eq!(counts[&OrchestrationStatus::Pending], 5);
        assert!(complete);
    }
}
