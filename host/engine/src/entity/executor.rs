//! The entity batch executor: a pure function of (scheduler state, new messages, time,
//! options) -> (new scheduler state, outbound messages). The queued operations of an entity
//! run in one batch (up to the size cap), committed at once.

use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};

use super::context::{EntityContext, EntityFn};
use super::id::EntityId;
use super::messages::{
    ReleaseMessage, RequestMessage, ResponseMessage, CONTINUE, LOCK_GRANTED, OP, RELEASE,
};
use super::options::EntityOptions;
use super::scheduler::SchedulerState;
use super::sorter::Received;
use crate::environment::IdSource;
use crate::history::{EventKind, FailureDetails, HistoryEvent, OrchestrationInstance};
use crate::message::TaskMessage;
use crate::replay::Outbound;

/// What one batch produced.
#[derive(Debug, Clone)]
pub struct BatchOutput {
    /// The state to store.
    pub state: SchedulerState,
    /// Responses, forwarded lock requests and signals.
    pub messages: Vec<Outbound>,
    /// Operations run (lock requests included).
    pub operations: usize,
    /// Requests dropped as duplicates of requests already received.
    pub duplicates: usize,
    /// The batch stopped at the size cap (a `continue` resumes the rest).
    pub capped: bool,
}

/// Runs a batch at `now`: sorts the new requests per sender (duplicates are
/// dropped, early ones held back), applies releases, then processes the runnable requests in
/// order (while locked, only the holder's), at most `options.max_operation_batch_size` of
/// them; when more are runnable the entity sends itself `continue` and marks itself
/// suspended, and the next batch goes on where this one stopped.
///
/// `function` is `None` when no entity of this name is registered: calls then fail with
/// `EntityFunctionNotFound`, signals are dropped, locks still work.
pub fn run_batch(
    id: &EntityId,
    mut state: SchedulerState,
    events: impl IntoIterator<Item = HistoryEvent>,
    function: Option<&EntityFn>,
    now: DateTime<Utc>,
    options: &EntityOptions,
    ids: &dyn IdSource,
) -> BatchOutput {
    let window = options.reorder_window;
    let mut messages = Vec::new();
    let mut delivered = Vec::new();
    let mut duplicates = 0;
    let mut continued = false;
    let mut buffered_now = false;
    for event in events {
        let EventKind::EventRaised { name, input, .. } = event.kind else {
            continue; // entities have no other events
        };
        let payload = input.as_deref().unwrap_or("null");
        if name == OP || name.starts_with("op@") {
            match serde_json::from_str::<RequestMessage>(payload) {
                Ok(request) => match state.sorter.receive(request, now, window, &mut delivered) {
                    Received::Delivered => {}
                    Received::Buffered => buffered_now = true,
                    Received::Duplicate => {
                        duplicates += 1;
                        tracing::debug!(entity = %id, "dropping a duplicate entity request");
                    }
                },
                Err(e) => {
                    tracing::warn!(entity = %id, error = %e, "dropping an unreadable entity request")
                }
            }
            state.queue.append(&mut delivered);
        } else if name == RELEASE {
            match serde_json::from_str::<ReleaseMessage>(payload) {
                Ok(release) if state.locked_by.as_deref() == Some(release.parent.as_str()) => {
                    state.locked_by = None;
                }
                Ok(release) => {
                    // A lock request its holder gave up before it ran never takes the lock.
                    state.queue.retain(|r| {
                        !(r.is_lock_request()
                            && r.id == release.id
                            && r.parent.as_deref() == Some(release.parent.as_str()))
                    });
                }
                Err(e) => {
                    tracing::warn!(entity = %id, error = %e, "dropping an unreadable release")
                }
            }
        } else if name == CONTINUE {
            continued = true;
        } else {
            tracing::debug!(entity = %id, event = %name, "ignoring an event an entity does not handle");
        }
    }
    state.sorter.flush_expired(now, window, &mut delivered);
    state.queue.append(&mut delivered);
    if buffered_now {
        // Wakes the entity when the window has passed, should the missing request never come.
        messages.push(delayed_continue(id, now, window));
    }
    let max = options.max_operation_batch_size.max(1);
    let mut operations = 0;
    while operations < max {
        let Some(request) = next_runnable(&mut state) else {
            break;
        };
        operations += 1;
        if request.is_lock_request() {
            lock_step(&mut state, request, now, &mut messages);
        } else {
            run_operation(
                id,
                &mut state,
                request,
                function,
                &Stamp { now, window, ids },
                &mut messages,
            );
        }
    }
    let capped = runnable_index(&state).is_some();
    if capped && (!state.suspended || continued) {
        messages.push(raise(&id.scheduler_id(), CONTINUE, None, now));
    }
    state.suspended = capped;
    BatchOutput {
        state,
        messages,
        operations,
        duplicates,
        capped,
    }
}

/// A `continue` to the entity itself, visible once `window` has passed.
fn delayed_continue(id: &EntityId, now: DateTime<Utc>, window: std::time::Duration) -> Outbound {
    let mut message = raise(&id.scheduler_id(), CONTINUE, None, now);
    if let Outbound::Orchestration { visible_at, .. } = &mut message {
        *visible_at = chrono::Duration::from_std(window)
            .ok()
            .and_then(|w| now.checked_add_signed(w));
    }
    message
}

/// The index of the first request that may run: any when unlocked, else the holder's first.
fn runnable_index(state: &SchedulerState) -> Option<usize> {
    match &state.locked_by {
        None => (!state.queue.is_empty()).then_some(0),
        Some(holder) => state
            .queue
            .iter()
            .position(|r| r.parent.as_deref() == Some(holder.as_str())),
    }
}

/// Takes the first request that may run.
fn next_runnable(state: &mut SchedulerState) -> Option<RequestMessage> {
    let index = runnable_index(state)?;
    Some(state.queue.remove(index))
}

/// Takes the lock for the requester and forwards the request to the next entity of the
/// lock set, or grants the lock when this is the last one.
fn lock_step(
    state: &mut SchedulerState,
    mut request: RequestMessage,
    now: DateTime<Utc>,
    out: &mut Vec<Outbound>,
) {
    let Some(parent) = request.parent.clone() else {
        return; // a lock request must come from an orchestration
    };
    state.locked_by = Some(parent.clone());
    request.pos += 1;
    let next = request
        .lockset
        .as_ref()
        .and_then(|set| set.get(request.pos))
        .cloned();
    match next {
        Some(next) => {
            let json = serde_json::to_string(&request).unwrap_or_default();
            out.push(raise(&next.scheduler_id(), OP, Some(json), now));
        }
        None => {
            let response = ResponseMessage::ok(Some(LOCK_GRANTED.to_string()));
            out.push(respond(&parent, &request.id, &response, now));
        }
    }
}

/// What the messages an operation sends are stamped with: the batch's time, the reorder
/// window of their labels, and where their request ids come from.
#[derive(Clone, Copy)]
struct Stamp<'a> {
    now: DateTime<Utc>,
    window: std::time::Duration,
    ids: &'a dyn IdSource,
}

/// Runs one operation; its state change and signals take effect only if it succeeds.
fn run_operation(
    id: &EntityId,
    state: &mut SchedulerState,
    request: RequestMessage,
    function: Option<&EntityFn>,
    stamp: &Stamp<'_>,
    out: &mut Vec<Outbound>,
) {
    let Stamp { now, window, ids } = *stamp;
    let op = request.op.clone().unwrap_or_default();
    let outcome = match function {
        None => Err(FailureDetails::new(
            "EntityFunctionNotFound",
            format!("no entity named {:?} is registered on this host", id.name),
        )),
        Some(f) => {
            let mut ctx =
                EntityContext::new(id.clone(), &op, request.input.clone(), state.state.clone());
            match std::panic::catch_unwind(AssertUnwindSafe(|| f(&mut ctx))) {
                Ok(Ok(())) => Ok(ctx),
                Ok(Err(failure)) => Err(failure.0),
                Err(panic) => Err(FailureDetails::new(
                    "Panic",
                    format!("entity operation {op:?} panicked: {}", panic_text(&panic)),
                )),
            }
        }
    };
    let response = match outcome {
        Ok(ctx) => {
            state.state = ctx.state;
            state.exists = state.state.is_some();
            for s in ctx.signals {
                let mut request = RequestMessage::operation(
                    ids.new_id().to_string(),
                    &s.operation,
                    s.input,
                    true,
                    now,
                );
                // The entity is the sender: its signals are ordered like an orchestration's.
                let target = s.target.scheduler_id();
                request.parent = Some(id.scheduler_id());
                state
                    .sorter
                    .label_outgoing(&mut request, &target, now, window);
                let json = serde_json::to_string(&request).unwrap_or_default();
                out.push(raise(&target, OP, Some(json), now));
            }
            ResponseMessage::ok(ctx.result)
        }
        Err(details) => {
            tracing::warn!(entity = %id, operation = %op, error = %details, "entity operation failed");
            ResponseMessage::failed(details)
        }
    };
    if let (false, Some(parent)) = (request.signal, &request.parent) {
        out.push(respond(parent, &request.id, &response, now));
    }
}

fn respond(
    parent: &str,
    request_id: &str,
    response: &ResponseMessage,
    now: DateTime<Utc>,
) -> Outbound {
    raise(
        parent,
        request_id,
        serde_json::to_string(response).ok(),
        now,
    )
}

/// An `EventRaised` to the current execution of an instance.
fn raise(instance_id: &str, name: &str, input: Option<String>, now: DateTime<Utc>) -> Outbound {
    Outbound::Orchestration {
        message: TaskMessage::new(
            OrchestrationInstance {
                instance_id: instance_id.to_string(),
                execution_id: None,
            },
            HistoryEvent::new(
                now,
                EventKind::EventRaised {
                    name: name.to_string(),
                    input,
                    parent_trace_context: None,
                },
            ),
        ),
        visible_at: None,
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
