//! The spans of one orchestration execution: its own, and those of the activity calls,
//! sub-orchestration calls, timers and events it sends.
//!
//! Span ids are stamped into new events as they are made, read back from history on replay,
//! and a span is reported only when the event that ends it is applied live, so each one is
//! reported once (see the module doc of [`crate::trace`]).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

use super::context::{SpanContext, SpanId};
use super::span::{span_id_from, trace_id_from, SpanKind, SpanRecord};
use super::{EVENT_INSTANCE_ID, EVENT_NAME, EXECUTION_ID, FIRE_AT, INSTANCE_ID, STATUS};
use super::{TASK_ID, TASK_NAME, TASK_VERSION, TYPE};
use crate::environment::Environment;
use crate::history::{
    EventKind, ExecutionStarted, HistoryEvent, OrchestrationStatus, TraceContext,
};
use crate::replay::Outbound;

/// Links kept on an orchestration's span (one per event received, up to this many).
const MAX_LINKS: usize = 32;

/// What an execution scheduled and has not seen the end of.
enum Scheduled {
    Activity {
        name: String,
        span: SpanId,
    },
    SubOrchestration {
        name: String,
        instance_id: String,
        span: SpanId,
    },
    Timer {
        fire_at: DateTime<Utc>,
    },
}

/// The tracing state of one execution. With tracing off (the environment's `traces`) or for
/// an execution started without a span, every method does nothing.
#[derive(Default)]
pub(crate) struct OrchestrationTrace {
    on: bool,
    /// The execution's own span.
    span: Option<SpanContext>,
    /// Its parent (the client's `create_orchestration` span, or a parent's call).
    parent: Option<SpanId>,
    started: Option<DateTime<Utc>>,
    name: Arc<str>,
    version: Option<String>,
    instance_id: Arc<str>,
    execution_id: Arc<str>,
    /// Scheduled, by task id, with when.
    pending: HashMap<i32, (DateTime<Utc>, Scheduled)>,
    links: Vec<SpanContext>,
    finished: Vec<SpanRecord>,
}

impl OrchestrationTrace {
    /// The tracing state of a new execution; `on` stamps and reports spans.
    pub fn new(on: bool) -> Self {
        Self {
            on,
            ..Self::default()
        }
    }

    /// Gives a new execution its span: writes its ids and start time into `started`'s trace
    /// context (keeping the parent it names), unless they are there already.
    pub fn stamp_start(
        &self,
        started: &mut ExecutionStarted,
        now: DateTime<Utc>,
        env: &Environment,
    ) {
        if !self.on {
            return;
        }
        let tc = started
            .parent_trace_context
            .get_or_insert_with(TraceContext::default);
        if tc.id.is_some() && tc.span_id.is_some() {
            return;
        }
        let span_id = span_id_from(env.ids.new_id().as_u128());
        let parent = SpanContext::from_history(Some(tc));
        let own = match &parent {
            Some(parent) => parent.child(span_id),
            None => SpanContext::new(trace_id_from(env.ids.new_id().as_u128()), span_id),
        };
        if !env.sampler.samples(own.trace_id, parent.as_ref()) {
            // Sampled out: nothing of it is written into history, nothing is reported.
            if tc.trace_parent.is_none() && tc.trace_state.is_none() {
                started.parent_trace_context = None;
            }
            return;
        }
        tc.id = Some(own.traceparent());
        tc.span_id = Some(span_id.to_string());
        tc.activity_start_time = Some(now.to_rfc3339_opts(SecondsFormat::Micros, true));
    }

    /// Reads the execution's span from its `ExecutionStarted` (new or replayed) recorded at
    /// `at`.
    pub fn started(&mut self, started: &ExecutionStarted, at: DateTime<Utc>) {
        if !self.on {
            return;
        }
        let tc = started.parent_trace_context.as_ref();
        self.span = SpanContext::of_execution(started);
        self.parent = SpanContext::from_history(tc).map(|p| p.span_id);
        self.started = Some(
            tc.and_then(|tc| tc.activity_start_time.as_deref())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map_or(at, |t| t.with_timezone(&Utc)),
        );
        self.name = started.name.as_str().into();
        self.version = started.version.clone();
        self.instance_id = started.orchestration_instance.instance_id.as_str().into();
        self.execution_id = started
            .orchestration_instance
            .execution_id
            .as_deref()
            .unwrap_or_default()
            .into();
    }

    /// The execution's own span, when it has one (tracing on, started with one).
    pub fn context(&self) -> Option<&SpanContext> {
        self.span.as_ref()
    }

    /// Whether this execution has a span (tracing on, started with one).
    pub fn active(&self) -> bool {
        self.span.is_some()
    }

    /// Notes a scheduling event (new or replayed): its span ends with its completion.
    pub fn scheduled(&mut self, event: &HistoryEvent) {
        if self.span.is_none() {
            return;
        }
        let what = match &event.kind {
            EventKind::TaskScheduled {
                name,
                parent_trace_context,
                ..
            } => match SpanContext::from_history(parent_trace_context.as_ref()) {
                Some(c) => Scheduled::Activity {
                    name: name.clone(),
                    span: c.span_id,
                },
                None => return,
            },
            EventKind::SubOrchestrationInstanceCreated {
                name,
                instance_id,
                client_span_id,
                ..
            } => match client_span_id.as_deref().and_then(SpanId::parse) {
                Some(span) => Scheduled::SubOrchestration {
                    name: name.clone(),
                    instance_id: instance_id.clone(),
                    span,
                },
                None => return,
            },
            EventKind::TimerCreated { fire_at } => Scheduled::Timer { fire_at: *fire_at },
            _ => return,
        };
        self.pending.insert(event.event_id, (event.timestamp, what));
    }

    /// Stamps a new action's event and message with the span of the call (activities and
    /// sub-orchestrations: their parent; a sent event: the link to the send), and notes it.
    pub fn new_action(
        &mut self,
        event: &mut HistoryEvent,
        outbound: &mut Outbound,
        env: &Environment,
    ) {
        let Some(own) = &self.span else {
            return;
        };
        let call = own.child(span_id_from(env.ids.new_id().as_u128()));
        let what = match (&mut event.kind, outbound) {
            (
                EventKind::TaskScheduled {
                    name,
                    parent_trace_context,
                    ..
                },
                Outbound::Activity(message),
            ) => {
                let context = call.to_history();
                if let EventKind::TaskScheduled {
                    parent_trace_context,
                    ..
                } = &mut message.event.kind
                {
                    *parent_trace_context = Some(context.clone());
                }
                *parent_trace_context = Some(context);
                Scheduled::Activity {
                    name: name.clone(),
                    span: call.span_id,
                }
            }
            (
                EventKind::SubOrchestrationInstanceCreated {
                    name,
                    instance_id,
                    client_span_id,
                    ..
                },
                Outbound::Orchestration { message, .. },
            ) => {
                *client_span_id = Some(call.span_id.to_string());
                if let EventKind::ExecutionStarted(start) = &mut message.event.kind {
                    start.parent_trace_context = Some(call.to_history());
                }
                Scheduled::SubOrchestration {
                    name: name.clone(),
                    instance_id: instance_id.clone(),
                    span: call.span_id,
                }
            }
            (
                EventKind::EventSent {
                    instance_id, name, ..
                },
                Outbound::Orchestration { message, .. },
            ) => {
                if let EventKind::EventRaised {
                    parent_trace_context,
                    ..
                } = &mut message.event.kind
                {
                    *parent_trace_context = Some(call.to_history());
                }
                let span = SpanRecord::new(
                    ["orchestration_event:", name].concat(),
                    SpanKind::Producer,
                    call,
                    Some(own.span_id),
                    event.timestamp,
                    event.timestamp,
                )
                .attr(TYPE, "event")
                .attr(EVENT_NAME, name.clone())
                .attr(EVENT_INSTANCE_ID, instance_id.clone())
                .attr(INSTANCE_ID, Arc::clone(&self.instance_id))
                .attr(EXECUTION_ID, Arc::clone(&self.execution_id));
                self.finished.push(span);
                return;
            }
            (EventKind::TimerCreated { fire_at }, _) => Scheduled::Timer { fire_at: *fire_at },
            _ => return,
        };
        self.pending.insert(event.event_id, (event.timestamp, what));
    }

    /// An event raised on this execution: the span of its send becomes a link.
    pub fn event_raised(&mut self, context: Option<&TraceContext>) {
        if self.span.is_none() || self.links.len() >= MAX_LINKS {
            return;
        }
        if let Some(c) = SpanContext::from_history(context) {
            self.links.push(c);
        }
    }

    /// The completion of task `id` was applied at `now` (`error`: its failure). Applied live
    /// (not `replaying`), it ends the span of the call.
    pub fn completed(
        &mut self,
        event: &HistoryEvent,
        id: i32,
        error: Option<String>,
        now: DateTime<Utc>,
        replaying: bool,
    ) {
        let Some((at, what)) = self.pending.remove(&id) else {
            return;
        };
        let Some(own) = self.span.as_ref().filter(|_| !replaying) else {
            return;
        };
        let mut span = match what {
            Scheduled::Activity { name, span } => SpanRecord::new(
                ["activity:", &name].concat(),
                SpanKind::Client,
                own.child(span),
                Some(own.span_id),
                at,
                event.timestamp,
            )
            .attr(TYPE, "activity")
            .attr(TASK_NAME, name)
            .attr(INSTANCE_ID, Arc::clone(&self.instance_id)),
            Scheduled::SubOrchestration {
                name,
                instance_id,
                span,
            } => SpanRecord::new(
                ["orchestration:", &name].concat(),
                SpanKind::Client,
                own.child(span),
                Some(own.span_id),
                at,
                event.timestamp,
            )
            .attr(TYPE, "orchestration")
            .attr(TASK_NAME, name)
            .attr(INSTANCE_ID, instance_id),
            Scheduled::Timer { fire_at } => SpanRecord::new(
                ["orchestration:", &self.name, ":timer"].concat(),
                SpanKind::Internal,
                own.child(span_id_for_timer(own, id)),
                Some(own.span_id),
                at,
                now,
            )
            .attr(TYPE, "timer")
            .attr(
                FIRE_AT,
                fire_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            )
            .attr(INSTANCE_ID, Arc::clone(&self.instance_id)),
        }
        .attr(TASK_ID, i64::from(id));
        span.error = error;
        self.finished.push(span);
    }

    /// The execution ended at `now` with `status` (`error`: its failure): its own span.
    pub fn ended(
        &mut self,
        status: OrchestrationStatus,
        error: Option<String>,
        now: DateTime<Utc>,
    ) {
        let Some(own) = &self.span else {
            return;
        };
        let mut span = SpanRecord::new(
            ["orchestration:", &self.name].concat(),
            SpanKind::Server,
            own.clone(),
            self.parent,
            self.started.unwrap_or(now),
            now,
        )
        .attr(TYPE, "orchestration")
        .attr(TASK_NAME, Arc::clone(&self.name))
        .attr(INSTANCE_ID, Arc::clone(&self.instance_id))
        .attr(EXECUTION_ID, Arc::clone(&self.execution_id))
        .attr(STATUS, status.name());
        if let Some(v) = &self.version {
            span = span.attr(TASK_VERSION, v.clone());
        }
        span.error = error;
        span.links = std::mem::take(&mut self.links);
        self.finished.push(span);
    }

    /// The spans finished since the last call.
    pub fn take(&mut self) -> Vec<SpanRecord> {
        std::mem::take(&mut self.finished)
    }
}

/// A timer's span id: nothing in history holds one, so it is derived from the execution's
/// span and the timer's task id (the same on every host, though reported once).
fn span_id_for_timer(own: &SpanContext, id: i32) -> SpanId {
    let base = u64::from_be_bytes(own.span_id.0);
    let mixed =
        base.rotate_left(17) ^ (u64::from(id as u32) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    SpanId(mixed.max(1).to_be_bytes())
}
