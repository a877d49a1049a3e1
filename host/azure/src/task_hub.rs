//! [`TaskHub`] for [`AzureTaskHub`]: each method delegates to the file of its side.

use std::time::Duration;

use async_trait::async_trait;

use super::hub::AzureTaskHub;
use durable_engine::history::HistoryEvent;
use durable_engine::message::TaskMessage;
use durable_store::ScheduleStatus;
use durable_store::{
    ActivityWorkItem, Batch, DirectEpisodes, InstancePage, InstanceQuery, InstanceState,
    InstanceStore, OrchestrationCommit, OrchestrationService, OrchestrationWorkItem,
    OrchestratorMessage, PurgeFilter, StoreResult, TriggerStateStore, WorkSignals,
};

#[async_trait]
impl InstanceStore for AzureTaskHub {
    async fn create_instance(&self, start: TaskMessage) -> StoreResult<()> {
        self.create(start)
            .await
            .map_err(|e| e.during("create_instance"))
    }

    async fn send_message(&self, message: OrchestratorMessage) -> StoreResult<()> {
        self.send_orchestrator_message(&message.message, message.visible_at, None)
            .await
            .map_err(|e| e.during("send_message"))
    }

    async fn get_instance(&self, instance_id: &str) -> StoreResult<Option<InstanceState>> {
        self.get_row(instance_id)
            .await
            .map_err(|e| e.during("get_instance"))
    }

    async fn get_history(&self, instance_id: &str) -> StoreResult<Vec<HistoryEvent>> {
        self.read_history(instance_id)
            .await
            .map_err(|e| e.during("get_history"))
    }

    async fn query_instances(&self, query: &InstanceQuery) -> StoreResult<InstancePage> {
        self.query(query)
            .await
            .map_err(|e| e.during("query_instances"))
    }

    async fn purge_instance(&self, instance_id: &str) -> StoreResult<bool> {
        self.purge(instance_id)
            .await
            .map_err(|e| e.during("purge_instance"))
    }

    async fn purge_instances(&self, filter: &PurgeFilter) -> StoreResult<u64> {
        self.purge_matching(filter)
            .await
            .map_err(|e| e.during("purge_instances"))
    }
}

#[async_trait]
impl OrchestrationService for AzureTaskHub {
    async fn create_if_not_exists(&self) -> StoreResult<()> {
        self.create_resources()
            .await
            .map_err(|e| e.during("create_if_not_exists"))
    }

    async fn lock_orchestrations(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<OrchestrationWorkItem>> {
        self.lock(max, lock_for)
            .await
            .map_err(|e| e.during("lock_orchestrations"))
    }

    async fn complete_orchestration(
        &self,
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
    ) -> StoreResult<()> {
        self.complete(item, commit)
            .await
            .map_err(|e| e.during("complete_orchestration"))
    }

    async fn abandon_orchestration(
        &self,
        item: &OrchestrationWorkItem,
        delay: Duration,
    ) -> StoreResult<()> {
        self.abandon(item, delay)
            .await
            .map_err(|e| e.during("abandon_orchestration"))
    }

    async fn lock_activities(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<ActivityWorkItem>> {
        self.lock_work(max, lock_for)
            .await
            .map_err(|e| e.during("lock_activities"))
    }

    async fn complete_activity(
        &self,
        item: &ActivityWorkItem,
        response: TaskMessage,
    ) -> StoreResult<bool> {
        self.complete_work(item, response)
            .await
            .map_err(|e| e.during("complete_activity"))
    }

    async fn abandon_activity(&self, item: &ActivityWorkItem, delay: Duration) -> StoreResult<()> {
        self.abandon_work(item, delay)
            .await
            .map_err(|e| e.during("abandon_activity"))
    }

    async fn renew_activity_lock(
        &self,
        item: &ActivityWorkItem,
        lock_for: Duration,
    ) -> StoreResult<()> {
        self.renew_work(item, lock_for)
            .await
            .map_err(|e| e.during("renew_activity_lock"))
    }

    /// None: a queue message cannot be deleted in the table transaction that commits an
    /// episode, so an answer always goes through the control queue (and the dispatcher runs it
    /// on the cached execution).
    fn direct_episodes(&self) -> Option<&dyn DirectEpisodes> {
        None
    }

    fn signals(&self) -> &WorkSignals {
        &self.signals
    }

    async fn backlog(&self) -> StoreResult<durable_store::Backlog> {
        self.read_backlog().await.map_err(|e| e.during("backlog"))
    }

    async fn shutdown(&self) {
        self.stop_leasing().await;
    }
}

#[async_trait]
impl TriggerStateStore for AzureTaskHub {
    async fn load_timer_status(&self, function: &str) -> StoreResult<Option<ScheduleStatus>> {
        self.load_timer(function)
            .await
            .map_err(|e| e.during("load_timer_status"))
    }

    async fn save_timer_status(&self, function: &str, status: &ScheduleStatus) -> StoreResult<()> {
        self.save_timer(function, status)
            .await
            .map_err(|e| e.during("save_timer_status"))
    }

    async fn lock_singleton(&self, name: &str, period: Duration) -> StoreResult<bool> {
        self.lock_singleton_blob(name, period)
            .await
            .map_err(|e| e.during("lock_singleton"))
    }

    async fn release_singleton(&self, name: &str) -> StoreResult<()> {
        self.release_singleton_blob(name)
            .await
            .map_err(|e| e.during("release_singleton"))
    }
}
