//! Whether this host runs an orchestration work item: its version must be one the host's
//! versioning settings take, and the host must have an orchestrator for its name and version.
//! Otherwise the item is held back for another host ([`crate::waiting`]), or failed when the
//! settings say so or this host has held it back for the missing-function timeout.

use std::sync::Arc;

use durable_engine::history::{EventKind, FailureDetails};
use durable_engine::version::{describe, VersionFailureStrategy};
use durable_store::OrchestrationWorkItem;

use crate::waiting::Verdict;
use crate::Shared;

/// The failure type of an instance whose version this host does not take.
pub const VERSION_MISMATCH: &str = "VersionMismatch";
/// The failure type of an instance whose orchestrator no host had in time.
pub const ORCHESTRATOR_NOT_FOUND: &str = "OrchestratorNotFound";

/// What to do with a work item.
pub(super) enum Gate {
    /// Run it.
    Run,
    /// Run it to a failure with these details.
    Fail(FailureDetails),
    /// It was given back for another host.
    HeldBack,
    /// Terminate it without its code, which this host does not have (or may not run).
    TerminateWithoutCode,
    /// Run it on a connected worker that has its code.
    Remote(crate::remote::Workers),
}

/// Decides (and, for [`Gate::HeldBack`], gives the item back).
pub(super) async fn check(
    shared: &Arc<Shared>,
    item: &OrchestrationWorkItem,
    name: &str,
    version: Option<&str>,
) -> Gate {
    let key = item.instance_id.as_str();
    let versioning = &shared.options.versioning;
    let runnable =
        versioning.takes(version) && shared.registry.orchestrator(name, version).is_some();
    let terminating = item
        .messages
        .iter()
        .any(|m| matches!(m.message.event.kind, EventKind::ExecutionTerminated { .. }));
    if !runnable {
        if let Some(workers) = crate::remote_work::orchestration_workers(shared, name, version) {
            shared.waiting.release(key);
            return Gate::Remote(workers);
        }
    }
    if terminating && !runnable {
        // An operator ending an instance no host can run: no need to wait for its code.
        shared.waiting.release(key);
        return Gate::TerminateWithoutCode;
    }
    let (kind, problem) = if let Some(refusal) = versioning.refusal(version) {
        if versioning.failure_strategy == VersionFailureStrategy::Fail {
            shared.waiting.release(key);
            return Gate::Fail(failure(VERSION_MISMATCH, refusal));
        }
        (VERSION_MISMATCH, refusal)
    } else if shared.registry.orchestrator(name, version).is_none() {
        (ORCHESTRATOR_NOT_FOUND, missing(shared, name, version))
    } else {
        shared.waiting.release(key);
        return Gate::Run;
    };
    let timeout = shared.options.missing_function_timeout;
    match shared.waiting.hold(key, timeout) {
        Verdict::GiveUp { waited } => {
            tracing::error!(
                instance_id = %item.instance_id,
                orchestration = name,
                waited_s = waited.as_secs(),
                "failing the instance: {problem}, and no host that runs it took it in time"
            );
            Gate::Fail(failure(
                kind,
                format!(
                    "{problem}; this host held the instance back for {} s \
                     (missingFunctionTimeout) and no host that runs it took it",
                    waited.as_secs()
                ),
            ))
        }
        Verdict::Wait { delay, first } => {
            if first {
                tracing::warn!(
                    instance_id = %item.instance_id,
                    orchestration = name,
                    "leaving the instance for another host: {problem}"
                );
            } else {
                tracing::debug!(instance_id = %item.instance_id, delay_ms = delay.as_millis() as u64, "still leaving the instance for another host");
            }
            if let Err(e) = shared.store.abandon_orchestration(item, delay).await {
                tracing::warn!(instance_id = %item.instance_id, error = %e, "could not give the instance back; its lock runs out instead");
            }
            Gate::HeldBack
        }
    }
}

/// What is missing, naming the versions this host has.
fn missing(shared: &Shared, name: &str, version: Option<&str>) -> String {
    let has = shared.registry.orchestrator_versions(name);
    let what = format!(
        "no orchestrator named {name:?}{} is registered on this host",
        describe(version)
    );
    if has.is_empty() {
        return what;
    }
    let listed: Vec<String> = has
        .iter()
        .map(|v| match v {
            Some(v) => format!("{v:?}"),
            None => "unversioned".to_string(),
        })
        .collect();
    format!("{what} (it has {})", listed.join(", "))
}

fn failure(kind: &str, message: String) -> FailureDetails {
    FailureDetails {
        is_non_retriable: true,
        ..FailureDetails::new(kind, message)
    }
}
