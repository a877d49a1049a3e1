//! `bench dashboard`: the dashboard's queries against a task hub holding N instances (default
//! 100,000: 90 % completed, 5 % failed, 5 % waiting for an event), answered by the real host
//! in a child process over HTTP, one request at a time on a keep-alive connection.
//!
//! The hub is filled in this process first (SQLite: a runtime on the host's own hub file;
//! `--store azurite`: Instances rows written into the harness's Azurite, which runs too few
//! orchestrations a second to fill it by running them), then the host (`bench host http
//! <dir>`) opens it. The list queries are the page's (newest first,
//! entities left out). Each query runs `REPEAT` times after a warm-up; the
//! line gives p50 and p99 per query, and as its value the slower p50 of the first page and the
//! filtered page.

use std::time::{Duration, Instant};

use bench::host::start_all;
use bench::{durability_label, quantile, registry, temp_dir, Line};
use durable::host::{HostConfig, StorageConfig};
use durable::store::InstanceQuery;
use durable::{OrchestrationStatus, Runtime, RuntimeOptions};

use crate::http_sync::{closed_loop, HostChild};
use crate::Opts;

/// Requests per query.
const REPEAT: u64 = 200;

/// The dashboard workload.
pub(crate) async fn dashboard(o: &Opts) -> anyhow::Result<()> {
    anyhow::ensure!(
        o.full,
        "the dashboard workload runs the host's default store settings"
    );
    let n = o.n.unwrap_or(100_000);
    let dir = temp_dir()?;
    let azurite = o.store == "azurite";
    let (fill_secs, env) = if azurite {
        fill_azurite(n).await?
    } else {
        (fill(dir.path(), n).await?, Vec::new())
    };
    let log = dir.path().join("host.log");
    let dir_arg = dir.path().to_string_lossy().to_string();
    let mut host = HostChild::spawn_with_env(&["http", &dir_arg], &env, &log)?;
    let printed = host.expect("LISTENING ", Duration::from_secs(60))?;
    let addr = host.address(printed)?;
    let waiting = format!("d-{:06}", n / 2 + 1);
    let queries = [
        (
            "first_page",
            "/dashboard/api/instances?top=50&order=newest".to_owned(),
        ),
        (
            "status_page",
            "/dashboard/api/instances?top=50&order=newest&runtimeStatus=Completed".to_owned(),
        ),
        (
            "rare_status_page",
            "/dashboard/api/instances?top=50&order=newest&runtimeStatus=Failed".to_owned(),
        ),
        (
            "name_page",
            "/dashboard/api/instances?top=50&order=newest&name=dash_wait".to_owned(),
        ),
        (
            "prefix_page",
            "/dashboard/api/instances?top=50&instanceIdPrefix=d-0500".to_owned(),
        ),
        (
            "id_order_page",
            "/dashboard/api/instances?top=50".to_owned(),
        ),
        ("counts", "/dashboard/api/counts".to_owned()),
        ("instance", format!("/dashboard/api/instances/{waiting}")),
    ];
    // Azure Storage lists by instance id only.
    let queries: Vec<(&str, String)> = queries
        .into_iter()
        .filter(|(name, _)| !azurite || *name != "id_order_page")
        .map(|(name, path)| match azurite {
            true => (name, path.replace("&order=newest", "")),
            false => (name, path),
        })
        .collect();
    // The host sees what was filled in (counted up to 10,000 rows on Azure Storage).
    let counts = get_json(&addr, "/dashboard/api/counts").await?;
    let seen = if counts["complete"] == true {
        n
    } else {
        n.min(10_000)
    };
    anyhow::ensure!(
        counts["total"] == seen,
        "the host sees {counts} instead of {n} instances"
    );
    let (warm_up, repeat) = if azurite { (3, 20) } else { (20, REPEAT) };
    let mut figures = vec![("fill_seconds".to_owned(), fill_secs)];
    let mut headline: f64 = 0.0;
    let started = Instant::now();
    for (name, path) in &queries {
        closed_loop(&addr, path, 1, warm_up).await?;
        let (lat, _) = closed_loop(&addr, path, 1, repeat).await?;
        let p50 = quantile(&lat, 0.5);
        if matches!(*name, "first_page" | "status_page") {
            headline = headline.max(p50);
        }
        figures.push((format!("{name}_p50_ms"), p50));
        figures.push((format!("{name}_p99_ms"), quantile(&lat, 0.99)));
    }
    let secs = started.elapsed().as_secs_f64();
    let rss = host
        .host_pid()
        .ok()
        .and_then(|pid| bench::peak_rss_mb(Some(pid)));
    drop(host.child.stdin.take());
    let _ = host.expect("PEAK_RSS_MB", Duration::from_secs(30));
    let _ = host.child.wait();
    let (store, durability) = match azurite {
        true => ("azurite", "azure-storage"),
        false => ("sqlite", durability_label(o.full)),
    };
    let mut line = Line::new(
        "dashboard",
        store,
        durability,
        n,
        secs,
        headline,
        "ms p50 (first page, filtered page)",
    );
    for (name, value) in figures {
        line = line.with(&name, value);
    }
    line.print(rss);
    Ok(())
}

/// Fills the host's hub in `dir` with `n` finished or waiting instances; returns the seconds.
async fn fill(dir: &std::path::Path, n: u64) -> anyhow::Result<f64> {
    let StorageConfig::Sqlite { path } = HostConfig::load(dir)?.storage else {
        anyhow::bail!("the dashboard workload fills a SQLite task hub");
    };
    std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
    let store = std::sync::Arc::new(durable::store::sqlite::SqliteTaskHub::open(&path)?);
    let rt = Runtime::start(store, registry(), RuntimeOptions::default()).await?;
    let client = rt.client();
    let t0 = Instant::now();
    eprintln!("dashboard: filling the hub with {n} instances");
    let ids = |range: std::ops::Range<u64>| range.map(|i| format!("d-{i:06}")).collect();
    let (fail_from, wait_from) = (n * 90 / 100, n * 95 / 100);
    start_all(&client, "dash_done", ids(0..fail_from), 64).await?;
    start_all(&client, "dash_fail", ids(fail_from..wait_from), 64).await?;
    start_all(&client, "dash_wait", ids(wait_from..n), 64).await?;
    // Until every instance has run its first episode (the waiting ones stay Running).
    let everything = InstanceQuery {
        instance_id_prefix: Some("d-".into()),
        ..InstanceQuery::default()
    };
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let counts = client.store().count_instances(&everything).await?;
        let running = counts
            .get(&OrchestrationStatus::Running)
            .copied()
            .unwrap_or(0);
        if !counts.contains_key(&OrchestrationStatus::Pending) && running == n - wait_from {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the hub was not filled in time: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    rt.shutdown().await;
    Ok(secs)
}

/// Fills the Instances table of a new hub in the harness's Azurite with `n` rows written
/// directly (Azurite runs some 13 orchestrations a second, too slow to fill it by running
/// them); answers the seconds and the host's settings for that hub.
async fn fill_azurite(n: u64) -> anyhow::Result<(f64, Vec<(&'static str, String)>)> {
    use durable::store::azure::{AzureTaskHub, StorageAccount};
    use durable::store::InstanceState;
    let emulator =
        durable_testing::azurite::shared().map_err(|e| anyhow::anyhow!("Azurite: {e}"))?;
    let connection = emulator.connection_string();
    let account = StorageAccount::from_connection_string(&connection)?;
    let hub = format!("Dash{}", std::process::id());
    let store = AzureTaskHub::new(account.clone(), &hub)?;
    durable::store::OrchestrationService::create_if_not_exists(&store).await?;
    let clients = durable_azure_storage::StorageClients::new(account)?;
    let table = std::sync::Arc::new(clients.table(&format!("{hub}Instances")));
    let (fail_from, wait_from) = (n * 90 / 100, n * 95 / 100);
    let t0 = Instant::now();
    eprintln!("dashboard: writing {n} Instances rows into Azurite");
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let base = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (table, next, hub) = (table.clone(), next.clone(), hub.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                let (name, status) = match i {
                    i if i < fail_from => ("dash_done", OrchestrationStatus::Completed),
                    i if i < wait_from => ("dash_fail", OrchestrationStatus::Failed),
                    _ => ("dash_wait", OrchestrationStatus::Running),
                };
                let created = base + chrono::Duration::milliseconds(i as i64);
                let row = InstanceState {
                    instance_id: format!("d-{i:06}"),
                    execution_id: format!("e{i}"),
                    name: name.to_owned(),
                    version: None,
                    status,
                    input: None,
                    output: None,
                    custom_status: None,
                    failure_details: None,
                    parent_instance_id: None,
                    created_at: created,
                    last_updated_at: created,
                    completed_at: None,
                    history_len: 0,
                    tags: Default::default(),
                };
                let entity = durable::store::azure::instances::to_entity(&hub, &row);
                table.insert(&entity).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let env = vec![("AzureWebJobsStorage", connection), ("TaskHubName", hub)];
    Ok((t0.elapsed().as_secs_f64(), env))
}

/// One GET's JSON answer.
async fn get_json(addr: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    use tokio::io::AsyncWriteExt;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let mut stream = tokio::io::BufReader::new(stream);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.get_mut().write_all(request.as_bytes()).await?;
    let body = crate::http_sync::read_response(&mut stream).await?;
    Ok(serde_json::from_slice(&body)?)
}
