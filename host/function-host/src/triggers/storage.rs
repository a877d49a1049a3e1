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
    /// The binary lacks the storage clients the function needs.
    #[error(
        "function {function:?} has a {trigger}, but this binary is built without the cargo \
         feature `{feature}` of the durable crate, which it needs \
         (e.g. `cargo run -p functions --features {feature}`)"
    )]
    NotBuilt {
        /// The function.
        function: String,
        /// `queueTrigger` or `blobTrigger`.
        trigger: &'static str,
        /// `azure` (Azure Storage queues and blobs) or `s3` (blobs on S3).
        feature: &'static str,
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
/// bad queue name or blob path, or a binary without the cargo feature a function needs
/// (`azure` for Azure Storage, `s3` for a blob function whose connection is `Provider=S3;..`)
/// is an error naming the function. The tasks stop taking work when `shutdown` turns true
/// and return once the runs in flight have finished (await them to wait; abort them to
/// abandon the runs, whose messages and blobs are then retried later).
///
/// Must be called inside a Tokio runtime.
pub fn start(
    app: &FunctionApp,
    config: &StorageTriggerConfig,
    client: &DurableClient,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, StorageTriggerError> {
    let (on_s3, on_azure): (Vec<_>, Vec<_>) = app
        .blobs
        .iter()
        .cloned()
        .partition(|(_, f)| uses_s3(&f.connection));
    let s3 = prepare_s3(&on_s3, config)?;
    let azure = prepare_azure(&app.queues, &on_azure, config)?;
    let mut tasks = azure.spawn(client, shutdown);
    tasks.extend(s3.spawn(client, shutdown));
    Ok(tasks)
}

/// Whether a blob function's connection setting names S3 (`Provider=S3;...`).
fn uses_s3(setting: &str) -> bool {
    std::env::var(setting).is_ok_and(|v| super::s3::connection::is_s3(&v))
}

/// The S3 blob listeners, checked.
struct S3Listeners(#[cfg(feature = "s3")] Vec<super::s3::S3Listener>);

fn prepare_s3(
    functions: &[(String, crate::app::BlobFunction)],
    config: &StorageTriggerConfig,
) -> Result<S3Listeners, StorageTriggerError> {
    #[cfg(not(feature = "s3"))]
    {
        let _ = config;
        match functions.first() {
            Some((function, _)) => Err(StorageTriggerError::NotBuilt {
                function: function.clone(),
                trigger: "blobTrigger",
                feature: "s3",
            }),
            None => Ok(S3Listeners()),
        }
    }
    #[cfg(feature = "s3")]
    {
        let mut listeners = Vec::with_capacity(functions.len());
        for (name, function) in functions {
            let bad = |reason: String| StorageTriggerError::BadConnection {
                function: name.clone(),
                trigger: "blobTrigger",
                setting: function.connection.clone(),
                reason,
            };
            let path = super::blob::path::BlobPath::parse(&function.path).map_err(|e| {
                StorageTriggerError::BadTarget {
                    function: name.clone(),
                    reason: e.to_string(),
                }
            })?;
            let value = std::env::var(&function.connection).unwrap_or_default();
            let connection = super::s3::connection::S3Connection::parse(&value).map_err(bad)?;
            listeners.push(super::s3::listener(
                name, function, path, connection, config,
            ));
        }
        Ok(S3Listeners(listeners))
    }
}

impl S3Listeners {
    fn spawn(
        self,
        client: &DurableClient,
        shutdown: &watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        #[cfg(feature = "s3")]
        return super::s3::spawn(self.0, client, shutdown);
        #[cfg(not(feature = "s3"))]
        {
            let _ = (self, client, shutdown);
            Vec::new()
        }
    }
}

/// The Azure Storage queue and blob listeners, checked.
struct AzureListeners(
    #[cfg(feature = "azure")]
    (
        Vec<super::queue::QueueListener>,
        Vec<super::blob::BlobListener>,
    ),
);

fn prepare_azure(
    queues: &[(String, crate::app::QueueFunction)],
    blobs: &[(String, crate::app::BlobFunction)],
    config: &StorageTriggerConfig,
) -> Result<AzureListeners, StorageTriggerError> {
    #[cfg(not(feature = "azure"))]
    {
        let _ = config;
        refuse_without_azure(queues, blobs).map(|()| AzureListeners())
    }
    #[cfg(feature = "azure")]
    {
        let queues = super::queue::prepare(queues, &config.queues)?;
        let blobs = super::blob::prepare(blobs, config)?;
        Ok(AzureListeners((queues, blobs)))
    }
}

impl AzureListeners {
    fn spawn(
        self,
        client: &DurableClient,
        shutdown: &watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        #[cfg(feature = "azure")]
        {
            let (queues, blobs) = self.0;
            let mut tasks = super::queue::spawn(queues, client, shutdown);
            tasks.extend(super::blob::spawn(blobs, client, shutdown));
            tasks
        }
        #[cfg(not(feature = "azure"))]
        {
            let _ = (self, client, shutdown);
            Vec::new()
        }
    }
}

/// In a build without `azure`: an error naming the first queue or Azure blob function, if
/// any.
#[cfg(not(feature = "azure"))]
fn refuse_without_azure(
    queues: &[(String, crate::app::QueueFunction)],
    blobs: &[(String, crate::app::BlobFunction)],
) -> Result<(), StorageTriggerError> {
    let first = queues
        .first()
        .map(|(n, _)| (n, "queueTrigger"))
        .or_else(|| blobs.first().map(|(n, _)| (n, "blobTrigger")));
    match first {
        Some((function, trigger)) => Err(StorageTriggerError::NotBuilt {
            function: function.clone(),
            trigger,
            feature: "azure",
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
        assert_eq!(refuse_without_azure(&app.queues, &app.blobs), Ok(()));
        let queue = QueueFunction {
            queue_name: "orders".into(),
            connection: "AzureWebJobsStorage".into(),
            handler: Arc::new(|_, _| Box::pin(async { Ok(()) })),
        };
        app.add("take_orders", FunctionKind::Queue(queue)).unwrap();
        let err = refuse_without_azure(&app.queues, &app.blobs).unwrap_err();
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
