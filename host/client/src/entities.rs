//! Entity operations of the client: signal (now or later), read state, list entities, and
//! clean entity storage (remove empty entities, release orphaned locks).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use super::{ClientError, DurableClient};
use durable_engine::entity::messages::{
    ReleaseMessage, RequestMessage, FIX_ORPHANED_LOCK, OP, RELEASE,
};
use durable_engine::entity::{EntityId, EntityStatus, SchedulerState};
use durable_engine::history::{EventKind, HistoryEvent, OrchestrationInstance};
use durable_engine::message::TaskMessage;
use durable_engine::time;
use durable_store::clock;
use durable_store::{InstanceQuery, InstanceState, OrchestratorMessage};

/// Filter for [`DurableClient::list_entities`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityQuery {
    /// Only entities of this name (any name when `None`).
    pub name: Option<String>,
    /// Last operation at or after.
    pub last_operation_from: Option<DateTime<Utc>>,
    /// Last operation at or before.
    pub last_operation_to: Option<DateTime<Utc>>,
    /// Include each entity's state.
    pub fetch_state: bool,
    /// Instances scanned per page (0 = 100); a page may hold fewer entities.
    pub page_size: usize,
    /// Token from the previous page.
    pub continuation: Option<String>,
}

/// One entity in a listing (`{"entityId": {...}, "lastOperationTime": "...", "state": ...}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityMetadata {
    /// The entity.
    #[serde(rename = "entityId")]
    pub entity_id: EntityId,
    /// When its last batch of operations ran.
    #[serde(rename = "lastOperationTime", serialize_with = "seconds")]
    pub last_operation_time: DateTime<Utc>,
    /// Its state, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
}

fn seconds<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// What [`DurableClient::clean_entity_storage`] did (the extension's `CleanEntityStorageResult`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CleanEntityStorageResult {
    /// Entities without state, lock or pending requests whose rows were deleted.
    #[serde(rename = "numberOfEmptyEntitiesRemoved")]
    pub empty_entities_removed: usize,
    /// Locks whose holder no longer runs, released.
    #[serde(rename = "numberOfOrphanedLocksRemoved")]
    pub orphaned_locks_removed: usize,
}

/// One page of entities.
#[derive(Debug, Clone, Default)]
pub struct EntityPage {
    /// The entities, by id.
    pub entities: Vec<EntityMetadata>,
    /// Token for the next page; `None` on the last page.
    pub continuation: Option<String>,
}

impl DurableClient {
    /// Signals an operation on an entity (one-way). The entity is created if needed.
    pub async fn signal_entity<T: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &T,
    ) -> Result<(), ClientError> {
        let json = serde_json::to_string(input)?;
        self.signal_entity_raw(entity, operation, Some(json), None)
            .await
    }

    /// Signals an operation to be processed at `at` (not before).
    pub async fn signal_entity_at<T: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &T,
        at: DateTime<Utc>,
    ) -> Result<(), ClientError> {
        let json = serde_json::to_string(input)?;
        self.signal_entity_raw(entity, operation, Some(json), Some(at))
            .await
    }

    /// Signals an operation whose input is JSON text (or none), optionally scheduled.
    pub async fn signal_entity_raw(
        &self,
        entity: &EntityId,
        operation: &str,
        input: Option<String>,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), ClientError> {
        valid(entity)?;
        if operation.is_empty() {
            return Err(ClientError::InvalidArgument(
                "the operation name cannot be empty".to_string(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = clock::now();
        let mut request = RequestMessage::operation(id, operation, input, true, now);
        request.due = at;
        let name = match at {
            Some(at) => format!("{OP}@{}", time::format(&at)),
            None => OP.to_string(),
        };
        let message = TaskMessage::new(
            OrchestrationInstance {
                instance_id: entity.scheduler_id(),
                execution_id: None,
            },
            HistoryEvent::new(
                clock::now(),
                EventKind::EventRaised {
                    name,
                    input: Some(serde_json::to_string(&request)?),
                    parent_trace_context: None,
                },
            ),
        );
        self.store
            .send_message(OrchestratorMessage {
                message,
                visible_at: at,
            })
            .await?;
        Ok(())
    }

    /// The entity's state as JSON text; `None` if the entity does not exist.
    pub async fn read_entity_state_raw(
        &self,
        entity: &EntityId,
    ) -> Result<Option<String>, ClientError> {
        valid(entity)?;
        let row = self.store.get_instance(&entity.scheduler_id()).await?;
        Ok(row.and_then(|r| state_of(&r)))
    }

    /// The entity's state; `None` if the entity does not exist.
    pub async fn read_entity_state<T: DeserializeOwned>(
        &self,
        entity: &EntityId,
    ) -> Result<Option<T>, ClientError> {
        match self.read_entity_state_raw(entity).await? {
            None => Ok(None),
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        }
    }

    /// Existing entities, one page at a time.
    pub async fn list_entities(&self, query: &EntityQuery) -> Result<EntityPage, ClientError> {
        let prefix = match &query.name {
            Some(name) => format!("@{}@", name.to_lowercase()),
            None => "@".to_string(),
        };
        let page = self
            .store
            .query_instances(&InstanceQuery {
                instance_id_prefix: Some(prefix),
                page_size: query.page_size,
                continuation: query.continuation.clone(),
                ..InstanceQuery::default()
            })
            .await?;
        let entities = page
            .instances
            .iter()
            .filter(|r| exists(r))
            .filter(|r| {
                query
                    .last_operation_from
                    .is_none_or(|t| r.last_updated_at >= t)
            })
            .filter(|r| {
                query
                    .last_operation_to
                    .is_none_or(|t| r.last_updated_at <= t)
            })
            .filter_map(|r| {
                let entity_id = EntityId::from_scheduler_id(&r.instance_id).ok()?;
                let state = query
                    .fetch_state
                    .then(|| state_of(r))
                    .flatten()
                    .map(|json| {
                        serde_json::from_str(&json).unwrap_or(serde_json::Value::String(json))
                    });
                Some(EntityMetadata {
                    entity_id,
                    last_operation_time: r.last_updated_at,
                    state,
                })
            })
            .collect();
        Ok(EntityPage {
            entities,
            continuation: page.continuation,
        })
    }
}

impl DurableClient {
    /// Repairs entity storage: with `release_orphaned_locks`, every entity locked by an
    /// instance that no longer runs (completed, failed, terminated, purged) is sent a
    /// `release` with the id `fix-orphaned-lock` (the entity then serves its waiting
    /// requests); with `remove_empty`, the rows of entities that have no state, no lock and no
    /// pending requests are deleted. Like the extension's `CleanEntityStorage`.
    pub async fn clean_entity_storage(
        &self,
        remove_empty: bool,
        release_orphaned_locks: bool,
    ) -> Result<CleanEntityStorageResult, ClientError> {
        let mut result = CleanEntityStorageResult::default();
        let mut continuation = None;
        loop {
            let page = self
                .store
                .query_instances(&InstanceQuery {
                    instance_id_prefix: Some("@".to_string()),
                    continuation,
                    ..InstanceQuery::default()
                })
                .await?;
            for row in &page.instances {
                let Ok(state) = SchedulerState::from_input(row.input.as_deref()) else {
                    continue; // unreadable: left to the entity's own error handling
                };
                if let (true, Some(holder)) = (release_orphaned_locks, &state.locked_by) {
                    if self.is_orphaned(holder).await? {
                        self.release_lock(&row.instance_id, holder).await?;
                        result.orphaned_locks_removed += 1;
                    }
                }
                // The de-duplication memory alone does not keep an entity once it is older
                // than the reorder window (nothing it remembers can still arrive).
                let window = self.entity_options.reorder_window;
                let quiet = chrono::Duration::from_std(window)
                    .ok()
                    .and_then(|w| row.last_updated_at.checked_add_signed(w))
                    .is_some_and(|t| t < clock::now());
                let empty = state.is_empty() || (state.is_unused() && quiet);
                if remove_empty && empty && self.store.purge_instance(&row.instance_id).await? {
                    result.empty_entities_removed += 1;
                }
            }
            continuation = page.continuation;
            if continuation.is_none() {
                return Ok(result);
            }
        }
    }

    /// True when the lock holder is gone or finished.
    async fn is_orphaned(&self, holder: &str) -> Result<bool, ClientError> {
        Ok(match self.store.get_instance(holder).await? {
            None => true,
            Some(row) => row.status.is_terminal(),
        })
    }

    /// Sends the `release` that frees an entity locked by `holder`.
    async fn release_lock(&self, entity: &str, holder: &str) -> Result<(), ClientError> {
        let release = ReleaseMessage {
            parent: holder.to_string(),
            id: FIX_ORPHANED_LOCK.to_string(),
        };
        let message = TaskMessage::new(
            OrchestrationInstance {
                instance_id: entity.to_string(),
                execution_id: None,
            },
            HistoryEvent::new(
                clock::now(),
                EventKind::EventRaised {
                    name: RELEASE.to_string(),
                    input: Some(serde_json::to_string(&release)?),
                    parent_trace_context: None,
                },
            ),
        );
        self.store
            .send_message(OrchestratorMessage {
                message,
                visible_at: None,
            })
            .await?;
        Ok(())
    }
}

/// Whether an instance row is an existing entity (its status says `entityExists`).
fn exists(row: &InstanceState) -> bool {
    row.custom_status
        .as_deref()
        .and_then(|s| serde_json::from_str::<EntityStatus>(s).ok())
        .is_some_and(|s| s.entity_exists)
}

/// The user state stored in an entity's row.
fn state_of(row: &InstanceState) -> Option<String> {
    SchedulerState::from_input(row.input.as_deref())
        .ok()
        .and_then(|s| s.state)
}

/// An id that can identify an entity, or the client's error for it.
fn valid(entity: &EntityId) -> Result<(), ClientError> {
    entity
        .validate()
        .map_err(|e| ClientError::InvalidArgument(e.to_string()))
}
