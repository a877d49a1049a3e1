//! The entity client calls: signal an entity, read one, list them, and clean entity storage.
//!
//! An entity is the instance `@name@key` whose row this host's entity scheduler writes: the
//! row's custom status is the entity's [`EntityStatus`] (whether it has state, its queue, its
//! lock holder) and its input the whole [`SchedulerState`] (the user state among it). Signals
//! and the clean-up go through the [`DurableClient`](durable_client::DurableClient)'s entity
//! methods; reads use its store directly, like the other reads, to answer the state as the
//! JSON text the protocol carries.

use chrono::{DateTime, Utc};
use tonic::Status;

use super::Sidecar;
use crate::convert::{from_optional_timestamp, timestamp};
use crate::errors::{status_of, store_status};
use crate::proto;
use durable_engine::entity::{EntityId, EntityStatus, SchedulerState};
use durable_store::{InstanceQuery, InstanceState};

/// Instances a query scans per page when the request names no page size.
const DEFAULT_PAGE_SIZE: usize = 100;

impl Sidecar {
    pub(super) async fn signal_entity(&self, r: proto::SignalEntityRequest) -> Result<(), Status> {
        let entity = entity_id(&r.instance_id)?;
        if r.name.is_empty() {
            return Err(Status::invalid_argument(
                "name (the operation to signal) is required",
            ));
        }
        // An empty input is no input, as for a start.
        let input = r.input.filter(|i| !i.is_empty());
        if let Some(text) = &input {
            serde_json::from_str::<&serde_json::value::RawValue>(text).map_err(|e| {
                Status::invalid_argument(format!("the operation's input is not JSON: {e}"))
            })?;
        }
        let at = from_optional_timestamp(r.scheduled_time.as_ref(), "scheduledTime")?;
        self.client
            .signal_entity_raw(&entity, &r.name, input, at)
            .await
            .map_err(status_of)
    }

    pub(super) async fn get_entity(
        &self,
        r: proto::GetEntityRequest,
    ) -> Result<proto::GetEntityResponse, Status> {
        let entity = entity_id(&r.instance_id)?;
        let row = self
            .client
            .store()
            .get_instance(&entity.scheduler_id())
            .await
            .map_err(store_status)?;
        // Like the extension: an entity exists while it has state.
        let metadata = row
            .as_ref()
            .and_then(|row| metadata(row, r.include_state))
            .filter(|(has_state, _)| *has_state)
            .map(|(_, m)| m);
        Ok(proto::GetEntityResponse {
            exists: metadata.is_some(),
            entity: metadata,
        })
    }

    pub(super) async fn query_entities(
        &self,
        r: proto::QueryEntitiesRequest,
    ) -> Result<proto::QueryEntitiesResponse, Status> {
        let q = r.query.unwrap_or_default();
        let from = from_optional_timestamp(q.last_modified_from.as_ref(), "lastModifiedFrom")?;
        let to = from_optional_timestamp(q.last_modified_to.as_ref(), "lastModifiedTo")?;
        let page_size = match q.page_size {
            None | Some(0) => DEFAULT_PAGE_SIZE,
            Some(n) => usize::try_from(n)
                .map_err(|_| Status::invalid_argument(format!("pageSize {n} is negative")))?,
        };
        let query = InstanceQuery {
            instance_id_prefix: Some(entity_prefix(q.instance_id_starts_with.as_deref())),
            page_size,
            continuation: q.continuation_token.filter(|t| !t.is_empty()),
            // The metadata is in the custom status; the input is read only for the state.
            skip_inputs: !q.include_state,
            ..InstanceQuery::default()
        };
        let page = self.page(&query).await?;
        let entities = page
            .instances
            .iter()
            .filter(|row| modified_between(row.last_updated_at, from, to))
            .filter_map(|row| metadata(row, q.include_state))
            .filter(|(has_state, _)| *has_state || q.include_transient)
            .map(|(_, m)| m)
            .collect();
        Ok(proto::QueryEntitiesResponse {
            entities,
            continuation_token: page.continuation,
        })
    }

    pub(super) async fn clean_entity_storage(
        &self,
        r: proto::CleanEntityStorageRequest,
    ) -> Result<proto::CleanEntityStorageResponse, Status> {
        // The client cleans every page in one go, so a continuation token has nothing left
        // to continue.
        let result = self
            .client
            .clean_entity_storage(r.remove_empty_entities, r.release_orphaned_locks)
            .await
            .map_err(status_of)?;
        Ok(proto::CleanEntityStorageResponse {
            continuation_token: None,
            empty_entities_removed: saturating_i32(result.empty_entities_removed),
            orphaned_locks_released: saturating_i32(result.orphaned_locks_removed),
        })
    }
}

/// The entity a request's `instanceId` (`@name@key`) names, or `INVALID_ARGUMENT`.
fn entity_id(instance_id: &str) -> Result<EntityId, Status> {
    if instance_id.is_empty() {
        return Err(Status::invalid_argument(
            "instanceId (the entity, @name@key) is required",
        ));
    }
    let id = EntityId::from_scheduler_id(instance_id)
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    id.validate()
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok(id)
}

/// The instance id prefix of an entity query, normalized as the SDKs' clients do: `@` is put
/// in front when missing, and the name part (up to the next `@`, or all of it) lower-cased,
/// since entity names are. No prefix lists every entity.
fn entity_prefix(starts_with: Option<&str>) -> String {
    let given = starts_with.unwrap_or_default();
    let prefix = given.strip_prefix('@').unwrap_or(given);
    match prefix.split_once('@') {
        Some((name, key)) => format!("@{}@{key}", name.to_lowercase()),
        None => format!("@{}", prefix.to_lowercase()),
    }
}

/// Whether a last modification at `at` is within the query's bounds (both inclusive).
fn modified_between(
    at: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> bool {
    from.is_none_or(|from| at >= from) && to.is_none_or(|to| at <= to)
}

/// An entity's row as the protocol's metadata, with whether the entity has state; `None`
/// for a row that is not an entity's. The state is read from the row's input when
/// `include_state` (a row listed without inputs then has none).
fn metadata(row: &InstanceState, include_state: bool) -> Option<(bool, proto::EntityMetadata)> {
    let id = EntityId::from_scheduler_id(&row.instance_id).ok()?;
    let status = row
        .custom_status
        .as_deref()
        .and_then(|s| serde_json::from_str::<EntityStatus>(s).ok())
        .unwrap_or_default();
    let state = include_state
        .then(|| SchedulerState::from_input(row.input.as_deref()).ok())
        .flatten()
        .and_then(|s| s.state);
    Some((
        status.entity_exists,
        proto::EntityMetadata {
            instance_id: id.scheduler_id(),
            last_modified_time: Some(timestamp(row.last_updated_at)),
            backlog_queue_size: saturating_i32(status.queue_size),
            locked_by: status.locked_by,
            serialized_state: state,
        },
    ))
}

/// A count as the protocol's `int32`.
fn saturating_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::history::OrchestrationStatus;
    use tonic::Code;

    #[test]
    fn a_prefix_gets_its_at_sign_and_a_lower_cased_name() {
        assert_eq!(entity_prefix(None), "@");
        assert_eq!(entity_prefix(Some("")), "@");
        assert_eq!(entity_prefix(Some("Counter")), "@counter");
        assert_eq!(entity_prefix(Some("@Counter@Key")), "@counter@Key");
        assert_eq!(entity_prefix(Some("Counter@Ke")), "@counter@Ke");
        assert_eq!(entity_prefix(Some("@counter@")), "@counter@");
    }

    #[test]
    fn an_instance_id_must_name_an_entity() {
        assert_eq!(entity_id("").unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(
            entity_id("plain").unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            entity_id("@@key").unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            entity_id("@a@b/c").unwrap_err().code(),
            Code::InvalidArgument
        );
        let id = entity_id("@Counter@K1").unwrap();
        assert_eq!((id.name.as_str(), id.key.as_str()), ("counter", "K1"));
    }

    fn row(custom_status: Option<&str>, input: Option<&str>) -> InstanceState {
        let now = Utc::now();
        InstanceState {
            instance_id: "@counter@k".into(),
            execution_id: "e".into(),
            name: "counter".into(),
            version: None,
            status: OrchestrationStatus::Running,
            input: input.map(str::to_string),
            output: None,
            custom_status: custom_status.map(str::to_string),
            failure_details: None,
            parent_instance_id: None,
            created_at: now,
            last_updated_at: now,
            completed_at: None,
            history_len: 0,
            tags: Default::default(),
        }
    }

    #[test]
    fn a_row_becomes_metadata_with_its_state_when_asked() {
        let state = SchedulerState {
            state: Some("8".into()),
            locked_by: Some("orch-1".into()),
            ..SchedulerState::default()
        };
        let status = serde_json::to_string(&state.status()).unwrap();
        let input = state.to_input();
        let r = row(Some(&status), input.as_deref());
        let (exists, m) = metadata(&r, true).unwrap();
        assert!(exists);
        assert_eq!(m.instance_id, "@counter@k");
        assert_eq!(m.serialized_state.as_deref(), Some("8"));
        assert_eq!(m.locked_by.as_deref(), Some("orch-1"));
        assert_eq!(m.backlog_queue_size, 0);
        let (_, m) = metadata(&r, false).unwrap();
        assert_eq!(m.serialized_state, None);
        // A row the scheduler has not written yet is an entity without state.
        let (exists, m) = metadata(&row(None, None), true).unwrap();
        assert!(!exists);
        assert_eq!(m.serialized_state, None);
    }

    #[test]
    fn modification_bounds_are_inclusive() {
        let t = Utc::now();
        let second = chrono::Duration::seconds(1);
        assert!(modified_between(t, None, None));
        assert!(modified_between(t, Some(t), Some(t)));
        assert!(!modified_between(t, Some(t + second), None));
        assert!(!modified_between(t, None, Some(t - second)));
    }
}
