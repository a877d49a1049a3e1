//! The end of an episode: the new actions become history events and outbound messages, an
//! outcome becomes the completion event (and the notice to a parent), and the episode's
//! output is assembled.

use chrono::{DateTime, Utc};

use super::outbound::{action_to_event, notify_parent};
use super::{EpisodeOutput, Execution, Outcome};
use crate::history::{EventKind, HistoryEvent, OrchestrationInstance, OrchestrationStatus};

impl Execution {
    /// Turns new actions and the outcome into history events and messages.
    pub(super) fn finish_episode(
        &mut self,
        now: DateTime<Utc>,
        mut events: Vec<HistoryEvent>,
    ) -> EpisodeOutput {
        let mut messages = Vec::new();
        let mut st = self.ctx.state.lock();
        let me = OrchestrationInstance {
            instance_id: st.instance_id.clone(),
            execution_id: Some(st.execution_id.clone()),
        };
        let discard_actions =
            matches!(self.outcome, Some(Outcome::Terminated(_))) || self.completion_recorded;
        // A termination drops the orchestrator's future, so its entity lock guards release
        // their entities: those releases are the only actions a terminated execution sends.
        let terminated_now =
            matches!(self.outcome, Some(Outcome::Terminated(_))) && !self.completion_recorded;
        let actions = std::mem::take(&mut st.pending_actions);
        for (id, action) in actions {
            if discard_actions && !(terminated_now && crate::entity::is_lock_release(&action)) {
                continue;
            }
            let (mut event, mut outbound) = action_to_event(id, action, &me, &st, now, &self.env);
            self.trace.new_action(&mut event, &mut outbound, &self.env);
            events.push(event);
            messages.push(outbound);
        }
        let (status, output, failure_details) = match &self.outcome {
            None if self.suspended => (OrchestrationStatus::Suspended, None, None),
            None => (OrchestrationStatus::Running, None, None),
            Some(Outcome::Completed(r)) => (OrchestrationStatus::Completed, r.clone(), None),
            Some(Outcome::Failed(f)) => (
                OrchestrationStatus::Failed,
                Some(f.to_string()),
                Some(f.clone()),
            ),
            Some(Outcome::Terminated(r)) => (OrchestrationStatus::Terminated, r.clone(), None),
            Some(Outcome::ContinuedAsNew(i)) => {
                (OrchestrationStatus::ContinuedAsNew, i.clone(), None)
            }
        };
        if let (Some(outcome), false) = (&self.outcome, self.completion_recorded) {
            let kind = match outcome {
                Outcome::ContinuedAsNew(input) => EventKind::ContinueAsNew {
                    result: input.clone(),
                    failure_details: None,
                },
                _ => EventKind::ExecutionCompleted {
                    status,
                    result: output.clone(),
                    failure_details: failure_details.clone(),
                },
            };
            let id = st.next_action_id;
            events.push(HistoryEvent::with_id(id, now, kind));
            let error = failure_details.as_ref().map(|f| f.error_message.clone());
            self.trace.ended(status, error, now);
            if let (Some(parent), false) =
                (&st.parent, status == OrchestrationStatus::ContinuedAsNew)
            {
                messages.push(notify_parent(parent, outcome, now));
            }
        }
        events.push(HistoryEvent::new(now, EventKind::OrchestratorCompleted));
        self.history_len += events.len() as u64;
        self.history_bytes += events
            .iter()
            .map(HistoryEvent::payload_bytes)
            .sum::<usize>();
        EpisodeOutput {
            new_events: events,
            new_execution: false,
            messages,
            status,
            output,
            failure_details,
            custom_status: st.custom_status.clone(),
            spans: self.trace.take(),
        }
    }
}
