//! Small clients of the Azure Storage REST APIs (Table, Queue, Blob), authorized by Shared Key
//! signatures or Microsoft Entra ID bearer tokens (identity-based connections),
//! for the Azure Storage task hub and the queue and blob triggers of Durable Functions for
//! Rust (see docs/decisions/0005).
#![warn(missing_docs)]

pub mod blobs;
pub mod connection;
pub mod credential;
pub mod entity;
pub mod identity;
pub mod queue_depth;
pub mod queues;
mod signing;
pub mod stats;
pub mod tables;
pub mod transaction;
mod transport;
mod xml;

pub use connection::{ConnectionStringError, StorageAccount};
pub use credential::{AccessTokens, Credential, TokenError};
pub use identity::{
    has_identity_connection, identity_connection, IdentityConnectionError, StorageService,
};
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

    /// Requests sent through these clients so far, per kind of operation.
    pub fn operation_counts(&self) -> [(stats::Operation, u64); stats::Operation::ALL.len()] {
        self.transport.stats().operations()
    }

    /// Queue receives through these clients so far that found no message.
    pub fn empty_receives(&self) -> u64 {
        self.transport.stats().empty_receives()
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
