//! Rewind: a Failed instance takes an `ExecutionRewound` message, its history is rebuilt
//! without the failure (the engine's [`rewound_history`]), and it runs on from there (same
//! execution id).

use std::sync::Arc;

use super::{commit, Shared};
use crate::commits::build_commit;
use durable_engine::history::{EventKind, OrchestrationStatus};
use durable_engine::replay::Execution;
use durable_engine::rewind::rewound_history;
use durable_store::clock;
use durable_store::{HistoryUpdate, OrchestrationWorkItem};

/// True when the work item rewinds a Failed instance.
pub(super) fn is_rewind(item: &OrchestrationWorkItem) -> bool {
    item.instance
        .as_ref()
        .is_some_and(|i| i.status == OrchestrationStatus::Failed && i.history_len > 0)
        && item
            .messages
            .iter()
            .any(|m| matches!(m.message.event.kind, EventKind::ExecutionRewound { .. }))
        && !item
            .messages
            .iter()
            .any(|m| matches!(m.message.event.kind, EventKind::ExecutionStarted(_)))
}

/// Rewinds the instance and commits the rebuilt history plus the episode's new events.
pub(super) async fn rewind(shared: &Arc<Shared>, item: OrchestrationWorkItem) {
    let history = match shared.store.get_history(&item.instance_id).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(instance_id = %item.instance_id, error = %e, retryable = e.is_retryable(), "loading history for rewind failed");
            crate::release::orchestration(shared, &item, &e).await;
            return;
        }
    };
    let kept = rewound_history(&history);
    tracing::info!(instance_id = %item.instance_id, removed = history.len() - kept.len(), "rewinding");
    shared.cache.lock().take(&item.instance_id);
    let now = clock::now();
    let messages: Vec<_> = item.messages.iter().map(|m| m.message.clone()).collect();
    let (exec, out) = match remote_workers(shared, &item) {
        // A worker runs its code: it replays the history without the failure.
        Some((workers, name, version)) => {
            let named = (name.as_str(), version.as_deref());
            let ran = crate::remote_work::episode(
                shared,
                &item,
                &workers,
                named,
                kept.clone(),
                now,
                messages,
            )
            .await;
            match ran {
                Some(ran) => ran,
                None => return,
            }
        }
        None => {
            let mut exec = Execution::from_history(shared.env.clone(), &kept);
            let out = exec.run_episode(now, messages);
            (exec, out)
        }
    };
    let cacheable = exec.started().is_some_and(|s| {
        shared
            .registry
            .orchestrator(&s.name, s.version.as_deref())
            .is_some()
    });
    let terminal = out.status.is_terminal();
    let new_generation = out.new_execution;
    let appended = out.new_events.clone();
    let mut c = build_commit(item.instance.as_ref(), &exec, out, now);
    if !new_generation {
        let mut all = kept;
        all.extend(appended);
        c.history = HistoryUpdate::NewExecution(all);
    }
    commit(shared, &item, c, (!terminal && cacheable).then_some(exec)).await;
    if terminal {
        shared.completions.notify(&item.instance_id);
    }
}

/// The workers, name and version of an instance whose orchestrator this host has no Rust
/// code for and a connected worker serves.
fn remote_workers(
    shared: &Shared,
    item: &OrchestrationWorkItem,
) -> Option<(crate::remote::Workers, String, Option<String>)> {
    let row = item.instance.as_ref()?;
    let version = row.version.as_deref();
    if shared.registry.orchestrator(&row.name, version).is_some() {
        return None;
    }
    let workers = crate::remote_work::orchestration_workers(shared, &row.name, version)?;
    Some((workers, row.name.clone(), row.version.clone()))
}
