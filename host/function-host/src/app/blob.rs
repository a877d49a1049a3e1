//! What a `#[blob_trigger]` function registers, and what it receives per blob version.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::FunctionContext;
use durable_engine::failure::Failure;

/// A blob function's handler: the blob (content and metadata) and the function context.
pub type BlobHandler = Arc<
    dyn Fn(BlobInput, FunctionContext) -> BoxFuture<'static, Result<(), Failure>> + Send + Sync,
>;

/// `#[blob_trigger(path = "container/{name}", connection = "...")]`.
#[derive(Clone)]
pub struct BlobFunction {
    /// `container/pattern`: a literal container name, then a blob name pattern whose
    /// `{param}`s bind parts of the name (`weather-results/{requestId}.txt`).
    pub path: String,
    /// The app setting holding the storage connection string.
    pub connection: String,
    /// The handler.
    pub handler: BlobHandler,
}

/// One blob version, as the handler gets it.
#[derive(Debug, Clone)]
pub struct BlobInput {
    /// The content.
    pub content: Vec<u8>,
    /// The blob's metadata and the pattern's bindings.
    pub info: BlobInfo,
}

/// What a blob function learns about the blob besides its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobInfo {
    /// The container.
    pub container: String,
    /// The blob's full name in the container (`2024/report.txt`).
    pub name: String,
    /// `container/name`.
    pub path: String,
    /// The values the path pattern's `{param}`s bound (`requestId` → `req-1`).
    pub path_params: HashMap<String, String>,
    /// The version this run is for.
    pub etag: String,
    /// The blob's URL.
    pub uri: String,
    /// Its size in bytes.
    pub length: u64,
    /// When this version was written.
    pub last_modified: Option<DateTime<Utc>>,
    /// Runs of this version so far, this one included (1 on the first try).
    pub attempt: u32,
}

impl BlobInfo {
    /// A value the path pattern bound, e.g. `info.param("requestId")`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.path_params.get(name).map(String::as_str)
    }
}
