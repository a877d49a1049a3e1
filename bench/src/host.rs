//! The host processes W4 and W7 run in: the real function host ([`FunctionHost`]) with the
//! workloads' functions registered, started by the runner as a child process (`bench host ...`).

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use durable::app::{AuthLevel, FunctionApp, FunctionContext, FunctionKind, HttpFunction};
use durable::host::{FunctionHost, HostConfig, StorageConfig};
use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::store::TaskHub;
use durable::{DurableClient, OrchestrationStatus, Runtime, RuntimeOptions};
use tokio::io::AsyncReadExt;

use crate::{any_unfinished, list_instances, peak_rss_mb, registry, HELLO5_LAST_STEPS};

/// The route of W4's HTTP function (`GET /api/sync`).
pub const SYNC_ROUTE: &str = "sync";

/// Instance id prefix of W7.
pub const W7_PREFIX: &str = "w7-";

/// The instance id of W7's orchestration `i`.
pub fn w7_id(i: u64) -> String {
    format!("{W7_PREFIX}{i:06}")
}

/// The host's configuration: the app directory `dir` (no configuration files needed), the
/// replay check off, any free port on the loopback interface; in a container (whose image sets
/// `FUNCTIONS_HTTP_PORT` and turns local development off), the image's port and address.
fn config(dir: &Path) -> anyhow::Result<HostConfig> {
    let mut config = HostConfig::load(dir)?;
    // Measured as deployed: the development replay check (on in local development mode)
    // replays every episode.
    config.replay_check = false;
    if std::env::var_os("FUNCTIONS_HTTP_PORT").is_none() {
        config.port = 0;
        config.bind_address = [127, 0, 0, 1].into();
    }
    Ok(config)
}

/// The app: the workloads' orchestrators and activities, and W4's sync-over-async function.
fn app() -> anyhow::Result<FunctionApp> {
    let mut app = FunctionApp {
        registry: registry(),
        ..FunctionApp::default()
    };
    app.add(
        "bench_sync",
        FunctionKind::Http(HttpFunction {
            methods: vec![http::Method::GET],
            route: SYNC_ROUTE.to_string(),
            auth_level: AuthLevel::Anonymous,
            operation: Default::default(),
            handler: Arc::new(|_req: HttpRequest, ctx: FunctionContext| {
                Box::pin(async move { sync_over_async(ctx.client).await })
            }),
        }),
    )?;
    Ok(app)
}

/// Starts a one-activity orchestration and answers with its output once it has completed.
async fn sync_over_async(client: DurableClient) -> HttpResponse {
    let id = match client.start_new("one_activity", None, &1u64).await {
        Ok(id) => id,
        Err(e) => return HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    match client
        .wait_for_completion(&id, Duration::from_secs(60))
        .await
    {
        Ok(done) if done.runtime_status == OrchestrationStatus::Completed => {
            HttpResponse::new(StatusCode::OK).with_body(done.output.to_string())
        }
        Ok(done) => HttpResponse::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("ended {}", done.runtime_status.name()),
        ),
        Err(e) => HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `bench host http <dir>`: runs the host, prints `LISTENING <addr>`, and stops when stdin
/// closes, printing `PEAK_RSS_MB <mb>` first.
pub async fn run_http(dir: &Path) -> anyhow::Result<()> {
    let host = FunctionHost::start(config(dir)?, app()?).await?;
    println!("LISTENING {}", host.local_addr());
    wait_for_stdin_eof().await;
    println!("PEAK_RSS_MB {:.1}", peak_rss_mb(None).unwrap_or(f64::NAN));
    host.shutdown().await;
    Ok(())
}

async fn wait_for_stdin_eof() {
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    while let Ok(k) = stdin.read(&mut buf).await {
        if k == 0 {
            break;
        }
    }
}

/// `bench host w7 <dir> <n> [short-locks]`: W1 inside the host. Starts the hello5 instances
/// `w7-000000..` that do not exist yet, prints `DB <path>`, `STARTED`, `PROGRESS <k>` lines
/// (last steps run in this process) and finally `ALL DONE <peak rss mb>` once no instance is
/// unfinished.
///
/// By default this is the real function host, with the runtime options every app gets
/// (orchestration lock 60 s, activity lock 300 s). With `short-locks` it runs the runtime
/// directly with 2 s locks (as the crash test does), to show recovery without lock expiry.
pub async fn run_w7(dir: &Path, n: u64, short_locks: bool) -> anyhow::Result<()> {
    let config = config(dir)?;
    let StorageConfig::Sqlite { path } = &config.storage else {
        anyhow::bail!("W7 needs the SQLite task hub");
    };
    // keep whichever runs alive until the end
    let (client, _host, _runtime) = if short_locks {
        std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
        let store: Arc<dyn TaskHub> = Arc::new(durable::store::sqlite::SqliteTaskHub::open(path)?);
        let options = RuntimeOptions {
            orchestration_lock: Duration::from_secs(2),
            activity_lock: Duration::from_secs(2),
            ..RuntimeOptions::default()
        };
        let rt = Runtime::start(store, registry(), options).await?;
        (rt.client(), None, Some(rt))
    } else {
        let host = FunctionHost::start(config.clone(), app()?).await?;
        (host.client().clone(), Some(host), None)
    };
    let store = client.store().clone();
    println!("DB {}", path.display());

    let progress = tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            println!("PROGRESS {}", HELLO5_LAST_STEPS.load(Ordering::Relaxed));
        }
    });

    let existing: HashSet<String> = list_instances(&store, W7_PREFIX)
        .await?
        .into_iter()
        .map(|s| s.instance_id)
        .collect();
    let missing: Vec<String> = (0..n)
        .map(w7_id)
        .filter(|id| !existing.contains(id))
        .collect();
    start_all(&client, "hello5", missing, 64).await?;
    println!("STARTED");
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if !any_unfinished(&store, W7_PREFIX).await? {
            break;
        }
    }
    progress.abort();
    println!("ALL DONE {:.1}", peak_rss_mb(None).unwrap_or(f64::NAN));
    Ok(())
}

/// Starts `name` under each id, `concurrency` starts at a time.
pub async fn start_all(
    client: &DurableClient,
    name: &'static str,
    ids: Vec<String>,
    concurrency: usize,
) -> anyhow::Result<()> {
    let ids = Arc::new(ids);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, ids, next) = (client.clone(), ids.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = ids.get(i) else {
                    return anyhow::Ok(());
                };
                client.start_new(name, Some(id), &(i as u64)).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
