//! The task hub on Azure Storage (and Azurite) in the DTFx layout: [`AzureTaskHub`], over
//! small clients of our own for the Table, Queue and Blob REST APIs with Shared Key signing
//! (see docs/decisions/0005).

mod activities;
pub mod azurite;
pub mod blobs;
mod client;
pub mod connection;
pub mod entity;
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
pub mod queues;
mod signing;
pub mod stats;
pub mod tables;
mod task_hub;
pub mod transaction;
mod transport;
mod xml;

pub use connection::{ConnectionStringError, StorageAccount};
pub use hub::AzureTaskHub;
pub use options::AzureOptions;
pub use partitions::LeaseSettings;
pub use transport::{AzureError, AzureResult};

use blobs::ContainerClient;
use queues::QueueClient;
use tables::TableClient;

/// Clients for the three services of one storage account, sharing one connection pool.
#[derive(Clone)]
pub struct StorageClients {
    transport: transport::Transport,
}

impl StorageClients {
    /// Clients for `account`.
    pub fn new(account: StorageAccount) -> AzureResult<Self> {
        Ok(StorageClients {
            transport: transport::Transport::new(account)?,
        })
    }

    /// The account.
    pub fn account(&self) -> &StorageAccount {
        self.transport.account()
    }

    /// Requests sent through these clients so far.
    pub fn request_counts(&self) -> stats::RequestCounts {
        self.transport.stats().snapshot()
    }

    /// A table.
    pub fn table(&self, name: &str) -> TableClient {
        TableClient::new(self.transport.clone(), name)
    }

    /// A queue.
    pub fn queue(&self, name: &str) -> QueueClient {
        QueueClient::new(self.transport.clone(), name)
    }

    /// A blob container.
    pub fn container(&self, name: &str) -> ContainerClient {
        ContainerClient::new(self.transport.clone(), name)
    }
}
