//! How an instance is started: its id, version, a start time in the future, its tags, and
//! what happens when an instance with the id already exists.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{ClientError, DurableClient};
use durable_engine::history::Tags;

/// The termination reason of an instance replaced by a new start ([`IfExists::ReplaceAny`]).
pub const REPLACED_REASON: &str = "replaced by a new start of the same instance id";

/// How long a start with [`IfExists::ReplaceAny`] waits for the running instance it
/// terminated to end.
pub const REPLACE_WAIT: Duration = Duration::from_secs(30);

/// What a start does when an instance with its id already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse while that instance runs (pending, running, suspended); replace it once it has
    /// ended (Durable Functions' `NonRunningStates`, the default).
    #[default]
    ReplaceEnded,
    /// Replace the existing instance whatever its status (Durable Functions' `AnyState`): one
    /// that has not ended is terminated first ([`REPLACED_REASON`]), and the new one starts
    /// once it has ended (waiting up to [`REPLACE_WAIT`] for a host to end it).
    ReplaceAny,
    /// Start nothing and return the existing instance's id, whatever its status: a request
    /// that is retried (an order id started twice) runs once.
    ReturnExisting,
}

impl IfExists {
    /// Durable Functions' host.json `overridableExistingInstanceStates`: `NonRunningStates`
    /// is [`IfExists::ReplaceEnded`], `AnyState` [`IfExists::ReplaceAny`] (any case).
    pub fn from_overridable_states(setting: &str) -> Option<Self> {
        match setting.trim() {
            s if s.eq_ignore_ascii_case("NonRunningStates") => Some(Self::ReplaceEnded),
            s if s.eq_ignore_ascii_case("AnyState") => Some(Self::ReplaceAny),
            _ => None,
        }
    }
}

/// Options of [`DurableClient::start_with_options`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// The instance id (a new GUID when `None`).
    pub instance_id: Option<String>,
    /// The version (the client's default version when `None`).
    pub version: Option<String>,
    /// Start no earlier than this (the instance is Pending until then).
    pub start_at: Option<DateTime<Utc>>,
    /// What happens when an instance with the id exists (`None`: the client's default,
    /// host.json `overridableExistingInstanceStates` in a host).
    pub if_exists: Option<IfExists>,
    /// Tags: shown in the instance's status, and a filter of instance queries. Sub-
    /// orchestrations do not inherit them; continue-as-new keeps them.
    pub tags: Tags,
}

impl DurableClient {
    /// Starts `orchestrator` with an already serialized JSON input (`None` = no input) as
    /// `options` say; returns the instance id (with [`IfExists::ReturnExisting`], the existing
    /// instance's when there is one).
    ///
    /// `ReturnExisting` reads before it starts, and a start that loses a race with another
    /// start of the id returns the id too; only an instance of the id that starts and also
    /// ends between the read and the start would be replaced.
    pub async fn start_with_options(
        &self,
        orchestrator: &str,
        input: Option<String>,
        options: StartOptions,
    ) -> Result<String, ClientError> {
        let if_exists = options.if_exists.unwrap_or(self.if_exists);
        let returns_existing = if_exists == IfExists::ReturnExisting;
        if let (true, Some(id)) = (returns_existing, options.instance_id.as_deref()) {
            super::validate_instance_id(id)?;
            if self.store.get_instance(id).await?.is_some() {
                tracing::debug!(
                    instance_id = id,
                    "start of an existing instance: returned it"
                );
                return Ok(id.to_string());
            }
        }
        if let (IfExists::ReplaceAny, Some(id)) = (if_exists, options.instance_id.as_deref()) {
            self.end_for_replacement(id).await?;
        }
        match self.create(orchestrator, input, options).await {
            Err(ClientError::AlreadyExists { instance_id, .. }) if returns_existing => {
                Ok(instance_id)
            }
            other => other,
        }
    }

    /// Terminates instance `id` if it has not ended and waits for it to end, so that a new
    /// start may replace it.
    async fn end_for_replacement(&self, id: &str) -> Result<(), ClientError> {
        super::validate_instance_id(id)?;
        let Some(existing) = self.store.get_instance(id).await? else {
            return Ok(());
        };
        if existing.status.is_terminal() {
            return Ok(());
        }
        match self.terminate(id, REPLACED_REASON).await {
            // It ended (or was purged) meanwhile.
            Ok(()) | Err(ClientError::WrongStatus { .. } | ClientError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        tracing::info!(
            instance_id = id,
            "replacing a running instance: terminated it"
        );
        self.wait_terminal(id, REPLACE_WAIT, Duration::from_millis(100))
            .await?
            .ok_or_else(|| ClientError::Timeout(id.to_string()))?;
        Ok(())
    }
}
