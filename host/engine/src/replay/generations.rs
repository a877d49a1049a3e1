//! Continue-as-new: the next generation of an execution, and the output of an episode that
//! ran through generations.

use chrono::{DateTime, Utc};

use super::{EpisodeOutput, Execution, Outcome};
use crate::history::{EventKind, HistoryEvent};
use crate::message::TaskMessage;

impl Execution {
    /// After this execution continued as new: a fresh execution for the next generation and
    /// the messages that start it (its `ExecutionStarted`, then the `carried` events, by name
    /// and input). The next generation runs at `version` when given, else at this one's.
    pub fn next_generation(
        &self,
        now: DateTime<Utc>,
        carried: Vec<(String, Option<String>)>,
        version: Option<String>,
    ) -> (Execution, Vec<TaskMessage>) {
        let input = match &self.outcome {
            Some(Outcome::ContinuedAsNew(input)) => input.clone(),
            _ => None,
        };
        let next = Execution::new(self.env.clone());
        let mut started = self.started.clone().unwrap_or_default();
        started.orchestration_instance.execution_id = Some(self.env.new_execution_id());
        started.input = input;
        started.generation = Some(started.generation.unwrap_or(0) + 1);
        if version.is_some() {
            started.version = version;
        }
        if let Some(tc) = started.parent_trace_context.as_mut() {
            // the next generation is a span of its own, under the same parent
            (tc.id, tc.span_id, tc.activity_start_time) = (None, None, None);
        }
        let target = started.orchestration_instance.clone();
        let mut msgs = vec![TaskMessage::new(
            target.clone(),
            HistoryEvent::new(now, EventKind::ExecutionStarted(Box::new(started))),
        )];
        msgs.extend(carried.into_iter().map(|(name, input)| {
            TaskMessage::new(
                target.clone(),
                HistoryEvent::new(
                    now,
                    EventKind::EventRaised {
                        name,
                        input,
                        parent_trace_context: None,
                    },
                ),
            )
        }));
        (next, msgs)
    }
}

impl EpisodeOutput {
    /// This episode's output followed by `next`'s, the episode of the next generation after
    /// a continue-as-new: `next`'s history replaces this one's, the messages and spans of
    /// both are sent.
    pub fn then(mut self, mut next: EpisodeOutput) -> EpisodeOutput {
        self.messages.append(&mut next.messages);
        next.messages = self.messages;
        self.spans.append(&mut next.spans);
        next.spans = self.spans;
        next.new_execution = true;
        next
    }
}
