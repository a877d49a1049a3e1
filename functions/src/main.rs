//! The sample function app. Until the HTTP host lands it runs the "Hello cities" chain on
//! the embedded SQLite task hub (kept under `./.durable/`) and prints the result.

mod hello_cities;

use std::sync::Arc;
use std::time::Duration;

use durable::store::sqlite::SqliteTaskHub;
use durable::{Registry, Runtime, RuntimeOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    std::fs::create_dir_all(".durable")?;
    let store = Arc::new(SqliteTaskHub::open(".durable/taskhub.db")?);
    let registry = Registry::new()
        .add_orchestration(hello_cities::HelloCities)
        .add_activity(hello_cities::SayHello);
    let runtime = Runtime::start(store, registry, RuntimeOptions::default()).await?;
    let client = runtime.client();
    let id = client.start_new("hello_cities", None, &()).await?;
    let done = client
        .wait_for_completion(&id, Duration::from_secs(30))
        .await?;
    println!(
        "hello_cities {id}: {} {}",
        done.status.name(),
        done.output.unwrap_or_default()
    );
    runtime.shutdown().await;
    Ok(())
}
