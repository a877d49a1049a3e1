//! One run of a blob function for one blob version, the same on every store: the execution
//! span and log lines, a claim renewed while the function runs, and a panic turned into a
//! failure.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use tracing::Instrument;

use crate::app::{BlobFunction, BlobInput, FunctionContext};
use crate::triggers::panics::panic_failure;
use durable_engine::failure::Failure;

/// Runs `function` on `input`, calling `renew` every `renew_every` while it runs; returns what
/// the function returned (a panic is a failure).
pub(crate) async fn run_blob_function<R, F>(
    name: &str,
    function: &BlobFunction,
    input: BlobInput,
    context: &FunctionContext,
    renew_every: Duration,
    mut renew: R,
) -> Result<(), Failure>
where
    R: FnMut() -> F,
    F: Future<Output = ()>,
{
    let (blob, etag, attempt) = (
        input.info.name.clone(),
        input.info.etag.clone(),
        input.info.attempt,
    );
    let container = input.info.container.clone();
    let span = durable_runtime::execution_log::span("blob", name, "");
    let started = std::time::Instant::now();
    span.in_scope(|| {
        tracing::info!(
            blob = %blob,
            etag = %etag,
            attempt,
            reason = %format!("a new or changed blob in {container}"),
            "executing"
        )
    });
    let run = (function.handler)(input, context.clone()).instrument(span.clone());
    let mut run = AssertUnwindSafe(run).catch_unwind();
    let outcome = loop {
        tokio::select! {
            outcome = &mut run => break outcome,
            _ = tokio::time::sleep(renew_every) => renew().await,
        }
    };
    let outcome = outcome.unwrap_or_else(|panic| Err(panic_failure(panic)));
    let duration_ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| match &outcome {
        Ok(()) => tracing::info!(blob = %blob, outcome = "Succeeded", duration_ms, "executed"),
        Err(failure) => tracing::warn!(
            blob = %blob,
            etag = %etag,
            outcome = "Failed",
            duration_ms,
            attempt,
            error = %failure,
            "blob function failed"
        ),
    });
    outcome
}
