//! The task hub: its API (the `durable-store` crate, re-exported here) and the backends this
//! build has (`sqlite` by default, `azure` with that feature).

pub use durable_store::*;

#[cfg(feature = "azure")]
pub use durable_azure as azure;
#[cfg(feature = "sqlite")]
pub use durable_sqlite as sqlite;
