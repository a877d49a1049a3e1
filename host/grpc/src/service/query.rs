//! The client calls on many instances, and on histories: query, purge, and an instance's
//! history as a stream.

use futures::stream::BoxStream;
use tonic::Status;

use super::instances::required_id;
use super::Sidecar;
use crate::convert::{
    from_optional_timestamp, history_event, non_empty, orchestration_state, statuses_from_proto,
};
use crate::errors::{status_of, store_status};
use crate::proto;
use crate::proto::purge_instances_request::Request as Purge;
use durable_engine::history::OrchestrationStatus;
use durable_store::{InstancePage, InstanceQuery, PurgeFilter};

/// How many events one history chunk carries.
const HISTORY_CHUNK: usize = 200;

/// The statuses of instances that have ended.
const ENDED: [OrchestrationStatus; 4] = [
    OrchestrationStatus::Completed,
    OrchestrationStatus::Failed,
    OrchestrationStatus::Canceled,
    OrchestrationStatus::Terminated,
];

/// A stream of history chunks as the transport takes it.
pub(crate) type HistoryStream = BoxStream<'static, Result<proto::HistoryChunk, Status>>;

impl Sidecar {
    /// One page of the store's listing of instances.
    pub(super) async fn page(&self, query: &InstanceQuery) -> Result<InstancePage, Status> {
        self.client
            .store()
            .query_instances(query)
            .await
            .map_err(store_status)
    }

    pub(super) async fn query(
        &self,
        r: proto::QueryInstancesRequest,
    ) -> Result<proto::QueryInstancesResponse, Status> {
        let q = r.query.unwrap_or_default();
        let query = InstanceQuery {
            statuses: statuses_from_proto(&q.runtime_status)?,
            created_from: from_optional_timestamp(q.created_time_from.as_ref(), "createdTimeFrom")?,
            created_to: from_optional_timestamp(q.created_time_to.as_ref(), "createdTimeTo")?,
            instance_id_prefix: q.instance_id_prefix.filter(|p| !p.is_empty()),
            // Entities are this host's business; the protocol's queries list orchestrations.
            exclude_entities: true,
            page_size: usize::try_from(q.max_instance_count).unwrap_or(0),
            continuation: q.continuation_token.filter(|t| !t.is_empty()),
            skip_inputs: !q.fetch_inputs_and_outputs,
            ..InstanceQuery::default()
        };
        let page = self.page(&query).await?;
        Ok(proto::QueryInstancesResponse {
            orchestration_state: page
                .instances
                .iter()
                .map(|s| orchestration_state(s, q.fetch_inputs_and_outputs))
                .collect(),
            continuation_token: page.continuation,
        })
    }

    /// The ids of ended instances (`runtimeStatus`: some of the ended statuses; none = all),
    /// completed at or after `completedTimeFrom` and before `completedTimeTo`. One page of the
    /// store's listing (by instance id) per call, filtered here: a page may hold fewer ids than
    /// its size, or none, with a key for the next one.
    pub(super) async fn list_ids(
        &self,
        r: proto::ListInstanceIdsRequest,
    ) -> Result<proto::ListInstanceIdsResponse, Status> {
        let asked = statuses_from_proto(&r.runtime_status)?;
        let statuses: Vec<_> = if asked.is_empty() {
            ENDED.to_vec()
        } else {
            asked.into_iter().filter(|s| s.is_terminal()).collect()
        };
        if statuses.is_empty() {
            // Only statuses of instances that have not ended were asked for.
            return Ok(proto::ListInstanceIdsResponse::default());
        }
        let from = from_optional_timestamp(r.completed_time_from.as_ref(), "completedTimeFrom")?;
        let to = from_optional_timestamp(r.completed_time_to.as_ref(), "completedTimeTo")?;
        let query = InstanceQuery {
            statuses,
            exclude_entities: true,
            page_size: usize::try_from(r.page_size).unwrap_or(0),
            continuation: r.last_instance_key.filter(|t| !t.is_empty()),
            skip_inputs: true,
            ..InstanceQuery::default()
        };
        let page = self.page(&query).await?;
        let in_range = |at: &chrono::DateTime<chrono::Utc>| {
            from.is_none_or(|from| *at >= from) && to.is_none_or(|to| *at < to)
        };
        Ok(proto::ListInstanceIdsResponse {
            instance_ids: page
                .instances
                .into_iter()
                .filter(|s| s.completed_at.as_ref().is_some_and(in_range))
                .map(|s| s.instance_id)
                .collect(),
            last_instance_key: page.continuation,
        })
    }

    pub(super) async fn purge(
        &self,
        r: proto::PurgeInstancesRequest,
    ) -> Result<proto::PurgeInstancesResponse, Status> {
        let deleted = match r.request {
            Some(Purge::InstanceId(id)) => self.purge_one(&id, r.recursive).await?,
            Some(Purge::InstanceBatch(batch)) => {
                let mut deleted = 0;
                for id in &batch.instance_ids {
                    deleted += self.purge_one(id, r.recursive).await?;
                }
                deleted
            }
            Some(Purge::PurgeInstanceFilter(f)) => {
                let filter = PurgeFilter {
                    created_from: from_optional_timestamp(
                        f.created_time_from.as_ref(),
                        "createdTimeFrom",
                    )?,
                    created_to: from_optional_timestamp(
                        f.created_time_to.as_ref(),
                        "createdTimeTo",
                    )?,
                    statuses: statuses_from_proto(&f.runtime_status)?,
                };
                self.client
                    .purge_instance_history_by(&filter)
                    .await
                    .map_err(status_of)?
                    .instances_deleted
            }
            None => {
                return Err(Status::invalid_argument(
                    "name an instanceId, an instanceBatch or a purgeInstanceFilter",
                ))
            }
        };
        Ok(proto::PurgeInstancesResponse {
            deleted_instance_count: i32::try_from(deleted).unwrap_or(i32::MAX),
            is_complete: Some(true),
        })
    }

    /// Purges one instance (with its sub-orchestrations when `recursive`); how many went.
    async fn purge_one(&self, id: &str, recursive: bool) -> Result<u64, Status> {
        let id = required_id(id)?;
        let purged = if recursive {
            self.client.purge_instance_history_recursive(id).await
        } else {
            self.client.purge_instance_history(id).await
        };
        Ok(purged.map_err(status_of)?.instances_deleted)
    }

    pub(super) async fn history(
        &self,
        r: proto::StreamInstanceHistoryRequest,
    ) -> Result<HistoryStream, Status> {
        let id = required_id(&r.instance_id)?;
        let state = self.client.store().get_instance(id).await;
        let Some(state) = state.map_err(store_status)? else {
            return Err(Status::not_found(format!("instance {id:?} not found")));
        };
        if let Some(asked) = r.execution_id.as_deref().and_then(non_empty) {
            if asked != state.execution_id {
                return Err(Status::not_found(format!(
                    "execution {asked:?} is not the current execution of instance {id:?}; only \
                     the current execution's history is served"
                )));
            }
        }
        let history = self.client.get_history(id).await.map_err(status_of)?;
        let events: Vec<proto::HistoryEvent> = history.iter().filter_map(history_event).collect();
        let chunks: Vec<Result<proto::HistoryChunk, Status>> = events
            .chunks(HISTORY_CHUNK)
            .map(|c| Ok(proto::HistoryChunk { events: c.to_vec() }))
            .collect();
        Ok(Box::pin(futures::stream::iter(chunks)))
    }
}
