//! Episodes of orchestrators whose code runs in a worker outside the process (a Durable Task
//! SDK connected over the protocol): the engine keeps the history, the worker decides.
//!
//! An episode is cut in two around the call to the worker. [`Execution::begin_remote_episode`]
//! applies the new messages as for code that runs here (duplicates and messages for another
//! execution dropped, a termination ending the instance) and returns the events they add to
//! history: what the worker is sent as new events, after the stored history as past events.
//! [`Execution::finish_remote_episode`] takes the worker's [`Decision`] and makes the same
//! history events, messages and status an episode of Rust code makes.
//!
//! The execution must be built with [`Environment::remote`](crate::environment::Environment::remote):
//! history's scheduling events then open the slots their completions fill, so that a
//! duplicate completion is dropped here as it is for Rust code.

use chrono::{DateTime, Utc};

use super::{EpisodeOutput, Execution, Outcome};
use crate::history::HistoryEvent;
use crate::message::TaskMessage;
pub use crate::state::Action;

/// What a worker decided in one episode.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// New actions with the ids the worker gave them (its sequence numbers).
    pub actions: Vec<(i32, Action)>,
    /// How the orchestration ended, if it did in this episode.
    pub end: Option<Outcome>,
    /// Events to carry to the next generation (`end` is a continue-as-new), by name and input.
    pub carried: Vec<(String, Option<String>)>,
    /// The version of the next generation (`end` is a continue-as-new); `None` keeps the
    /// instance's.
    pub new_version: Option<String>,
    /// The custom status after the episode.
    pub custom_status: Option<String>,
}

impl Execution {
    /// The first half of a remote episode: applies `messages`; returns the events they add to
    /// history, `OrchestratorStarted` first.
    pub fn begin_remote_episode(
        &mut self,
        now: DateTime<Utc>,
        messages: Vec<TaskMessage>,
    ) -> Vec<HistoryEvent> {
        self.begin_episode(now, messages)
    }

    /// Whether the worker must be asked: false when the messages ended the execution (a
    /// termination) or it had ended before.
    pub fn needs_decision(&self) -> bool {
        self.outcome.is_none()
    }

    /// The second half: the worker's `decision` after the events `recorded` by
    /// [`begin_remote_episode`](Self::begin_remote_episode).
    pub fn finish_remote_episode(
        &mut self,
        now: DateTime<Utc>,
        recorded: Vec<HistoryEvent>,
        decision: Decision,
    ) -> EpisodeOutput {
        {
            let mut st = self.ctx.state.lock();
            for (id, action) in decision.actions {
                st.push_action_at(id, action);
            }
            st.custom_status = decision.custom_status;
        }
        if self.outcome.is_none() {
            if let Some(end) = decision.end {
                self.code_ended(end);
            }
        }
        self.finish_episode(now, recorded)
    }
}
