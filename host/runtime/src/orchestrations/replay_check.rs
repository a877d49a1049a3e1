//! The development replay check (`RuntimeOptions::replay_check`, the host's
//! `DurableReplayCheck`, on by default in local development mode).
//!
//! The live cache means an episode usually runs on the execution kept in memory, never
//! replayed, so orchestrator code that is not deterministic (a branch on `SystemTime::now()`,
//! a random number, a map iterated in no fixed order) works in every local test and breaks
//! only after a restart or a deploy. With the check on, every episode is also run on an
//! execution rebuilt from the stored history, and the two outputs must agree; a difference
//! fails the instance at once with `NonDeterministicOrchestrationError`, naming it.

use chrono::{DateTime, Utc};

use durable_engine::environment::Environment;
use durable_engine::history::FailureDetails;
use durable_engine::message::TaskMessage;
use durable_engine::replay::check::compare_episodes;
use durable_engine::replay::{EpisodeOutput, Execution, NONDETERMINISM_ERROR};
use durable_store::OrchestrationWorkItem;

use crate::Shared;

/// Runs the episode of `item` (`messages` at `now`) again on an execution replayed from the
/// stored history; the failure to end the instance with if it disagrees with `live`.
pub(super) async fn check(
    shared: &Shared,
    item: &OrchestrationWorkItem,
    has_history: bool,
    messages: Vec<TaskMessage>,
    now: DateTime<Utc>,
    live: &EpisodeOutput,
) -> Option<FailureDetails> {
    let history = if has_history {
        match shared.store.get_history(&item.instance_id).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(instance_id = %item.instance_id, error = %e, "the replay check could not read the history; skipped");
                return None;
            }
        }
    } else {
        Vec::new()
    };
    let env = Environment {
        traces: false,
        ..shared.env.clone()
    };
    // Silent: what the code logs was logged by the live run already.
    let silent = tracing::subscriber::NoSubscriber::default();
    let difference = tracing::subscriber::with_default(silent, || {
        let mut replayed = Execution::from_history(env, &history);
        match replayed.nondeterminism() {
            Some(found) => Some(found.error_message.clone()),
            None => compare_episodes(live, &replayed.run_episode(now, messages)),
        }
    })?;
    tracing::error!(
        instance_id = %item.instance_id,
        %difference,
        "the replay check found a non-deterministic orchestrator: replayed from its history, it \
         does not do what it did live; failing the instance (DurableReplayCheck)"
    );
    Some(FailureDetails {
        is_non_retriable: true,
        ..FailureDetails::new(
            NONDETERMINISM_ERROR,
            format!(
                "non-deterministic orchestrator, found by the replay check: replayed from its \
                 history, the episode differs from the live run: {difference}. Orchestrator \
                 code must make the same calls with the same inputs on every replay: read time \
                 from ctx.current_utc_datetime(), ids from ctx.new_guid(), and anything else \
                 from an activity"
            ),
        )
    })
}
