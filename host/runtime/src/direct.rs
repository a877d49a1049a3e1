//! An activity's answer committed together with the episode it wakes.
//!
//! The usual path costs two commits per activity: the answer is enqueued for the orchestration
//! (`complete_activity`), then the orchestration dispatcher locks it, runs the episode and
//! commits that. When the orchestration's live execution is in this host's cache and waits for
//! nothing but this activity (a chain step), the activity worker runs the episode itself and
//! the store deletes the request and commits the episode in one transaction
//! ([`DirectEpisodes`](durable_store::DirectEpisodes)), provided the store has
//! that capability and the instance is unlocked and still at the cached history length.
//! Otherwise nothing is written and the answer takes the usual path, leaving the cached
//! execution to the dispatcher. See `docs/decisions/0009-direct-activity-episodes.md`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::commits::build_commit;
use super::execution_log;
use super::Shared;
use durable_engine::message::TaskMessage;
use durable_store::clock;
use durable_store::{ActivityWorkItem, DirectCommit, EpisodeTarget};
use tokio::sync::OwnedSemaphorePermit;

/// Whether the answer was dealt with here.
pub(super) enum Direct {
    /// Committed with its episode; the episode's first activity requests came back locked,
    /// each with the slot reserved for it (the caller runs them).
    Committed {
        /// The requests, locked for this worker.
        locked: Vec<ActivityWorkItem>,
        /// Their slots (more than needed are released when dropped).
        permits: Vec<OwnedSemaphorePermit>,
    },
    /// Another worker had already completed the request; nothing was written.
    Duplicate,
    /// Complete it the usual way.
    Fallback,
}

/// Tries to commit `response` (the answer to `item`) with the episode it produces.
pub(super) async fn complete(
    shared: &Arc<Shared>,
    item: &ActivityWorkItem,
    response: &TaskMessage,
) -> Direct {
    // Asked first: a store without the capability must not cost the cached execution.
    let Some(direct) = shared.store.direct_episodes() else {
        return Direct::Fallback;
    };
    // The replay check runs in the dispatcher only.
    if shared.options.replay_check {
        return Direct::Fallback;
    }
    let target = &response.orchestration_instance;
    let Some(execution_id) = target.execution_id.as_deref() else {
        return Direct::Fallback;
    };
    let instance_id = target.instance_id.as_str();
    // Only a chain step: a fan-out's answers are cheaper batched into one episode.
    let exec = shared.cache.lock().take_if(instance_id, |ex| {
        ex.unresolved_tasks() == 1
            && ex.outcome().is_none()
            && ex.execution_id().as_deref() == Some(execution_id)
    });
    let Some(mut exec) = exec else {
        return Direct::Fallback;
    };
    let episode = EpisodeTarget {
        instance_id: instance_id.to_owned(),
        execution_id: execution_id.to_owned(),
        history_len: exec.history_len(),
    };
    let now = clock::now();
    let episode_started = std::time::Instant::now();
    let name = exec.started().map_or("", |s| s.name.as_str());
    let span = execution_log::span("orchestration", name, instance_id);
    execution_log::trace(&span, exec.trace_id());
    let mut out = span.in_scope(|| exec.run_episode(now, vec![response.clone()]));
    let spans = std::mem::take(&mut out.spans);
    if out.new_execution {
        // Continue-as-new rewrites the row; leave it to the dispatcher (which replays).
        return Direct::Fallback;
    }
    let ended = execution_log::Ended::of(
        exec.started().map_or("", |s| s.name.as_str()),
        &out,
        exec.started_at(),
        now,
    );
    let terminal = out.status.is_terminal();
    let commit = build_commit(None, &exec, out, now);
    // Cached before the commit, as in the dispatcher: the next answer must find it.
    if !terminal {
        shared.cache.lock().put(instance_id.to_owned(), exec);
    }
    let permits = super::slots::reserve(shared, commit.activity_messages.len());
    let lock = super::slots::lock_for(shared, &permits);
    let committing = std::time::Instant::now();
    let result = direct
        .complete_activity_with_episode(item, &episode, commit, lock)
        .await;
    shared.metrics.commit("direct", committing.elapsed());
    match result {
        Ok(DirectCommit::Committed(locked)) => {
            shared.stats.episodes.fetch_add(1, Ordering::Relaxed);
            shared.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            shared.stats.direct_episodes.fetch_add(1, Ordering::Relaxed);
            span.in_scope(|| ended.record(&shared.metrics, false, episode_started.elapsed()));
            shared.options.tracer.record_all(spans);
            if terminal {
                shared.completions.notify(instance_id);
            }
            Direct::Committed { locked, permits }
        }
        other => {
            // The execution ran ahead of the store: it must not be used.
            shared.cache.lock().take(instance_id);
            match other {
                Ok(DirectCommit::Duplicate) => Direct::Duplicate,
                Ok(_) => Direct::Fallback,
                Err(e) => {
                    tracing::warn!(instance_id, error = %e, "direct episode commit failed; answering through the queue");
                    Direct::Fallback
                }
            }
        }
    }
}
