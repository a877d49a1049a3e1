//! Durable futures: they resolve only when the engine applies their completion event.
//!
//! Each future parks its waker in its slot in the shared `State`, so
//! they compose with any combinator (`join`, `select`, `FuturesUnordered`, ...). Dropping an
//! unfinished future cancels the wait.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;

use super::context::OrchestrationContext;
use super::failure::TaskError;
use super::state::{ActionKind, TaskOutcome};

fn decode_result<T: DeserializeOwned>(name: &str, json: Option<&str>) -> Result<T, TaskError> {
    crate::function::from_json(json.unwrap_or("null")).map_err(|e| TaskError::Deserialize {
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// An activity or sub-orchestration call.
#[must_use = "durable tasks do nothing unless awaited"]
pub struct DurableTask<T> {
    ctx: OrchestrationContext,
    id: i32,
    name: String,
    kind: ActionKind,
    immediate: Option<TaskError>,
    done: bool,
    _out: PhantomData<fn() -> T>,
}

impl<T> DurableTask<T> {
    pub(crate) fn new(ctx: OrchestrationContext, id: i32, name: &str, kind: ActionKind) -> Self {
        Self {
            ctx,
            id,
            name: name.to_string(),
            kind,
            immediate: None,
            done: false,
            _out: PhantomData,
        }
    }

    /// A call that failed before it was scheduled (its input did not serialize).
    pub(crate) fn failed(ctx: OrchestrationContext, name: &str, e: serde_json::Error) -> Self {
        let mut t = Self::new(ctx, -1, name, ActionKind::Task);
        t.immediate = Some(TaskError::Deserialize {
            name: name.to_string(),
            message: format!("input does not serialize: {e}"),
        });
        t
    }

    /// The action id of the call.
    pub fn id(&self) -> i32 {
        self.id
    }
}

impl<T: DeserializeOwned> Future for DurableTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(e) = this.immediate.take() {
            this.done = true;
            return Poll::Ready(Err(e));
        }
        assert!(
            !this.done,
            "durable task {} polled after completion",
            this.name
        );
        let mut st = this.ctx.state.lock();
        let slot = st
            .tasks
            .get_mut(&this.id)
            .expect("durable task without a slot");
        match slot.outcome.take() {
            Some(outcome) => {
                this.done = true;
                drop(st);
                Poll::Ready(match outcome {
                    TaskOutcome::Completed(json) => decode_result(&this.name, json.as_deref()),
                    TaskOutcome::Failed(details)
                        if details.error_type == crate::failure::ACTIVITY_TIMEOUT =>
                    {
                        Err(TaskError::TimedOut(format!(
                            "activity {:?}: {}",
                            this.name, details.error_message
                        )))
                    }
                    TaskOutcome::Failed(details) => Err(TaskError::Failed {
                        name: this.name.clone(),
                        details: Box::new(details),
                    }),
                })
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for DurableTask<T> {
    fn drop(&mut self) {
        if !self.done && self.immediate.is_none() {
            if let Some(slot) = self.ctx.state.lock().tasks.get_mut(&self.id) {
                slot.dropped = true;
                slot.waker = None;
            }
        }
        let _ = self.kind;
    }
}

/// A durable timer; completes with `()` when it fires. Dropping it cancels it.
#[must_use = "timers do nothing unless awaited"]
pub struct Timer {
    inner: DurableTask<()>,
}

impl Timer {
    pub(crate) fn new(ctx: OrchestrationContext, id: i32) -> Self {
        Self {
            inner: DurableTask::new(ctx, id, "timer", ActionKind::Timer),
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.inner).poll(cx).map(|_| ())
    }
}

/// A wait for an external event, yielding its payload.
#[must_use = "event waits do nothing unless awaited"]
pub struct ExternalEvent<T> {
    ctx: OrchestrationContext,
    waiter: u64,
    name: String,
    done: bool,
    _out: PhantomData<fn() -> T>,
}

impl<T> ExternalEvent<T> {
    pub(crate) fn new(ctx: OrchestrationContext, waiter: u64, name: &str) -> Self {
        Self {
            ctx,
            waiter,
            name: name.to_string(),
            done: false,
            _out: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Future for ExternalEvent<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.done,
            "event wait {} polled after completion",
            this.name
        );
        let mut st = this.ctx.state.lock();
        let w = st
            .waiters
            .get_mut(&this.waiter)
            .expect("event wait without a slot");
        match w.payload.take() {
            Some(payload) => {
                st.waiters.remove(&this.waiter);
                this.done = true;
                drop(st);
                Poll::Ready(decode_result(
                    &format!("external event {:?}", this.name),
                    payload.as_deref(),
                ))
            }
            None => {
                w.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for ExternalEvent<T> {
    fn drop(&mut self) {
        if !self.done {
            self.ctx.state.lock().remove_waiter(self.waiter);
        }
    }
}

/// Awaits all tasks; results in the order given.
pub async fn when_all<F: Future>(tasks: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    futures::future::join_all(tasks).await
}

/// Awaits the first task to finish; returns its index and output. The others are dropped,
/// which cancels timers and event waits among them.
pub async fn when_any<F: Future + Unpin>(tasks: impl IntoIterator<Item = F>) -> (usize, F::Output) {
    let (out, index, _rest) = futures::future::select_all(tasks).await;
    (index, out)
}
