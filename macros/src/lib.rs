//! Trigger attributes for Durable Functions for Rust.
//!
//! Each attribute turns a plain `async fn` into a function the host registers by itself
//! (through `inventory`): nobody keeps a list. Use them through the `durable` crate, which
//! re-exports them; the expansions refer to `::durable`.
//!
//! - [`orchestration_trigger`] and [`activity_trigger`] turn the function into a unit struct
//!   of the same name implementing `durable::Orchestration` / `durable::Activity`, so calls
//!   such as `ctx.call_activity(say_hello, "Tokyo")` are checked at compile time;
//! - [`http_trigger`], [`timer_trigger`], [`queue_trigger`] and [`blob_trigger`] keep the
//!   function as written and register a handler that calls it;
//! - [`durable_client`] marks the parameter of an HTTP, timer, queue or blob function that
//!   receives the `DurableClient`.
//!
//! Every attribute takes `name = "..."` to register under another name than the function's.
//! Names are unique per crate, compared case-insensitively: a second function with the same
//! name does not compile.

mod args;
mod ast;
mod gen;
mod names;

use proc_macro::TokenStream;
use quote::ToTokens;
use syn::ItemFn;

/// Makes an `async fn` an orchestrator.
///
/// ```no_run
/// use durable::{orchestration_trigger, Failure, OrchestrationContext};
/// # use durable::activity_trigger;
/// # #[activity_trigger]
/// # async fn say_hello(city: String) -> Result<String, Failure> { Ok(city) }
///
/// #[orchestration_trigger]
/// async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, Failure> {
///     let mut greetings = Vec::new();
///     for city in ["Tokyo", "Seattle", "London"] {
///         greetings.push(ctx.call_activity(say_hello, city).await?);
///     }
///     Ok(greetings)
/// }
/// # fn main() {}
/// ```
///
/// The function takes `ctx: OrchestrationContext` and optionally one input (any
/// `Deserialize` type), and returns `Result<T, E>` with `E: Into<durable::Failure>` (any
/// `std::error::Error`, or `Failure` itself). It becomes a unit struct of the same name and
/// visibility implementing `durable::Orchestration`, which names it in typed calls:
/// `ctx.call_sub_orchestrator(hello_cities, ())`.
///
/// Arguments: `name = "..."` registers it under another name; `version = "..."` registers it
/// for the instances of that version only, so one binary may keep the old code of a name
/// beside the new (`#[orchestration_trigger(name = "order", version = "2")]` on one function,
/// `version = "1"` or no version on another). An instance runs the implementation registered
/// for its version, else the one without a version. Orchestrators cannot take a
/// `#[durable_client]`: their code is replayed and must be deterministic.
#[proc_macro_attribute]
pub fn orchestration_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, |args, func| {
        ast::orchestration::parse(args, func).map(|f| gen::typed::generate(&f))
    })
}

/// Makes an `async fn` an activity.
///
/// ```no_run
/// use durable::{activity_trigger, ActivityContext, Failure};
///
/// #[activity_trigger]
/// async fn say_hello(city: String) -> Result<String, Failure> {
///     Ok(format!("Hello {city}!"))
/// }
///
/// #[activity_trigger(name = "LogAttempt")]
/// async fn log_attempt(ctx: ActivityContext, note: String) -> Result<(), Failure> {
///     println!("{} (attempt {})", note, ctx.dequeue_count);
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The function optionally takes `ctx: ActivityContext` first (recognised by its type
/// name), then optionally one input, and returns `Result<T, E>` with
/// `E: Into<durable::Failure>`. It becomes a unit struct of the same name implementing
/// `durable::Activity`: `ctx.call_activity(say_hello, "Tokyo")` checks that `"Tokyo"`
/// converts into the input and that the result is a `String`.
///
/// Arguments:
/// - `name = "..."` registers it under another name;
/// - `max_concurrent = N`: at most N runs at once on each host;
/// - `max_per_second = R`: at most R runs started per second on each host (`0.5` is one every
///   two seconds).
///
/// Runs over a limit wait for their turn; host.json
/// `extensions.durableTask.activities.<name>.maxConcurrent` / `.maxPerSecond` override the
/// limits one by one. For example, for a payment API that allows five calls at once:
///
/// ```no_run
/// # use durable::{activity_trigger, Failure};
/// #[activity_trigger(max_concurrent = 5, max_per_second = 100)]
/// async fn charge_card(order_id: String) -> Result<String, Failure> {
///     Ok(format!("charged {order_id}"))
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn activity_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, |args, func| {
        ast::activity::parse(args, func).map(|f| gen::typed::generate(&f))
    })
}

/// Makes an `async fn` an HTTP function, served under `/api/{route}`.
///
/// ```no_run
/// use durable::http::{HttpRequest, HttpResponse, StatusCode};
/// use durable::{durable_client, http_trigger, DurableClient};
///
/// #[http_trigger(methods = ["post"], route = "orchestrators/{name}", auth_level = anonymous)]
/// async fn http_start(req: HttpRequest, #[durable_client] client: DurableClient) -> HttpResponse {
///     let name = req.param("name").unwrap_or_default().to_string();
///     match client.start_new(&name, None, &()).await {
///         Ok(id) => HttpResponse::text(StatusCode::ACCEPTED, id),
///         Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
///     }
/// }
/// # fn main() {}
/// ```
///
/// The function takes `req: HttpRequest` and optionally a `#[durable_client]
/// client: DurableClient`, in either order, and returns anything implementing
/// `durable::http::IntoHttpResponse`. It stays an ordinary function; the attribute adds a
/// registration next to it.
///
/// Arguments, all optional:
/// - `methods = ["get", "post"]`: accepted methods (default: any);
/// - `route = "weather-results/{requestId}"`: the route template under `/api/` (default:
///   the function name);
/// - `auth_level = anonymous | function | admin`: who may call it (default: `function`, a
///   function or host key is needed, as in Azure Functions);
/// - `name = "..."`: register it under another name.
///
/// # OpenAPI
///
/// Every HTTP function is in the app's OpenAPI 3.1 document (`/api/openapi.json`,
/// `/api/openapi.yaml`, shown at `/api/swagger/ui`) with its route, path parameters, methods
/// and auth level. These arguments say the rest; the function's doc comment is the
/// operation's description:
/// - `operation_id = "placeOrder"`: the operation id (default: the function name; unique in
///   the crate, compared case-insensitively, or it does not compile);
/// - `summary = "..."`: a one-line summary;
/// - `tags = ["orders"]`: groups operations in the document and on the page;
/// - `query = T`: a struct whose fields are the query parameters the function reads (an
///   `Option` field is an optional parameter);
/// - `request_body = T`: the JSON body; `Option<T>` when an empty body is accepted too;
/// - `response_body = T`: the JSON body of the 200 answer;
/// - `responses = [404, (201, T), (204, ())]`: further answers: a bare status answers with
///   the host's error body `{"Message": "..."}` (`HttpResponse::error`), `(STATUS, T)` with
///   JSON of type `T`, `(STATUS, ())` with no body;
/// - `starts_orchestration = true`: the function starts an orchestration and answers 202 with
///   the check-status response (`DurableClient::create_check_status_response`), which the
///   document describes with its `Location` and `Retry-After` headers.
///
/// Types named there derive `JsonSchema` (from `schemars` 1, also re-exported as
/// `durable::schemars`); without any answers, the operation has a `default` answer. The host
/// adds what it answers itself: 401 for a missing key, 404 for a path parameter that breaks
/// its constraint, 413 for a body over the limit.
///
/// ```no_run
/// use durable::http::{HttpRequest, HttpResponse, StatusCode};
/// use durable::schemars::JsonSchema;
/// use durable::{durable_client, http_trigger, DurableClient};
/// use serde::Deserialize;
///
/// /// An order.
/// #[derive(Deserialize, JsonSchema)]
/// #[schemars(crate = "durable::schemars")]
/// struct Order {
///     /// What is ordered.
///     sku: String,
/// }
///
/// /// Starts the fulfilment of an order.
/// #[http_trigger(
///     methods = ["post"],
///     route = "orders",
///     operation_id = "placeOrder",
///     summary = "Places an order",
///     tags = ["orders"],
///     request_body = Order,
///     responses = [400],
///     starts_orchestration = true,
/// )]
/// async fn place_order(req: HttpRequest, #[durable_client] client: DurableClient) -> HttpResponse {
///     let order: Order = match req.json() {
///         Ok(order) => order,
///         Err(e) => return HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
///     };
///     match client.start_new("fulfil_order", None, &order.sku).await {
///         Ok(id) => client.create_check_status_response(&req, &id),
///         Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
///     }
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn http_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, |args, func| {
        ast::http::parse(args, func).map(|f| gen::http::generate(&f))
    })
}

/// Makes an `async fn` a timer function, run on an NCRONTAB schedule.
///
/// ```no_run
/// use durable::app::TimerInfo;
/// use durable::{durable_client, timer_trigger, DurableClient, Failure};
///
/// #[timer_trigger(schedule = "0 */5 * * * *", run_on_startup = false)]
/// async fn cleanup(timer: TimerInfo, #[durable_client] client: DurableClient) -> Result<(), Failure> {
///     if timer.is_past_due {
///         println!("running late");
///     }
///     client.start_new("cleanup_orchestrator", None, &()).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The function takes `timer: TimerInfo` and optionally a `#[durable_client]
/// client: DurableClient`, and returns nothing or `Result<(), E>` with
/// `E: Into<durable::Failure>`. It stays an ordinary function.
///
/// Arguments: `schedule = "..."` (required): six whitespace-separated fields,
/// `{second} {minute} {hour} {day} {month} {day-of-week}`, checked at compile time;
/// `run_on_startup = true | false` (default `false`); `name = "..."`.
#[proc_macro_attribute]
pub fn timer_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, |args, func| {
        ast::timer::parse(args, func).map(|f| gen::timer::generate(&f))
    })
}

/// Makes an `async fn` a queue function, run for each message on an Azure Storage queue.
///
/// ```no_run
/// use durable::app::QueueMessageInfo;
/// use durable::{durable_client, queue_trigger, DurableClient, Failure};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Order { id: String }
///
/// #[queue_trigger(queue_name = "orders", connection = "AzureWebJobsStorage")]
/// async fn process_order(
///     order: Order,
///     info: QueueMessageInfo,
///     #[durable_client] client: DurableClient,
/// ) -> Result<(), Failure> {
///     println!("attempt {}", info.dequeue_count);
///     client.start_new("fulfil_order", Some(&order.id), &order.id).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The function takes the message body (`String`: UTF-8 text, `Vec<u8>`: the bytes, or any
/// `Deserialize` type: JSON), optionally `info: QueueMessageInfo` and optionally a
/// `#[durable_client] client: DurableClient`, in any order, and returns nothing or
/// `Result<(), E>` with `E: Into<durable::Failure>`. An error, a panic or a body that does
/// not convert fails the run: the message is retried, and moved to `{queue}-poison` after
/// `maxDequeueCount` (host.json `extensions.queues`) failed runs. It stays an ordinary function.
///
/// Arguments: `queue_name = "..."` (required; 3–63 lower-case letters, digits and dashes);
/// `connection = "..."`, the app setting holding the storage connection string (default
/// `AzureWebJobsStorage`); `name = "..."`.
#[proc_macro_attribute]
pub fn queue_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, |args, func| {
        ast::queue::parse(args, func).map(|f| gen::storage::generate(&f))
    })
}

/// Makes an `async fn` a blob function, run once for each new or changed blob version.
///
/// ```no_run
/// use durable::app::BlobInfo;
/// use durable::{blob_trigger, durable_client, DurableClient, Failure};
///
/// #[blob_trigger(path = "weather-results/{requestId}.txt")]
/// async fn weather_result(
///     report: String,
///     info: BlobInfo,
///     #[durable_client] client: DurableClient,
/// ) -> Result<(), Failure> {
///     let id = info.param("requestId").unwrap_or_default();
///     client.raise_event(id, "WeatherResult", &report).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The function takes the blob content (`String`, `Vec<u8>` or any `Deserialize` type:
/// JSON), optionally `info: BlobInfo` (name, container, ETag and the values the path's
/// `{params}` bound) and optionally a `#[durable_client] client: DurableClient`, in any
/// order, and returns nothing or `Result<(), E>` with `E: Into<durable::Failure>`. Each blob
/// version (ETag) runs once across restarts and hosts (receipts in `azure-webjobs-hosts`);
/// after five failed runs it is reported on the `webjobs-blobtrigger-poison` queue.
///
/// Arguments: `path = "container/pattern"` (required; a literal container, then a blob name
/// pattern such as `{name}`, `{name}.{ext}` or `in/{id}.json`); `connection = "..."`, the
/// app setting holding the storage connection string (default `AzureWebJobsStorage`);
/// `name = "..."`.
#[proc_macro_attribute]
pub fn blob_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, |args, func| {
        ast::blob::parse(args, func).map(|f| gen::storage::generate(&f))
    })
}

/// Makes a function or an `impl` block a durable entity (spec §6).
///
/// Function style: the function receives the operation (name, input) and the state through
/// the context, and stays an ordinary function.
///
/// ```no_run
/// use durable::engine::entity::EntityContext;
/// use durable::{entity_trigger, Failure};
///
/// #[entity_trigger]
/// fn counter(ctx: &mut EntityContext) -> Result<(), Failure> {
///     let value: i64 = ctx.get_state(|| 0)?;
///     match ctx.operation_name() {
///         "add" => ctx.set_state(&(value + ctx.get_input::<i64>()?)),
///         "get" => ctx.set_result(&value),
///         "delete" => Ok(ctx.delete_state()),
///         op => Err(Failure::new("UnknownOperation", op)),
///     }
/// }
/// # fn main() {}
/// ```
///
/// Struct style: on an `impl` block of a `Serialize + Deserialize + Default` state type,
/// every `pub fn` taking `&self` or `&mut self` is an operation named after the method
/// (case-insensitively). It takes optionally `ctx: &mut EntityContext`, then at most one
/// input; what it returns (a value, or `Result<T, E>` with `E: Into<durable::Failure>`) is
/// the result of a call. The state is saved after `&mut self` operations; `delete` deletes
/// it unless the type defines its own. The type gains `ENTITY_NAME` and `entity_id(key)`.
///
/// ```no_run
/// use durable::entity_trigger;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// pub struct Tally { value: i64 }
///
/// #[entity_trigger]
/// impl Tally {
///     pub fn add(&mut self, amount: i64) { self.value += amount; }
///     pub fn get(&self) -> i64 { self.value }
/// }
/// # fn main() {}
/// ```
///
/// Operations run one at a time, synchronously. Arguments: `name = "..."` registers the
/// entity under another name (default: the function or type name; entity names are
/// lower-cased).
#[proc_macro_attribute]
pub fn entity_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match ast::entity::parse(args.into(), item.clone()) {
        Ok(entity) => gen::entity::generate(&entity).into(),
        Err(error) => {
            let mut out = error.to_compile_error();
            out.extend(quote::quote!(#[allow(dead_code)]));
            out.extend(item);
            out.into()
        }
    }
}

/// Marks the parameter of an HTTP, timer, queue or blob function that receives the
/// `DurableClient`.
///
/// ```no_run
/// # use durable::http::HttpRequest;
/// # use durable::{durable_client, http_trigger, DurableClient};
/// #[http_trigger]
/// async fn status(req: HttpRequest, #[durable_client] client: DurableClient) -> String {
///     let id = req.query_param("id").unwrap_or_default();
///     format!("{:?}", client.get_status(id).await.ok().flatten().map(|s| s.runtime_status))
/// }
/// # fn main() {}
/// ```
///
/// The trigger attribute on the function reads and removes the marker; on its own the
/// attribute is an error. Orchestrators cannot take a client (they must be deterministic).
#[proc_macro_attribute]
pub fn durable_client(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    if args.to_string() == gen::client_marker::RESOLVE_ONLY {
        // A trigger macro's expansion checking that the marker resolves; see `client_marker`.
        return TokenStream::new();
    }
    let item = proc_macro2::TokenStream::from(item);
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        "#[durable_client] marks a parameter of an HTTP or timer trigger function, e.g. \
         `#[http_trigger] async fn start(req: HttpRequest, #[durable_client] client: \
         DurableClient)`; it cannot be used on an item",
    );
    let mut out = error.to_compile_error();
    out.extend(item);
    out.into()
}

/// Parses the item as a function and runs `generate`; on error, returns the error followed by
/// the function as written (markers removed), so the error is the only one reported.
fn expand(
    args: TokenStream,
    item: TokenStream,
    generate: impl FnOnce(proc_macro2::TokenStream, ItemFn) -> syn::Result<proc_macro2::TokenStream>,
) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "trigger attributes go on an `async fn`",
            );
            let mut out = error.to_compile_error();
            out.extend(item);
            return out.into();
        }
    };
    match generate(args.into(), func.clone()) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut func = func;
            let markers = ast::params::strip_markers(&mut func.sig);
            let mut out = error.to_compile_error();
            out.extend(quote::quote!(#[allow(dead_code)]));
            func.to_tokens(&mut out);
            // Keep `use durable::durable_client;` in use, so the error stays the only message.
            for marker in &markers {
                let resolve = gen::client_marker::resolve(Some(marker));
                out.extend(quote::quote!(const _: () = { #resolve };));
            }
            out.into()
        }
    }
}
