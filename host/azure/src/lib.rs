//! The Durable Functions task hub on Azure Storage (and Azurite) in the Durable Task
//! Framework's layout: [`AzureTaskHub`], over the REST clients of `durable-azure-storage`.

#![warn(missing_docs)]

mod activities;
mod backlog;
mod client_operations;
pub mod envelope;
mod held;
pub mod history;
mod hub;
pub mod instances;
pub mod layout;
mod offload;
pub mod options;
mod orchestrations;
mod ownership;
pub mod partitions;
mod singletons;
mod task_hub;

pub use durable_azure_storage::{
    AzureError, AzureResult, ConnectionStringError, StorageAccount, StorageClients,
};
pub use hub::AzureTaskHub;
pub use options::AzureOptions;
pub use partitions::LeaseSettings;
