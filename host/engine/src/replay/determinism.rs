//! Nondeterminism detection: every scheduling event in history must match the
//! call the orchestrator code makes with the same action id, by kind and name.

use super::{Execution, Outcome, NONDETERMINISM_ERROR};
use crate::history::{EventKind, FailureDetails, HistoryEvent};
use crate::state::{Action, ActionKind};

impl Execution {
    /// Matches a recorded scheduling event against the call the code made with that id.
    pub(super) fn match_action(
        &mut self,
        event: &HistoryEvent,
        kind: ActionKind,
        name: Option<&String>,
    ) {
        if self.env.remote {
            // The worker matched its own code; the event opens the slot its completion fills.
            self.ctx.state.lock().open_slot(event.event_id, kind);
            return;
        }
        if matches!(
            self.outcome,
            Some(Outcome::Failed(_) | Outcome::Terminated(_))
        ) || !self.env.run_code
        {
            return; // already ended, or no code runs; a code that returned early is checked
        }
        let id = event.event_id;
        let action = self.ctx.state.lock().pending_actions.remove(&id);
        let recorded = describe_event(event);
        let problem = match action {
            None => Some(format!(
                "history has {recorded} with EventId {id}, but on replay the orchestrator made no call with id {id}"
            )),
            Some(action) => {
                let same_name = match (&action, name) {
                    (Action::ScheduleTask { name: a, .. }, Some(b))
                    | (Action::CreateSubOrchestration { name: a, .. }, Some(b))
                    | (Action::SendEvent { name: a, .. }, Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => true,
                };
                (action.kind() != kind || !same_name).then(|| {
                    format!(
                        "history has {recorded} with EventId {id}, but on replay the orchestrator's call with id {id} is {}",
                        action.describe()
                    )
                })
            }
        };
        if let Some(message) = problem {
            let instance = self.ctx.instance_id();
            tracing::warn!(instance_id = %instance, event_id = id, "{message}");
            self.future = None;
            let failure = FailureDetails {
                is_non_retriable: true,
                ..FailureDetails::new(
                    NONDETERMINISM_ERROR,
                    format!("non-deterministic orchestrator: {message}"),
                )
            };
            self.nondeterminism.get_or_insert_with(|| failure.clone());
            self.outcome = Some(Outcome::Failed(failure));
        }
    }
}

fn describe_event(event: &HistoryEvent) -> String {
    match &event.kind {
        EventKind::TaskScheduled { name, .. } => format!("TaskScheduled {name:?}"),
        EventKind::SubOrchestrationInstanceCreated { name, .. } => {
            format!("SubOrchestrationInstanceCreated {name:?}")
        }
        EventKind::EventSent { name, .. } => format!("EventSent {name:?}"),
        other => other.event_type().name().to_string(),
    }
}
