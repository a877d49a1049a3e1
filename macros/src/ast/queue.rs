//! `#[queue_trigger(queue_name = "orders", connection = "AzureWebJobsStorage")]` on
//! `async fn NAME(msg: T, info: QueueMessageInfo, #[durable_client] client: DurableClient)
//! -> Result<(), E>` (info and client optional, any order).

use proc_macro2::{Span, TokenStream};
use syn::ItemFn;

use super::signature::check_plain_async_fn;
use super::storage::{self, Rule, StorageFn, StorageTrigger};
use crate::args::Args;
use crate::names::RegisteredName;

const ATTRIBUTE: &str = "queue_trigger";
const ACCEPTED: &[&str] = &["name", "queue_name", "connection"];
/// The connection setting unless `connection = "..."` names another.
pub const DEFAULT_CONNECTION: &str = "AzureWebJobsStorage";

/// Parses the attribute arguments and the function.
pub fn parse(args: TokenStream, func: ItemFn) -> syn::Result<StorageFn> {
    let mut args = Args::parse(ATTRIBUTE, args)?;
    let name_override = args.take_str("name", "\"my_queue_function\"")?;
    let queue_name = args.take_str("queue_name", "\"orders\"")?;
    let connection = args.take_str("connection", "\"AzureWebJobsStorage\"")?;
    args.finish(ACCEPTED)?;

    let Some(queue_name) = queue_name else {
        return Err(syn::Error::new(
            Span::call_site(),
            "#[queue_trigger] needs a `queue_name`, e.g. \
             #[queue_trigger(queue_name = \"orders\")]",
        ));
    };
    if let Some(problem) = storage::storage_name_problem(&queue_name.value()) {
        return Err(syn::Error::new(
            queue_name.span(),
            format!("invalid queue name {:?}: {problem}", queue_name.value()),
        ));
    }
    let connection = connection_setting(connection)?;
    check_plain_async_fn(&func.sig, ATTRIBUTE)?;
    let name = RegisteredName::new(name_override, &func.sig.ident)?;
    storage::parse_fn(
        func,
        name,
        StorageTrigger::Queue {
            queue_name: queue_name.value(),
            connection,
        },
        &Rule {
            info_type: "QueueMessageInfo",
            body_example: "msg: MyMessage",
            body_what: "message",
            what: "a queue function",
        },
    )
}

/// The `connection = "..."` setting name, or the default; an empty one is an error.
pub fn connection_setting(connection: Option<syn::LitStr>) -> syn::Result<String> {
    match connection {
        None => Ok(DEFAULT_CONNECTION.to_string()),
        Some(c) if c.value().trim().is_empty() => Err(syn::Error::new(
            c.span(),
            "`connection` names the app setting that holds the storage connection string, \
             e.g. `connection = \"AzureWebJobsStorage\"`; it cannot be empty",
        )),
        Some(c) => Ok(c.value()),
    }
}
