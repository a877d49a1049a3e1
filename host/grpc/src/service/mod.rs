//! The `TaskHubSidecarService` this host serves: worker calls go to the [`WorkerHub`], client
//! calls to the [`DurableClient`]. Methods not listed here answer `UNIMPLEMENTED`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::hub::{Kind, WorkerHub};
use crate::proto;
use crate::proto::task_hub_sidecar_service_server::TaskHubSidecarService;
use durable_client::DurableClient;

mod entities;
mod instances;
mod query;

/// The service: the hub for worker calls, the client for management calls.
pub struct Sidecar {
    hub: Arc<WorkerHub>,
    client: DurableClient,
}

impl Sidecar {
    /// A service over `hub` and `client`.
    pub fn new(hub: Arc<WorkerHub>, client: DurableClient) -> Self {
        Self { hub, client }
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TaskHubSidecarService for Sidecar {
    async fn hello(&self, _: Request<()>) -> Answer<()> {
        Ok(Response::new(()))
    }

    async fn start_instance(
        &self,
        r: Request<proto::CreateInstanceRequest>,
    ) -> Answer<proto::CreateInstanceResponse> {
        self.start(r.into_inner()).await.map(Response::new)
    }

    async fn get_instance(
        &self,
        r: Request<proto::GetInstanceRequest>,
    ) -> Answer<proto::GetInstanceResponse> {
        self.get(r.into_inner()).await.map(Response::new)
    }

    async fn rewind_instance(
        &self,
        r: Request<proto::RewindInstanceRequest>,
    ) -> Answer<proto::RewindInstanceResponse> {
        self.rewind(r.into_inner()).await?;
        Ok(Response::new(proto::RewindInstanceResponse {}))
    }

    async fn restart_instance(
        &self,
        r: Request<proto::RestartInstanceRequest>,
    ) -> Answer<proto::RestartInstanceResponse> {
        self.restart(r.into_inner()).await.map(Response::new)
    }

    async fn wait_for_instance_start(
        &self,
        r: Request<proto::GetInstanceRequest>,
    ) -> Answer<proto::GetInstanceResponse> {
        self.wait_for_start(r.into_inner()).await.map(Response::new)
    }

    async fn wait_for_instance_completion(
        &self,
        r: Request<proto::GetInstanceRequest>,
    ) -> Answer<proto::GetInstanceResponse> {
        self.wait_for_completion(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn raise_event(
        &self,
        r: Request<proto::RaiseEventRequest>,
    ) -> Answer<proto::RaiseEventResponse> {
        Sidecar::raise_event(self, r.into_inner()).await?;
        Ok(Response::new(proto::RaiseEventResponse {}))
    }

    async fn terminate_instance(
        &self,
        r: Request<proto::TerminateRequest>,
    ) -> Answer<proto::TerminateResponse> {
        self.terminate(r.into_inner()).await?;
        Ok(Response::new(proto::TerminateResponse {}))
    }

    async fn suspend_instance(
        &self,
        r: Request<proto::SuspendRequest>,
    ) -> Answer<proto::SuspendResponse> {
        self.suspend(r.into_inner()).await?;
        Ok(Response::new(proto::SuspendResponse {}))
    }

    async fn resume_instance(
        &self,
        r: Request<proto::ResumeRequest>,
    ) -> Answer<proto::ResumeResponse> {
        self.resume(r.into_inner()).await?;
        Ok(Response::new(proto::ResumeResponse {}))
    }

    async fn query_instances(
        &self,
        r: Request<proto::QueryInstancesRequest>,
    ) -> Answer<proto::QueryInstancesResponse> {
        self.query(r.into_inner()).await.map(Response::new)
    }

    async fn list_instance_ids(
        &self,
        r: Request<proto::ListInstanceIdsRequest>,
    ) -> Answer<proto::ListInstanceIdsResponse> {
        self.list_ids(r.into_inner()).await.map(Response::new)
    }

    async fn purge_instances(
        &self,
        r: Request<proto::PurgeInstancesRequest>,
    ) -> Answer<proto::PurgeInstancesResponse> {
        self.purge(r.into_inner()).await.map(Response::new)
    }

    async fn signal_entity(
        &self,
        r: Request<proto::SignalEntityRequest>,
    ) -> Answer<proto::SignalEntityResponse> {
        Sidecar::signal_entity(self, r.into_inner()).await?;
        Ok(Response::new(proto::SignalEntityResponse {}))
    }

    async fn get_entity(
        &self,
        r: Request<proto::GetEntityRequest>,
    ) -> Answer<proto::GetEntityResponse> {
        Sidecar::get_entity(self, r.into_inner())
            .await
            .map(Response::new)
    }

    async fn query_entities(
        &self,
        r: Request<proto::QueryEntitiesRequest>,
    ) -> Answer<proto::QueryEntitiesResponse> {
        Sidecar::query_entities(self, r.into_inner())
            .await
            .map(Response::new)
    }

    async fn clean_entity_storage(
        &self,
        r: Request<proto::CleanEntityStorageRequest>,
    ) -> Answer<proto::CleanEntityStorageResponse> {
        Sidecar::clean_entity_storage(self, r.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_work_items(
        &self,
        r: Request<proto::GetWorkItemsRequest>,
    ) -> Answer<tonic::codegen::BoxStream<proto::WorkItem>> {
        self.hub.connect(r.into_inner()).map(Response::new)
    }

    async fn complete_activity_task(
        &self,
        r: Request<proto::ActivityResponse>,
    ) -> Answer<proto::CompleteTaskResponse> {
        self.hub.complete_activity(r.into_inner())?;
        Ok(Response::new(proto::CompleteTaskResponse {}))
    }

    async fn complete_orchestrator_task(
        &self,
        r: Request<proto::OrchestratorResponse>,
    ) -> Answer<proto::CompleteTaskResponse> {
        self.hub.complete_orchestration(r.into_inner())?;
        Ok(Response::new(proto::CompleteTaskResponse {}))
    }

    async fn stream_instance_history(
        &self,
        r: Request<proto::StreamInstanceHistoryRequest>,
    ) -> Answer<tonic::codegen::BoxStream<proto::HistoryChunk>> {
        self.history(r.into_inner()).await.map(Response::new)
    }

    async fn abandon_task_activity_work_item(
        &self,
        r: Request<proto::AbandonActivityTaskRequest>,
    ) -> Answer<proto::AbandonActivityTaskResponse> {
        self.hub
            .abandon(&r.into_inner().completion_token, Kind::Activity)?;
        Ok(Response::new(proto::AbandonActivityTaskResponse {}))
    }

    async fn abandon_task_orchestrator_work_item(
        &self,
        r: Request<proto::AbandonOrchestrationTaskRequest>,
    ) -> Answer<proto::AbandonOrchestrationTaskResponse> {
        self.hub
            .abandon(&r.into_inner().completion_token, Kind::Orchestration)?;
        Ok(Response::new(proto::AbandonOrchestrationTaskResponse {}))
    }

    async fn complete_entity_task(
        &self,
        r: Request<proto::EntityBatchResult>,
    ) -> Answer<proto::CompleteTaskResponse> {
        self.hub.complete_entity(r.into_inner())?;
        Ok(Response::new(proto::CompleteTaskResponse {}))
    }

    async fn abandon_task_entity_work_item(
        &self,
        r: Request<proto::AbandonEntityTaskRequest>,
    ) -> Answer<proto::AbandonEntityTaskResponse> {
        self.hub
            .abandon(&r.into_inner().completion_token, Kind::Entity)?;
        Ok(Response::new(proto::AbandonEntityTaskResponse {}))
    }
}
