//! One request through the host: pick the target (user function, management API, host
//! status), check the key, read the body within the limit, and run the handler in its own
//! task so a panic becomes a 500 and the host keeps serving.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use super::keys::{presented_key, HostKeys};
use super::request_body::read_body;
use super::router::{RouteError, RouteMatch, Router};
use super::server::InFlight;
use crate::app::{AuthLevel, FunctionApp, FunctionContext, HttpFunction};
use crate::http_api::{DurableApi, WEBHOOK_PATH};
use crate::openapi::{BuiltInRoute, DocumentInfo, OpenApi};
use crate::request_span::RequestSpan;
use durable_client::DurableClient;
use durable_engine::trace::SpanContext;
use durable_http::{HttpRequest, HttpResponse};
use tracing::Instrument;

/// The host's status (`{"state": "Running"}`, or 503 `Error` once the task hub failed).
pub const STATUS_PATH: &str = "/admin/host/status";

/// Liveness: 200 as long as the process serves HTTP (the path Azure Functions uses).
pub const PING_PATH: &str = "/admin/host/ping";

/// Readiness: 200 while the host takes work; 503 once it drains for shutdown or its task hub
/// failed.
pub const READY_PATH: &str = "/admin/host/ready";

/// Request handling settings.
#[derive(Debug, Clone)]
pub struct RequestOptions {
    /// The path prefix of user functions (`api`; may be empty).
    pub route_prefix: String,
    /// The largest request body accepted, in bytes.
    pub max_request_body: u64,
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// The longest an HTTP function may run.
    pub function_timeout: Option<Duration>,
    /// The management API and the scale endpoints need no key.
    pub local_development: bool,
    /// What one worker takes on, for the recommended worker count.
    pub scale: crate::scale::ScaleTargets,
    /// The metrics `/admin/metrics` answers; requests are counted into them.
    pub metrics: Arc<crate::metrics::HostMetrics>,
    /// The title and version of the OpenAPI document.
    pub openapi: DocumentInfo,
}

/// An HTTP function under its name.
struct Route {
    name: Arc<str>,
    function: HttpFunction,
}

/// Answers requests.
pub struct RequestHandler {
    routes: Vec<Route>,
    /// The app's routes, then the built-in [`BuiltInRoute`]s.
    router: Router,
    openapi: OpenApi,
    keys: HostKeys,
    client: DurableClient,
    api: DurableApi,
    options: RequestOptions,
    in_flight: InFlight,
    draining: Arc<std::sync::atomic::AtomicBool>,
}

/// A route template of a function that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("HTTP function {function:?}: {source}")]
pub struct BadRoute {
    /// The function.
    pub function: String,
    /// The problem.
    pub source: RouteError,
}

enum Target {
    /// Answered without reading the body (404, 405, 400).
    Answer(HttpResponse),
    Status,
    Ping,
    Ready,
    /// The autoscaler's view (`scale.rs`); `true`: as Prometheus text.
    Scale(bool),
    /// The host's metrics (`metrics.rs`).
    Metrics,
    Management(String),
    /// The dashboard (`dashboard/`): the path below it.
    Dashboard(String),
    /// The OpenAPI document or its page (`openapi/`).
    OpenApi(BuiltInRoute),
    Function {
        index: usize,
        params: std::collections::HashMap<String, String>,
    },
}

impl RequestHandler {
    /// The host's status: 200 `Running`, or 503 `Error` with the reason once the task hub has
    /// failed for good (the host is then on its way out, for a supervisor to restart it).
    fn status(&self) -> HttpResponse {
        match self.client.store().signals().failure.reason() {
            None => HttpResponse::ok_json(&serde_json::json!({ "state": "Running" })),
            Some(reason) => {
                let mut response = HttpResponse::ok_json(&serde_json::json!({
                    "state": "Error",
                    "errors": [reason],
                }));
                response.status = StatusCode::SERVICE_UNAVAILABLE;
                response
            }
        }
    }

    /// Readiness: 200 `{"ready": true}` while the host takes work, else 503 with the reason.
    fn readiness(&self) -> HttpResponse {
        let reason = match self.client.store().signals().failure.reason() {
            Some(failure) => Some(failure.to_string()),
            None if self.draining.load(std::sync::atomic::Ordering::Acquire) => {
                Some("the host is shutting down".to_string())
            }
            None => None,
        };
        match reason {
            None => HttpResponse::ok_json(&serde_json::json!({ "ready": true })),
            Some(reason) => {
                let mut response =
                    HttpResponse::ok_json(&serde_json::json!({ "ready": false, "reason": reason }));
                response.status = StatusCode::SERVICE_UNAVAILABLE;
                response
            }
        }
    }

    /// Builds the requests for `app`'s HTTP functions.
    pub fn new(
        app: Arc<FunctionApp>,
        keys: HostKeys,
        client: DurableClient,
        options: RequestOptions,
        in_flight: InFlight,
        draining: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<Self, BadRoute> {
        let routes: Vec<Route> = app
            .http
            .iter()
            .map(|(name, f)| Route {
                name: Arc::from(name.as_str()),
                function: f.clone(),
            })
            .collect();
        let mut templates: Vec<(String, Vec<Method>)> = routes
            .iter()
            .map(|r| (route_of(&r.name, &r.function), r.function.methods.clone()))
            .collect();
        for (r, (t, _)) in routes.iter().zip(&templates) {
            super::router::RouteTemplate::parse(t).map_err(|source| BadRoute {
                function: r.name.to_string(),
                source,
            })?;
        }
        // After the app's routes: among equally specific routes the first wins, so an app
        // route of the same path and method keeps it.
        templates.extend(
            BuiltInRoute::ALL.map(|b| (b.route().to_string(), vec![Method::GET, Method::HEAD])),
        );
        let router = Router::new(templates.iter().map(|(t, m)| (t.as_str(), m.as_slice())))
            .expect("templates were checked one by one");
        for built_in in BuiltInRoute::ALL {
            if let RouteMatch::Found { index, .. } =
                router.resolve(&Method::GET, &format!("/{}", built_in.route()))
            {
                if let Some(shadowing) = routes.get(index) {
                    tracing::warn!(
                        function = %shadowing.name,
                        route = built_in.route(),
                        "the HTTP function's route takes the place of the host's OpenAPI route"
                    );
                }
            }
        }
        let openapi = OpenApi::new(&app, &options.route_prefix, &options.openapi);
        let api = DurableApi {
            client: client.clone(),
            app,
        };
        Ok(Self {
            routes,
            router,
            openapi,
            keys,
            client,
            api,
            options,
            in_flight,
            draining,
        })
    }

    /// Answers one request.
    pub async fn handle(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let method = parts.method.clone();
        let path = parts.uri.path().to_string();
        let target = self.target(&method, &path);
        let route = match &target {
            Target::Answer(_) => "none",
            Target::Management(_) => "durabletask",
            Target::OpenApi(_) => "openapi",
            Target::Function { index, .. } => &*self.routes[*index].name,
            _ => "admin",
        }
        .to_owned();
        let span = self.request_span(&target, &parts.headers, &method);
        let parent = span.as_ref().map(RequestSpan::context);
        let response = match target {
            Target::Answer(early) => early,
            target => {
                let mut req = HttpRequest::new(parts.method, parts.uri);
                req.headers = parts.headers;
                self.serve(target, req, body, parent).await
            }
        };
        if let Some(span) = span {
            span.end(self.client.tracer(), response.status.as_u16(), &path);
        }
        self.options
            .metrics
            .request(&route, response.status.as_u16(), started.elapsed());
        tracing::debug!(
            %method,
            path,
            status = response.status.as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        into_hyper(response)
    }

    /// The span of a request to a function or the management API (not probes or metrics).
    fn request_span(
        &self,
        target: &Target,
        headers: &HeaderMap,
        method: &Method,
    ) -> Option<RequestSpan> {
        let route = match target {
            Target::Function { index, .. } => {
                let r = &self.routes[*index];
                let template = route_of(&r.name, &r.function);
                match self.options.route_prefix.as_str() {
                    "" => format!("/{template}"),
                    prefix => format!("/{prefix}/{template}"),
                }
            }
            Target::Management(rest) => {
                let kind = rest
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or_default();
                format!("{WEBHOOK_PATH}/{kind}")
            }
            _ => return None,
        };
        RequestSpan::begin(self.client.tracer(), headers, method, route)
    }

    fn target(&self, method: &Method, path: &str) -> Target {
        let probe = if path.eq_ignore_ascii_case(STATUS_PATH) {
            Some(Target::Status)
        } else if path.eq_ignore_ascii_case(PING_PATH) {
            Some(Target::Ping)
        } else if path.eq_ignore_ascii_case(READY_PATH) {
            Some(Target::Ready)
        } else if path.eq_ignore_ascii_case(crate::scale::SCALE_PATH) {
            Some(Target::Scale(false))
        } else if path.eq_ignore_ascii_case(crate::scale::SCALE_METRICS_PATH) {
            Some(Target::Scale(true))
        } else if path.eq_ignore_ascii_case(crate::metrics::METRICS_PATH) {
            Some(Target::Metrics)
        } else {
            None
        };
        if let Some(target) = probe {
            return if method == Method::GET || method == Method::HEAD {
                target
            } else {
                Target::Answer(method_not_allowed(method, path, &[Method::GET]))
            };
        }
        if let Some(rest) = strip_prefix_ci(path, WEBHOOK_PATH) {
            return Target::Management(rest.to_string());
        }
        if let Some(rest) = strip_prefix_ci(path, crate::dashboard::DASHBOARD_PATH) {
            return Target::Dashboard(rest.to_string());
        }
        let prefix = &self.options.route_prefix;
        let below = if prefix.is_empty() {
            Some(path)
        } else {
            strip_prefix_ci(path.strip_prefix('/').unwrap_or(path), prefix)
        };
        let Some(below) = below else {
            return Target::Answer(not_found(method, path));
        };
        match self.router.resolve(method, below) {
            RouteMatch::Found { index, .. } if index >= self.routes.len() => {
                match BuiltInRoute::ALL.get(index - self.routes.len()) {
                    Some(built_in) => Target::OpenApi(*built_in),
                    None => Target::Answer(not_found(method, path)),
                }
            }
            RouteMatch::Found { index, params } => Target::Function { index, params },
            RouteMatch::MethodNotAllowed { allow } => {
                Target::Answer(method_not_allowed(method, path, &allow))
            }
            RouteMatch::NotFound => Target::Answer(not_found(method, path)),
            RouteMatch::BadPath => Target::Answer(HttpResponse::error(
                StatusCode::BAD_REQUEST,
                "the request path does not percent-decode to UTF-8",
            )),
        }
    }

    /// Answers a request; what its handler starts is traced under `span`.
    async fn serve(
        &self,
        target: Target,
        mut req: HttpRequest,
        body: Incoming,
        span: Option<SpanContext>,
    ) -> HttpResponse {
        match target {
            Target::Answer(response) => response,
            Target::Status => self.status(),
            Target::Ping => HttpResponse::new(StatusCode::OK),
            Target::Ready => self.readiness(),
            Target::Scale(prometheus) => {
                if !self.options.local_development
                    && !self.keys.allows(AuthLevel::Admin, presented_key(&req))
                {
                    return HttpResponse::error(
                        StatusCode::UNAUTHORIZED,
                        "the scale endpoints need the master key, as the x-functions-key \
                         header or the code query parameter",
                    );
                }
                crate::scale::answer(&**self.client.store(), self.options.scale, prometheus).await
            }
            Target::Metrics => {
                if !self.options.local_development
                    && !self.keys.allows_management(presented_key(&req))
                {
                    return HttpResponse::error(
                        StatusCode::UNAUTHORIZED,
                        "the metrics need the durabletask system key or the master key, as the \
                         x-functions-key header or the code query parameter",
                    );
                }
                self.options
                    .metrics
                    .answer(&**self.client.store(), self.options.scale)
                    .await
            }
            Target::Management(rest) => {
                if !self.options.local_development
                    && !self.keys.allows_management(presented_key(&req))
                {
                    return HttpResponse::error(
                        StatusCode::UNAUTHORIZED,
                        "the durable task management API needs the durabletask system key or \
                         the master key, as the x-functions-key header or the code query parameter",
                    );
                }
                req.body = match read_body(body, &req.headers, &self.options).await {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                let mut api = self.api.clone();
                api.client = api.client.with_trace_parent(span);
                self.invoke("durabletask", async move {
                    crate::http_api::handle(&api, &rest, req).await
                })
                .await
            }
            Target::OpenApi(route) => self.openapi.answer(route),
            Target::Dashboard(rest) => {
                let authorized = self.options.local_development
                    || self.keys.allows_management(presented_key(&req));
                crate::dashboard::serve(&self.api, &rest, &req, authorized).await
            }
            Target::Function { index, params } => {
                let route = &self.routes[index];
                let level = route.function.auth_level;
                if !self.keys.allows(level, presented_key(&req)) {
                    return unauthorized(&route.name, level);
                }
                req.params = params;
                req.body = match read_body(body, &req.headers, &self.options).await {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                let handler = route.function.handler.clone();
                let ctx = FunctionContext {
                    client: self.client.clone().with_trace_parent(span),
                    function_name: route.name.clone(),
                };
                let started = Instant::now();
                let invocation_id = uuid::Uuid::new_v4();
                let span = durable_runtime::execution_log::span("http", &route.name, "");
                durable_runtime::execution_log::trace(
                    &span,
                    ctx.client.trace_parent().map(|c| c.trace_id),
                );
                let reason = format!("{} {}", req.method, req.uri.path());
                span.in_scope(|| tracing::info!(%invocation_id, %reason, "executing"));
                let run = async move { handler(req, ctx).await }.instrument(span.clone());
                let response = self.invoke(&route.name, run).await;
                let status = response.status.as_u16();
                span.in_scope(|| {
                    tracing::info!(
                        %invocation_id,
                        outcome = if status < 500 { "Succeeded" } else { "Failed" },
                        status,
                        duration_ms = started.elapsed().as_millis() as u64,
                        "executed"
                    )
                });
                response
            }
        }
    }

    /// Runs a handler in its own task: a panic becomes a 500, the function timeout applies,
    /// and the work counts as in flight (even if the client goes away) until it ends.
    async fn invoke<F>(&self, function: &str, work: F) -> HttpResponse
    where
        F: Future<Output = HttpResponse> + Send + 'static,
    {
        let guard = self.in_flight.enter();
        let task = tokio::spawn(async move {
            let response = work.await;
            drop(guard);
            response
        });
        let abort = task.abort_handle();
        let joined = match self.options.function_timeout {
            None => task.await,
            Some(limit) => match tokio::time::timeout(limit, task).await {
                Ok(joined) => joined,
                Err(_) => {
                    abort.abort();
                    tracing::error!(
                        function,
                        timeout_ms = limit.as_millis() as u64,
                        "function timed out"
                    );
                    return HttpResponse::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!(
                            "function {function:?} did not finish within the function timeout ({}s)",
                            limit.as_secs_f64()
                        ),
                    );
                }
            },
        };
        match joined {
            Ok(response) => response,
            Err(e) => {
                let reason = if e.is_panic() {
                    panic_message(e.into_panic())
                } else {
                    "cancelled".to_string()
                };
                tracing::error!(function, reason, "function panicked");
                HttpResponse::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("function {function:?} failed with an internal error"),
                )
            }
        }
    }
}

/// The route of an HTTP function: its template, or its name when it has none.
pub fn route_of(name: &str, f: &HttpFunction) -> String {
    let route = f.route.trim_matches('/');
    if route.is_empty() {
        name.to_string()
    } else {
        route.to_string()
    }
}

/// `path` without `prefix` (case-insensitive) if it is a whole-segment prefix.
fn strip_prefix_ci<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let head = path.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &path[prefix.len()..];
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn not_found(method: &Method, path: &str) -> HttpResponse {
    HttpResponse::error(
        StatusCode::NOT_FOUND,
        &format!("no function or endpoint matches {method} {path}"),
    )
}

fn method_not_allowed(method: &Method, path: &str, allow: &[Method]) -> HttpResponse {
    let allow = allow
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    HttpResponse::error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{path} does not accept {method}; it accepts {allow}"),
    )
    .with_header(ALLOW, &allow)
}

fn unauthorized(function: &str, level: AuthLevel) -> HttpResponse {
    let needs = match level {
        AuthLevel::Admin => "the master key",
        _ => "a function key or the master key",
    };
    HttpResponse::error(
        StatusCode::UNAUTHORIZED,
        &format!(
            "function {function:?} needs {needs}, as the x-functions-key header or the code query parameter"
        ),
    )
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-text panic payload".to_string()
    }
}

fn into_hyper(r: HttpResponse) -> hyper::Response<Full<Bytes>> {
    let mut headers = r.headers;
    // hyper frames the body itself; a handler's own framing headers could contradict it.
    headers.remove(CONTENT_LENGTH);
    headers.remove(TRANSFER_ENCODING);
    let mut response = hyper::Response::new(Full::new(r.body));
    *response.status_mut() = r.status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments_case_insensitively() {
        assert_eq!(strip_prefix_ci("api/x", "api"), Some("/x"));
        assert_eq!(strip_prefix_ci("API", "api"), Some(""));
        assert_eq!(strip_prefix_ci("apix/y", "api"), None);
        assert_eq!(
            strip_prefix_ci("/Runtime/Webhooks/DurableTask/instances", WEBHOOK_PATH),
            Some("/instances")
        );
        assert_eq!(strip_prefix_ci("/é", "/a"), None);
    }
}
