//! The trigger attributes end to end: functions defined with them register themselves,
//! `FunctionApp::collect` finds them with their bindings, and a macro-defined orchestration
//! runs a macro-defined activity and sub-orchestration on the runtime over SQLite.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use durable::app::{AuthLevel, FunctionApp, FunctionContext, TimerInfo};
use durable::http::{HttpRequest, HttpResponse, Method, StatusCode};
use durable::store::sqlite::SqliteTaskHub;
use durable::store::TaskHub;
use durable::{
    activity_trigger, durable_client, http_trigger, orchestration_trigger, timer_trigger, Activity,
    ActivityContext, DurableClient, Failure, Orchestration, OrchestrationContext,
    OrchestrationStatus, Runtime, RuntimeOptions,
};

const WAIT: Duration = Duration::from_secs(30);

mod greetings {
    use super::*;

    /// Greets a city.
    #[activity_trigger]
    pub async fn say_hello(city: String) -> Result<String, Failure> {
        Ok(format!("Hello {city}!"))
    }

    /// Upper-cases, registered under another name; fails on empty input.
    #[activity_trigger(name = "Shout")]
    pub async fn shout(ctx: ActivityContext, text: String) -> Result<String, std::io::Error> {
        if text.is_empty() {
            return Err(std::io::Error::other(format!(
                "nothing to shout for {}",
                ctx.instance_id
            )));
        }
        Ok(text.to_uppercase())
    }
}

mod orchestrations {
    use super::greetings::{say_hello, shout};
    use super::*;

    /// Greets each city, shouting the last greeting.
    #[orchestration_trigger]
    pub async fn greet_all(
        ctx: OrchestrationContext,
        cities: Vec<String>,
    ) -> Result<Vec<String>, Failure> {
        let mut out = Vec::new();
        for city in &cities {
            out.push(ctx.call_activity(say_hello, city.as_str()).await?);
        }
        if let Some(last) = out.pop() {
            out.push(ctx.call_activity(shout, last).await?);
        }
        Ok(out)
    }

    /// The classic chain, through a typed sub-orchestration call.
    #[orchestration_trigger(name = "HelloCities")]
    pub async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, Failure> {
        let cities = vec!["Tokyo".to_string(), "Seattle".into(), "London".into()];
        ctx.call_sub_orchestrator(greet_all, cities)
            .await
            .map_err(Into::into)
    }

    /// Fails through the activity's error.
    #[orchestration_trigger]
    pub async fn shout_nothing(ctx: OrchestrationContext) -> Result<String, Failure> {
        Ok(ctx.call_activity(shout, "").await?)
    }
}

mod web {
    use super::*;

    /// Starts an orchestration named in the route.
    #[http_trigger(methods = ["post"], route = "orchestrators/{name}", auth_level = anonymous)]
    pub async fn http_start(
        req: HttpRequest,
        #[durable_client] client: DurableClient,
    ) -> HttpResponse {
        let name = req.param("name").unwrap_or_default().to_string();
        match client.start_new(&name, None, &()).await {
            Ok(id) => HttpResponse::text(StatusCode::ACCEPTED, id),
            Err(e) => HttpResponse::error(StatusCode::BAD_REQUEST, &e.to_string()),
        }
    }

    /// Defaults: any method, the name as the route, `function` level.
    #[http_trigger]
    pub async fn ping(_req: HttpRequest) -> &'static str {
        "pong"
    }

    /// Client first, renamed, admin only.
    #[http_trigger(name = "Purge", methods = ["delete", "post"], auth_level = admin)]
    pub async fn purge(
        #[durable_client] client: DurableClient,
        req: HttpRequest,
    ) -> Result<String, durable::ClientError> {
        let id = req.query_param("id").unwrap_or_default().to_string();
        Ok(client
            .purge_instance_history(&id)
            .await?
            .instances_deleted
            .to_string())
    }
}

mod timers {
    use super::*;

    /// Starts `HelloCities` when the run is late.
    #[timer_trigger(schedule = "0 */5 * * * *", run_on_startup = true)]
    pub async fn catch_up(
        timer: TimerInfo,
        #[durable_client] client: DurableClient,
    ) -> Result<(), Failure> {
        if timer.is_past_due {
            client
                .start_new("HelloCities", Some("caught-up"), &())
                .await?;
        }
        Ok(())
    }

    /// Does nothing, hourly.
    #[timer_trigger(schedule = "0 0 * * * *", name = "Hourly")]
    pub async fn hourly(_timer: TimerInfo) {}
}

#[test]
fn collect_finds_every_function_with_its_binding() {
    let app = FunctionApp::collect().unwrap();
    let triggers: HashMap<&str, &str> = app
        .functions
        .iter()
        .map(|(n, t)| (n.as_str(), *t))
        .collect();
    let expected = [
        ("say_hello", "activityTrigger"),
        ("Shout", "activityTrigger"),
        ("greet_all", "orchestrationTrigger"),
        ("HelloCities", "orchestrationTrigger"),
        ("shout_nothing", "orchestrationTrigger"),
        ("http_start", "httpTrigger"),
        ("ping", "httpTrigger"),
        ("Purge", "httpTrigger"),
        ("catch_up", "timerTrigger"),
        ("Hourly", "timerTrigger"),
    ];
    assert_eq!(triggers.len(), expected.len(), "{triggers:?}");
    for (name, trigger) in expected {
        assert_eq!(triggers.get(name), Some(&trigger), "{name}");
    }

    let start = app.http_function("http_start").unwrap();
    assert_eq!(start.route, "orchestrators/{name}");
    assert_eq!(start.methods, vec![Method::POST]);
    assert_eq!(start.auth_level, AuthLevel::Anonymous);
    let ping = app.http_function("ping").unwrap();
    assert_eq!(ping.route, "ping");
    assert!(ping.methods.is_empty());
    assert_eq!(ping.auth_level, AuthLevel::Function);
    let purge = app.http_function("purge").unwrap();
    assert_eq!(purge.route, "Purge");
    assert_eq!(purge.methods, vec![Method::DELETE, Method::POST]);
    assert_eq!(purge.auth_level, AuthLevel::Admin);

    let timers: HashMap<&str, _> = app.timers.iter().map(|(n, t)| (n.as_str(), t)).collect();
    assert_eq!(timers["catch_up"].schedule, "0 */5 * * * *");
    assert!(timers["catch_up"].run_on_startup);
    assert_eq!(timers["Hourly"].schedule, "0 0 * * * *");
    assert!(!timers["Hourly"].run_on_startup);

    // The structs carry the registered names and types.
    assert_eq!(
        <orchestrations::hello_cities as Orchestration>::NAME,
        "HelloCities"
    );
    assert_eq!(<greetings::shout as Activity>::NAME, "Shout");
}

async fn start_runtime(app: &FunctionApp) -> (tempfile::TempDir, Runtime, DurableClient) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let rt = Runtime::start(store, app.registry.clone(), RuntimeOptions::default())
        .await
        .unwrap();
    let client = rt.client();
    (dir, rt, client)
}

#[tokio::test]
async fn macro_defined_functions_run_on_the_runtime() {
    let app = FunctionApp::collect().unwrap();
    let (_dir, rt, client) = start_runtime(&app).await;

    let id = client.start_new("HelloCities", None, &()).await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Completed);
    assert_eq!(
        done.output.to_string(),
        r#"["Hello Tokyo!","Hello Seattle!","HELLO LONDON!"]"#
    );

    // An activity's own error type fails the orchestration with its message.
    let id = client.start_new("shout_nothing", None, &()).await.unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Failed);
    let output = done.output.to_string();
    assert!(output.contains("nothing to shout"), "{output}");

    rt.shutdown().await;
}

#[tokio::test]
async fn http_and_timer_handlers_call_the_functions_with_the_client() {
    let app = FunctionApp::collect().unwrap();
    let (_dir, rt, client) = start_runtime(&app).await;
    let context = |name: &str| FunctionContext {
        client: client.clone(),
        function_name: name.into(),
    };

    let mut req = HttpRequest::new(
        Method::POST,
        "/api/orchestrators/HelloCities".parse().unwrap(),
    );
    req.params.insert("name".into(), "HelloCities".into());
    let start = app.http_function("http_start").unwrap();
    let response = (start.handler)(req, context("http_start")).await;
    assert_eq!(response.status, StatusCode::ACCEPTED);
    let id = String::from_utf8(response.body.to_vec()).unwrap();
    let done = client.wait_for_completion(&id, WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Completed);

    let ping = app.http_function("ping").unwrap();
    let response = (ping.handler)(
        HttpRequest::new(Method::GET, "/api/ping".parse().unwrap()),
        context("ping"),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body[..], b"pong");

    let (_, catch_up) = app.timers.iter().find(|(n, _)| n == "catch_up").unwrap();
    let late = TimerInfo {
        is_past_due: true,
        schedule_status: None,
    };
    (catch_up.handler)(late, context("catch_up")).await.unwrap();
    let done = client.wait_for_completion("caught-up", WAIT).await.unwrap();
    assert_eq!(done.runtime_status, OrchestrationStatus::Completed);
    // A function returning nothing reports success.
    let (_, hourly) = app.timers.iter().find(|(n, _)| n == "Hourly").unwrap();
    let on_time = TimerInfo {
        is_past_due: false,
        schedule_status: None,
    };
    (hourly.handler)(on_time, context("Hourly")).await.unwrap();

    rt.shutdown().await;
}
