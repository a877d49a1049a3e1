//! A timer-triggered function: every hour, purge the history of instances that finished more
//! than a week ago.

use durable::app::TimerInfo;
use durable::store::PurgeFilter;
use durable::{durable_client, timer_trigger, DurableClient, Failure};

/// Purges finished instances older than seven days (every hour, on the hour).
#[timer_trigger(schedule = "0 0 * * * *")]
pub async fn purge_old_instances(
    timer: TimerInfo,
    #[durable_client] client: DurableClient,
) -> Result<(), Failure> {
    let cutoff = chrono::Utc::now() - chrono::Duration::days(7);
    let filter = PurgeFilter {
        created_from: Some(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH),
        created_to: Some(cutoff),
        statuses: Vec::new(), // every terminal status
    };
    let purged = client
        .purge_instance_history_by(&filter)
        .await
        .map_err(|e| Failure::new("PurgeFailed", e.to_string()))?
        .instances_deleted;
    tracing::info!(purged, past_due = timer.is_past_due, "purged old instances");
    Ok(())
}
