//! Storage connections by name, as Azure Functions resolves them: the connection string in the
//! setting `NAME`, else the identity-based connection `NAME__accountName` (or the service URIs)
//! with its credential settings. The task hub and the queue and blob triggers share it.

use durable_azure_storage::{identity_connection, StorageAccount, StorageService};

/// The account of the connection named `name`, reading settings from the environment (where
/// local.settings.json `Values` are exported); `Ok(None)` when it is not set at all. An empty
/// string or `UseDevelopmentStorage=false` counts as not set. `needs` are the services the
/// caller uses: an identity-based connection must locate each.
pub(crate) fn storage_account(
    name: &str,
    needs: &[StorageService],
) -> Result<Option<StorageAccount>, String> {
    let value = std::env::var(name).unwrap_or_default();
    let off = value
        .replace(' ', "")
        .eq_ignore_ascii_case("UseDevelopmentStorage=false");
    if !value.trim().is_empty() && !off {
        return StorageAccount::from_connection_string(&value)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let lookup = |setting: &str| std::env::var(setting).ok();
    identity_connection(name, &lookup, needs).map_err(|e| e.to_string())
}
