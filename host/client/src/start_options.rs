//! How an instance is started: its id, version, a start time in the future, and what happens
//! when an instance with the id already exists.

use chrono::{DateTime, Utc};

use super::{ClientError, DurableClient};

/// What a start does when an instance with its id already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse while that instance runs (pending, running, suspended); replace it once it has
    /// ended (Durable Functions' `NonRunningStates`, the default).
    #[default]
    ReplaceEnded,
    /// Start nothing and return the existing instance's id, whatever its status: a request
    /// that is retried (an order id started twice) runs once.
    ReturnExisting,
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
    /// What happens when an instance with the id exists.
    pub if_exists: IfExists,
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
        let returns_existing = options.if_exists == IfExists::ReturnExisting;
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
        match self.create(orchestrator, input, options).await {
            Err(ClientError::AlreadyExists { instance_id, .. }) if returns_existing => {
                Ok(instance_id)
            }
            other => other,
        }
    }
}
