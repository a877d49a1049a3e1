//! Starting the queue and blob triggers: every function's settings are checked first (so a
//! missing connection stops the host at start-up, naming the function and the setting), then
//! one listener task per function is spawned.
//!
//! The listeners need the Azure Storage clients of the cargo feature `azure`; in a binary
//! built without it, an app with a queue or blob function does not start.

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::options::{BlobOptions, QueueOptions};
use crate::app::FunctionApp;
use durable_client::DurableClient;

/// What the queue and blob triggers need from the host configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageTriggerConfig {
    /// host.json `extensions.queues`.
    pub queues: QueueOptions,
    /// host.json `extensions.blobs`.
    pub blobs: BlobOptions,
    /// Names this app's blob receipts (`blobreceipts/{host_id}/...`): hosts with the same id
    /// share receipts, so each blob version runs once among them.
    pub host_id: String,
}

/// A queue or blob function that cannot be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageTriggerError {
    /// The binary has no Azure Storage clients.
    #[error(
        "function {function:?} has a {trigger}, but this binary is built without the cargo \
         feature `azure` of the durable crate, which queue and blob triggers need \
         (e.g. `cargo run -p functions --features azure`)"
    )]
    NotBuilt {
        /// The function.
        function: String,
        /// `queueTrigger` or `blobTrigger`.
        trigger: &'static str,
    },
    /// The connection setting is absent or empty.
    #[error(
        "function {function:?} ({trigger}) reads its storage connection from the app setting \
         {setting}, which is not set; set it (UseDevelopmentStorage=true for Azurite), or \
         {setting}__accountName for an identity-based connection, in local.settings.json \
         Values or the environment"
    )]
    MissingConnection {
        /// The function.
        function: String,
        /// `queueTrigger` or `blobTrigger`.
        trigger: &'static str,
        /// The setting.
        setting: String,
    },
    /// The connection setting holds something that is not a usable connection.
    #[error(
        "function {function:?} ({trigger}): the storage connection {setting} cannot be used: \
         {reason}"
    )]
    BadConnection {
        /// The function.
        function: String,
        /// `queueTrigger` or `blobTrigger`.
        trigger: &'static str,
        /// The setting.
        setting: String,
        /// What is wrong.
        reason: String,
    },
    /// A queue name or blob path breaks the naming rules.
    #[error("function {function:?}: {reason}")]
    BadTarget {
        /// The function.
        function: String,
        /// What is wrong.
        reason: String,
    },
}

/// Whether `name` follows the Azure Storage rules for queues and containers: 3–63
/// lower-case letters, digits and single dashes, starting and ending with a letter or digit.
pub fn valid_storage_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Starts a listener for every queue and blob function of `app`; returns their tasks.
///
/// Nothing is started unless every function can be: a missing or bad connection setting, a
/// bad queue name or blob path, or a binary without the `azure` feature is an error naming
/// the function. The tasks stop taking work when `shutdown` turns true and return once the
/// runs in flight have finished (await them to wait; abort them to abandon the runs, whose
/// messages and blobs are then retried later).
///
/// Must be called inside a Tokio runtime.
pub fn start(
    app: &FunctionApp,
    config: &StorageTriggerConfig,
    client: &DurableClient,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, StorageTriggerError> {
    #[cfg(not(feature = "azure"))]
    {
        let _ = (config, client, shutdown);
        refuse_without_azure(app).map(|()| Vec::new())
    }
    #[cfg(feature = "azure")]
    {
        let queues = super::queue::prepare(&app.queues, &config.queues)?;
        let blobs = super::blob::prepare(&app.blobs, config)?;
        let mut tasks = super::queue::spawn(queues, client, shutdown);
        tasks.extend(super::blob::spawn(blobs, client, shutdown));
        Ok(tasks)
    }
}

/// In a build without `azure`: an error naming the first queue or blob function, if any.
#[cfg(not(feature = "azure"))]
fn refuse_without_azure(app: &FunctionApp) -> Result<(), StorageTriggerError> {
    let first = app
        .queues
        .first()
        .map(|(n, _)| (n, "queueTrigger"))
        .or_else(|| app.blobs.first().map(|(n, _)| (n, "blobTrigger")));
    match first {
        Some((function, trigger)) => Err(StorageTriggerError::NotBuilt {
            function: function.clone(),
            trigger,
        }),
        None => Ok(()),
    }
}

/// Storage clients for a function's connection (a connection string, or an identity-based
/// connection reaching the services in `needs`).
#[cfg(feature = "azure")]
pub(crate) fn clients_for(
    function: &str,
    trigger: &'static str,
    setting: &str,
    needs: &[durable_azure_storage::StorageService],
) -> Result<durable_azure_storage::StorageClients, StorageTriggerError> {
    let bad = |reason: String| StorageTriggerError::BadConnection {
        function: function.to_string(),
        trigger,
        setting: setting.to_string(),
        reason,
    };
    let account = crate::storage_connection::storage_account(setting, needs)
        .map_err(bad)?
        .ok_or_else(|| StorageTriggerError::MissingConnection {
            function: function.to_string(),
            trigger,
            setting: setting.to_string(),
        })?;
    durable_azure_storage::StorageClients::new(account).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names() {
        assert!(valid_storage_name("orders"));
        assert!(valid_storage_name("a-1-b"));
        assert!(!valid_storage_name("Orders"));
        assert!(!valid_storage_name("ab"));
        assert!(!valid_storage_name("a--b"));
        assert!(!valid_storage_name("ab-"));
    }

    #[cfg(not(feature = "azure"))]
    #[test]
    fn without_azure_a_storage_trigger_is_refused_by_name() {
        use std::sync::Arc;

        use crate::app::{FunctionKind, QueueFunction};

        let mut app = FunctionApp::default();
        assert_eq!(refuse_without_azure(&app), Ok(()));
        let queue = QueueFunction {
            queue_name: "orders".into(),
            connection: "AzureWebJobsStorage".into(),
            handler: Arc::new(|_, _| Box::pin(async { Ok(()) })),
        };
        app.add("take_orders", FunctionKind::Queue(queue)).unwrap();
        let err = refuse_without_azure(&app).unwrap_err();
        assert!(err.to_string().contains("take_orders") && err.to_string().contains("`azure`"));
    }

    #[cfg(feature = "azure")]
    #[test]
    fn missing_connections_name_the_setting_and_function() {
        let setting = "DurableTestUnsetConnection_1b7c";
        let needs = [durable_azure_storage::StorageService::Queue];
        let err = clients_for("my_fn", "queueTrigger", setting, &needs)
            .err()
            .expect("no such setting");
        let text = err.to_string();
        assert!(text.contains(setting) && text.contains("my_fn"), "{text}");
    }
}
