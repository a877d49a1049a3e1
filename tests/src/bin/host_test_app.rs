//! A small function app for the host's end-to-end tests (`tests/tests/host_*.rs`). Its
//! functions are registered by hand with `inventory::submit!`, the way the trigger attributes
//! register them, and `main` is the host's own.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use durable::app::{
    AuthLevel, FunctionContext, FunctionKind, FunctionRegistration, HttpFunction, TimerFunction,
};
use durable::engine::function::{activity_fn, orchestrator_fn};
use durable::http::{HttpRequest, HttpResponse, Method, StatusCode};
use durable::{ActivityContext, OrchestrationContext};
use serde_json::json;

type Handler = fn(
    HttpRequest,
    FunctionContext,
) -> durable::__private::futures::future::BoxFuture<'static, HttpResponse>;

fn http(methods: &[Method], route: &str, auth_level: AuthLevel, handler: Handler) -> FunctionKind {
    FunctionKind::Http(HttpFunction {
        methods: methods.to_vec(),
        route: route.to_string(),
        auth_level,
        operation: Default::default(),
        handler: Arc::new(handler),
    })
}

/// GET hello/{name}: echoes the route parameter and a query parameter.
fn hello() -> FunctionKind {
    http(
        &[Method::GET],
        "hello/{name}",
        AuthLevel::Anonymous,
        |req, ctx| {
            Box::pin(async move {
                HttpResponse::ok_json(&json!({
                    "function": &*ctx.function_name,
                    "name": req.param("name"),
                    "greeting": req.query_param("greeting"),
                }))
            })
        },
    )
}

/// GET items/{id:int}/{detail?}: an optional trailing parameter and a constraint.
fn items() -> FunctionKind {
    http(
        &[Method::GET, Method::DELETE],
        "items/{id:int}/{detail?}",
        AuthLevel::Anonymous,
        |req, _| {
            Box::pin(async move {
                HttpResponse::ok_json(&json!({
                    "method": req.method.as_str(),
                    "id": req.param("id"),
                    "detail": req.param("detail"),
                }))
            })
        },
    )
}

/// POST echo (function key): answers with the JSON body it was sent.
fn echo() -> FunctionKind {
    http(&[Method::POST], "echo", AuthLevel::Function, |req, _| {
        Box::pin(async move {
            match req.json::<serde_json::Value>() {
                Ok(v) => HttpResponse::ok_json(&json!({ "echo": v })),
                Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
            }
        })
    })
}

/// GET admin-only (master key).
fn admin_only() -> FunctionKind {
    http(&[Method::GET], "admin-only", AuthLevel::Admin, |_, _| {
        Box::pin(async move { HttpResponse::ok_json(&json!({ "admin": true })) })
    })
}

/// GET openapi.yaml: the app's own, which takes the place of the host's OpenAPI YAML.
fn own_openapi_yaml() -> FunctionKind {
    http(
        &[Method::GET],
        "openapi.yaml",
        AuthLevel::Anonymous,
        |_, _| Box::pin(async move { HttpResponse::text(StatusCode::OK, "the app's own") }),
    )
}

/// GET panics: panics.
fn panics() -> FunctionKind {
    http(&[Method::GET], "panics", AuthLevel::Anonymous, |req, _| {
        Box::pin(async move {
            if req.method == Method::GET {
                panic!("this function always panics");
            }
            HttpResponse::new(StatusCode::OK)
        })
    })
}

/// GET slow/{ms}: says on stdout that it started, sleeps, answers.
fn slow() -> FunctionKind {
    http(
        &[Method::GET],
        "slow/{ms:int}",
        AuthLevel::Anonymous,
        |req, _| {
            Box::pin(async move {
                let ms: u64 = req.param("ms").and_then(|m| m.parse().ok()).unwrap_or(0);
                println!("slow: started {ms}");
                tokio::time::sleep(Duration::from_millis(ms)).await;
                HttpResponse::ok_json(&json!({ "slept_ms": ms }))
            })
        },
    )
}

/// GET setting/{name}: the value of an app setting as the process environment has it.
fn setting() -> FunctionKind {
    http(
        &[Method::GET],
        "setting/{name}",
        AuthLevel::Anonymous,
        |req, _| {
            Box::pin(async move {
                let name = req.param("name").unwrap_or_default();
                HttpResponse::ok_json(&json!({ "value": std::env::var(name).ok() }))
            })
        },
    )
}

/// POST greet/{name}: starts the `greet` orchestration and waits for its output.
fn start_greet() -> FunctionKind {
    http(
        &[Method::POST],
        "greet/{name}",
        AuthLevel::Anonymous,
        |req, ctx| {
            Box::pin(async move {
                let name = req.param("name").unwrap_or_default().to_string();
                let result = async {
                    let id = ctx.client.start_new("greet", None, &name).await?;
                    ctx.client
                        .wait_for_completion(&id, Duration::from_secs(20))
                        .await
                }
                .await;
                match result {
                    Ok(done) => HttpResponse::ok_json(&json!({
                        "status": done.runtime_status.name(),
                        "output": done.output,
                        "hub": ctx.client.management().hub_name,
                    })),
                    Err(e) => {
                        HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
                    }
                }
            })
        },
    )
}

/// A timer that runs once at start-up (its schedule, once a year, does not come up in a test)
/// and says so on stdout.
fn tick() -> FunctionKind {
    FunctionKind::Timer(TimerFunction {
        schedule: "0 0 0 1 1 *".to_string(),
        run_on_startup: true,
        handler: Arc::new(|info, ctx| {
            Box::pin(async move {
                println!(
                    "timer: {} ran, past due {}",
                    ctx.function_name, info.is_past_due
                );
                Ok(())
            })
        }),
    })
}

/// The `greet` orchestrator: calls `say_hi`.
fn greet() -> FunctionKind {
    FunctionKind::Orchestrator(orchestrator_fn(
        "greet",
        |ctx: OrchestrationContext, name: String| async move {
            Ok(ctx
                .call_activity_by_name::<_, String>("say_hi", &name)
                .await?)
        },
    ))
}

/// The `say_hi` activity.
fn say_hi() -> FunctionKind {
    FunctionKind::Activity(activity_fn(
        "say_hi",
        |_ctx: ActivityContext, name: String| async move { Ok(format!("Hi {name}!")) },
    ))
}

durable::__private::inventory::submit! { FunctionRegistration { name: "hello", make: hello } }
durable::__private::inventory::submit! { FunctionRegistration { name: "items", make: items } }
durable::__private::inventory::submit! { FunctionRegistration { name: "echo", make: echo } }
durable::__private::inventory::submit! { FunctionRegistration { name: "admin_only", make: admin_only } }
durable::__private::inventory::submit! { FunctionRegistration { name: "panics", make: panics } }
durable::__private::inventory::submit! { FunctionRegistration { name: "slow", make: slow } }
durable::__private::inventory::submit! { FunctionRegistration { name: "setting", make: setting } }
durable::__private::inventory::submit! { FunctionRegistration { name: "start_greet", make: start_greet } }
durable::__private::inventory::submit! { FunctionRegistration { name: "tick", make: tick } }
durable::__private::inventory::submit! { FunctionRegistration { name: "greet", make: greet } }
durable::__private::inventory::submit! { FunctionRegistration { name: "say_hi", make: say_hi } }
durable::__private::inventory::submit! { FunctionRegistration { name: "own_openapi_yaml", make: own_openapi_yaml } }

fn main() -> ExitCode {
    durable::host::main()
}
