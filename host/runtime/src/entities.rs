//! The entity executor of the orchestration dispatcher: work items of `@name@key` instances
//! run as one batch of operations, and the batch commits the new scheduler state as the
//! instance row's input (no history grows), acks the messages and sends the responses.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::execution_log;
use super::Shared;
use durable_engine::entity::executor::run_batch;
use durable_engine::entity::{EntityId, SchedulerState};
use durable_engine::history::OrchestrationStatus;
use durable_engine::replay::Outbound;
use durable_store::clock;
use durable_store::{
    HistoryUpdate, InstanceState, OrchestrationCommit, OrchestrationWorkItem, OrchestratorMessage,
    StoreError,
};

/// Runs one entity work item to its commit.
pub(super) async fn process(shared: &Arc<Shared>, item: OrchestrationWorkItem) {
    let id = match EntityId::from_scheduler_id(&item.instance_id) {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(instance_id = %item.instance_id, error = %e, "dropping messages for a malformed entity id");
            return commit(shared, &item, None, Vec::new()).await;
        }
    };
    let stored = item.instance.as_ref();
    let state = match SchedulerState::from_input(stored.and_then(|i| i.input.as_deref())) {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(entity = %id, error = %e, "unreadable entity state; the batch is retried later");
            let _ = shared
                .store
                .abandon_orchestration(&item, Duration::from_secs(5))
                .await;
            return;
        }
    };
    let function = shared.registry.entity(&id.name);
    let events: Vec<_> = item
        .messages
        .iter()
        .map(|m| m.message.event.clone())
        .collect();
    let now = clock::now();
    let env = &shared.env;
    let span = execution_log::span("entity", &id.name, &item.instance_id);
    let started = std::time::Instant::now();
    let remote = match &function {
        Some(_) => None,
        None => crate::remote_work::entity_workers(shared, &id.name),
    };
    let out = match remote {
        Some(workers) => {
            let ran =
                crate::remote_work::entity_batch(shared, &item, &workers, &id, state, events, now)
                    .instrument(span.clone())
                    .await;
            match ran {
                Some(out) => out,
                None => return,
            }
        }
        None => {
            let _entered = span.enter();
            tracing::debug!(messages = item.messages.len(), "executing");
            run_batch(
                &id,
                state,
                events,
                function.as_ref(),
                now,
                &env.entities,
                &*env.ids,
            )
        }
    };
    let entered = span.enter();
    shared.metrics.entity_operations(&id.name, out.operations);
    tracing::debug!(
        operations = out.operations,
        duration_ms = execution_log::millis(started.elapsed()),
        "executed"
    );
    drop(entered);
    if out.duplicates > 0 {
        tracing::info!(entity = %id, duplicates = out.duplicates, "dropped duplicate entity requests");
    }
    let row = InstanceState {
        instance_id: item.instance_id.clone(),
        execution_id: stored.map_or_else(|| env.new_execution_id(), |i| i.execution_id.clone()),
        name: item.instance_id.clone(),
        version: None,
        status: OrchestrationStatus::Running,
        input: out.state.to_input(),
        output: None,
        custom_status: serde_json::to_string(&out.state.status()).ok(),
        failure_details: None,
        parent_instance_id: None,
        created_at: stored.map_or(now, |i| i.created_at),
        last_updated_at: now,
        completed_at: None,
        history_len: 0,
        tags: Default::default(),
    };
    let messages = out
        .messages
        .into_iter()
        .filter_map(|m| match m {
            Outbound::Orchestration {
                message,
                visible_at,
            } => Some(OrchestratorMessage {
                message,
                visible_at,
            }),
            Outbound::Activity(_) => None,
        })
        .collect();
    commit(shared, &item, Some(row), messages).await;
}

async fn commit(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    instance: Option<InstanceState>,
    orchestrator_messages: Vec<OrchestratorMessage>,
) {
    let commit = OrchestrationCommit {
        history: HistoryUpdate::Append(Vec::new()),
        instance,
        orchestrator_messages,
        activity_messages: Vec::new(),
    };
    match shared.store.complete_orchestration(item, commit).await {
        Ok(()) => {
            shared.stats.episodes.fetch_add(1, Ordering::Relaxed);
        }
        Err(StoreError::LockLost(_)) => {
            tracing::warn!(instance_id = %item.instance_id, "lock lost before commit; another worker owns the entity");
        }
        Err(e) => {
            tracing::error!(instance_id = %item.instance_id, error = %e, retryable = e.is_retryable(), "entity commit failed; the batch will be retried");
            super::release::orchestration(shared, item, &e).await;
        }
    }
}
