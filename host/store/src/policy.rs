//! Rules every backend applies the same way, kept here once: which statuses a purge may
//! delete, the default page size, what a start message must carry, and when an instance id
//! may be started again.

use durable_engine::history::{EventKind, ExecutionStarted, OrchestrationStatus};
use durable_engine::message::TaskMessage;

use crate::{InstanceQuery, PurgeFilter, StoreError, StoreResult};

impl InstanceQuery {
    /// The page size when a query asks for none.
    pub const DEFAULT_PAGE_SIZE: usize = 100;

    /// The page size to use: the one asked for, or [`Self::DEFAULT_PAGE_SIZE`].
    pub fn effective_page_size(&self) -> usize {
        if self.page_size == 0 {
            Self::DEFAULT_PAGE_SIZE
        } else {
            self.page_size
        }
    }
}

impl PurgeFilter {
    /// The statuses a purge with this filter deletes: the terminal ones asked for, or every
    /// terminal status when none is asked for. Empty when only running statuses were asked
    /// for: a purge never deletes a running instance.
    pub fn terminal_statuses(&self) -> Vec<OrchestrationStatus> {
        OrchestrationStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .filter(|s| self.statuses.is_empty() || self.statuses.contains(s))
            .collect()
    }
}

/// The `ExecutionStarted` of a start message and the execution id it starts (from the event,
/// or else the message's target); an error for any other message or a start without an id.
pub fn started_execution(start: &TaskMessage) -> StoreResult<(&ExecutionStarted, String)> {
    let EventKind::ExecutionStarted(started) = &start.event.kind else {
        return Err(StoreError::storage(format!(
            "create_instance needs an ExecutionStarted message, not {}",
            start.event.event_type().name()
        )));
    };
    let execution_id = started
        .orchestration_instance
        .execution_id
        .clone()
        .or_else(|| start.orchestration_instance.execution_id.clone())
        .ok_or_else(|| {
            StoreError::storage(format!(
                "the ExecutionStarted message for {:?} has no execution id",
                start.instance_id()
            ))
        })?;
    Ok((started, execution_id))
}

/// An instance id may be started again once its instance is terminal (or absent); otherwise
/// the start is refused with [`StoreError::InstanceExists`].
pub fn ensure_startable(
    instance_id: &str,
    current: Option<OrchestrationStatus>,
) -> StoreResult<()> {
    match current {
        Some(status) if !status.is_terminal() => Err(StoreError::InstanceExists {
            instance_id: instance_id.to_owned(),
            status,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrchestrationStatus::*;

    #[test]
    fn a_purge_deletes_only_terminal_statuses() {
        let all = PurgeFilter::default().terminal_statuses();
        assert!(all.iter().all(|s| s.is_terminal()) && all.contains(&Completed));
        let asked = PurgeFilter {
            statuses: vec![Running, Failed],
            ..PurgeFilter::default()
        };
        assert_eq!(asked.terminal_statuses(), vec![Failed]);
        let running_only = PurgeFilter {
            statuses: vec![Running, Pending],
            ..PurgeFilter::default()
        };
        assert!(running_only.terminal_statuses().is_empty());
    }

    #[test]
    fn pages_default_to_a_hundred_and_running_ids_are_not_startable() {
        assert_eq!(InstanceQuery::default().effective_page_size(), 100);
        assert!(ensure_startable("a", Some(Running)).is_err());
        assert!(ensure_startable("a", Some(Completed)).is_ok());
        assert!(ensure_startable("a", None).is_ok());
    }
}
