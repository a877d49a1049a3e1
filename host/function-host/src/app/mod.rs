//! The function app: every function the user's crate defines, registered by the trigger
//! attributes and collected at start-up.

mod blob;
pub mod body;
mod operation;
mod queue;
mod registration;

pub use blob::{BlobFunction, BlobHandler, BlobInfo, BlobInput};
pub use durable_store::ScheduleStatus;
pub use operation::{
    inline_schema_of, schema_of, HttpOperation, OperationResponse, RequestBody, ResponseBody,
    SchemaFn,
};
pub use queue::{QueueFunction, QueueHandler, QueueMessage, QueueMessageInfo, DEFAULT_CONNECTION};
pub use registration::{
    AppError, AuthLevel, FunctionApp, FunctionContext, FunctionKind, FunctionRegistration,
    HttpFunction, HttpHandler, TimerFunction, TimerHandler, TimerInfo,
};
