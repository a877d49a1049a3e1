//! The behavioural suite every [`TaskHub`](super::TaskHub) backend must pass.
//!
//! Each check is a public async function taking a fresh, empty task hub and panicking with a
//! clear message when the backend misbehaves, so a backend can run them as separate tests:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use durable_store::{conformance, TaskHub};
//! # fn new_hub() -> Arc<dyn TaskHub> { unimplemented!("the backend under test") }
//! #[tokio::test]
//! async fn lost_lock_commit_writes_nothing() {
//!     conformance::lost_lock_commit_writes_nothing(new_hub()).await;
//! }
//! ```
//!
//! [`run_all`] runs every check, each on a new hub from a factory. Checks use real time
//! (locks of a few hundred milliseconds), so the whole suite takes some seconds.

use std::future::Future;
use std::sync::Arc;

use super::TaskHub;

mod activities;
mod fixtures;
mod lifecycle;
mod orchestrations;
mod queries;
mod signals;
mod tags;
mod timers;

pub use activities::{
    activities_are_delivered_at_least_once, activity_abandon_and_renew,
    duplicate_activity_completion_is_ignored, lock_activities_in_order,
};
pub use lifecycle::{
    create_if_not_exists_is_idempotent, create_instance_conflicts_while_not_terminal,
    create_instance_records_parent, create_instance_replaces_terminal,
    create_instance_starts_pending,
};
pub use orchestrations::{
    abandon_orchestration_delays_messages, commit_without_row_keeps_row, commit_writes_everything,
    concurrent_commits_are_isolated, continue_as_new_replaces_history,
    lock_batches_instances_fairly, lost_lock_commit_writes_nothing,
    messages_arriving_while_locked_wait, messages_to_unknown_instances, orchestration_lock_expires,
    scheduled_start_waits, timers_become_visible_when_due,
};
pub use queries::{
    purge_instance_removes_everything, purge_instances_by_filter, query_by_name_and_counts,
    query_filters, query_newest_first, query_pages_cover_everything_once,
};
pub use signals::signals_wake_dispatchers;
pub use tags::tags_are_kept_and_filter_queries;
pub use timers::{singleton_lock_is_renewed_and_released, timer_status_round_trips};

/// Runs every check in turn, each on a new hub from `new_store`.
pub async fn run_all<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn TaskHub>>,
{
    create_if_not_exists_is_idempotent(new_store().await).await;
    create_instance_starts_pending(new_store().await).await;
    create_instance_records_parent(new_store().await).await;
    create_instance_conflicts_while_not_terminal(new_store().await).await;
    create_instance_replaces_terminal(new_store().await).await;
    commit_writes_everything(new_store().await).await;
    commit_without_row_keeps_row(new_store().await).await;
    messages_to_unknown_instances(new_store().await).await;
    lost_lock_commit_writes_nothing(new_store().await).await;
    orchestration_lock_expires(new_store().await).await;
    lock_batches_instances_fairly(new_store().await).await;
    messages_arriving_while_locked_wait(new_store().await).await;
    timers_become_visible_when_due(new_store().await).await;
    scheduled_start_waits(new_store().await).await;
    abandon_orchestration_delays_messages(new_store().await).await;
    continue_as_new_replaces_history(new_store().await).await;
    concurrent_commits_are_isolated(new_store().await).await;
    activities_are_delivered_at_least_once(new_store().await).await;
    duplicate_activity_completion_is_ignored(new_store().await).await;
    lock_activities_in_order(new_store().await).await;
    activity_abandon_and_renew(new_store().await).await;
    query_filters(new_store().await).await;
    query_by_name_and_counts(new_store().await).await;
    query_newest_first(new_store().await).await;
    query_pages_cover_everything_once(new_store().await).await;
    tags_are_kept_and_filter_queries(new_store().await).await;
    purge_instance_removes_everything(new_store().await).await;
    purge_instances_by_filter(new_store().await).await;
    signals_wake_dispatchers(new_store().await).await;
    timer_status_round_trips(new_store().await).await;
    singleton_lock_is_renewed_and_released(new_store().await).await;
}

/// Generates one test per conformance check for a backend. `$new_hub` is an expression
/// evaluating to a future of `(guard, Arc<dyn TaskHub>)`; the guard (e.g. a temporary
/// directory) lives as long as the test.
///
/// ```text
/// durable_store::task_hub_conformance_tests!(#[tokio::test] async { new_hub() });
/// ```
#[macro_export]
macro_rules! task_hub_conformance_tests {
    (#[$test:meta] $new_hub:expr) => {
        $crate::task_hub_conformance_tests!(@each #[$test] $new_hub;
            create_if_not_exists_is_idempotent,
            create_instance_starts_pending,
            create_instance_records_parent,
            create_instance_conflicts_while_not_terminal,
            create_instance_replaces_terminal,
            commit_writes_everything,
            commit_without_row_keeps_row,
            messages_to_unknown_instances,
            lost_lock_commit_writes_nothing,
            orchestration_lock_expires,
            lock_batches_instances_fairly,
            messages_arriving_while_locked_wait,
            timers_become_visible_when_due,
            scheduled_start_waits,
            abandon_orchestration_delays_messages,
            continue_as_new_replaces_history,
            concurrent_commits_are_isolated,
            activities_are_delivered_at_least_once,
            duplicate_activity_completion_is_ignored,
            lock_activities_in_order,
            activity_abandon_and_renew,
            query_filters,
            query_by_name_and_counts,
            query_newest_first,
            query_pages_cover_everything_once,
            tags_are_kept_and_filter_queries,
            purge_instance_removes_everything,
            purge_instances_by_filter,
            signals_wake_dispatchers,
            timer_status_round_trips,
            singleton_lock_is_renewed_and_released,
        );
    };
    (@each #[$test:meta] $new_hub:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let (_guard, hub) = $new_hub.await;
                $crate::conformance::$name(hub).await;
            }
        )*
    };
}
