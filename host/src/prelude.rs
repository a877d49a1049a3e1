//! What a function app needs, in one import:
//!
//! ```
//! use durable::prelude::*;
//!
//! #[activity_trigger]
//! async fn say_hello(city: String) -> Result<String, Failure> {
//!     Ok(format!("Hello {city}!"))
//! }
//!
//! #[orchestration_trigger]
//! async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, Failure> {
//!     let mut greetings = Vec::new();
//!     for city in ["Tokyo", "Seattle", "London"] {
//!         greetings.push(ctx.call_activity(say_hello, city).await?);
//!     }
//!     Ok(greetings)
//! }
//!
//! #[http_trigger(methods = ["post"], route = "hello", auth_level = anonymous)]
//! async fn start_hello(req: HttpRequest, #[durable_client] client: DurableClient) -> HttpResponse {
//!     match client.start_new("hello_cities", None, &()).await {
//!         Ok(id) => client.create_check_status_response(&req, &id),
//!         Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     # if true { return std::process::ExitCode::SUCCESS; }
//!     durable::host::main()
//! }
//! ```
//!
//! The trigger attributes, the contexts functions receive, the client, the HTTP types of HTTP
//! functions, and the types orchestrations return and await.

pub use crate::app::{BlobInput, FunctionContext, QueueMessage, TimerInfo};
pub use crate::http::{HttpRequest, HttpResponse, IntoHttpResponse, StatusCode};
pub use crate::{
    activity_trigger, blob_trigger, durable_client, entity_trigger, http_trigger,
    orchestration_trigger, queue_trigger, timer_trigger,
};
pub use crate::{
    when_all, when_any, ActivityContext, ClientError, DurableClient, DurableHttpRequest,
    DurableHttpResponse, EntityContext, EntityId, EntityLock, Failure, OrchestrationContext,
    OrchestrationStatus, RetryOptions, TaskError,
};
