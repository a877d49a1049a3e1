//! `bench s3`: how soon an object written to S3 starts its blob function, on moto (installed
//! into `target/moto` on first use), in one host process (this one, on the embedded store).
//!
//! - `events`: the bucket sends its event notifications to an SQS queue the trigger
//!   long-polls; scans back off to ten minutes, so the events start the runs. N objects
//!   (default 200) are written one after another, each once the previous one has run.
//! - `polling`: no event queue, scans at most `POLLING` apart: N / 4 objects, each written
//!   1.5 intervals after the previous one ran, so that the scans have backed off to the
//!   interval.
//!
//! The latency is from the PUT's answer to the function's start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use durable::app::{BlobFunction, FunctionApp, FunctionKind};
use durable::host::{FunctionHost, HostConfig};
use durable_testing::moto::Moto;
use parking_lot::Mutex;

use bench::{quantile, Line};

const BUCKET: &str = "latency";
const CONNECTION: &str = "BenchS3";
/// The scan interval of the polling run.
const POLLING: Duration = Duration::from_secs(1);

/// When each object's function started, by key.
type Started = Arc<Mutex<HashMap<String, Instant>>>;

fn app(started: &Started) -> anyhow::Result<FunctionApp> {
    let started = started.clone();
    let mut app = FunctionApp::default();
    app.add(
        "bench_s3",
        FunctionKind::Blob(BlobFunction {
            path: format!("{BUCKET}/{{name}}"),
            connection: CONNECTION.to_string(),
            handler: Arc::new(move |input, _ctx| {
                started
                    .lock()
                    .entry(input.info.name)
                    .or_insert_with(Instant::now);
                Box::pin(async { Ok(()) })
            }),
        }),
    )?;
    Ok(app)
}

/// Runs one mode; returns the latencies in milliseconds.
async fn run_mode(
    s3: &aws_sdk_s3::Client,
    connection: &str,
    max_polling: Duration,
    n: u64,
    gap: Duration,
    tag: &str,
) -> anyhow::Result<Vec<f64>> {
    let dir = tempfile::tempdir()?;
    // SAFETY: set before the host (and its threads reading settings) starts.
    unsafe { std::env::set_var(CONNECTION, connection) };
    let mut config = HostConfig::load(dir.path())?;
    config.port = 0;
    config.bind_address = [127, 0, 0, 1].into();
    config.storage_triggers.blobs.max_polling_interval = max_polling;
    let started: Started = Arc::default();
    let host = FunctionHost::start(config, app(&started)?).await?;
    // Let the start-up scan pass.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = format!("{tag}-{i:05}.txt");
        s3.put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(ByteStream::from(b"x".to_vec()))
            .send()
            .await
            .context("PUT")?;
        let written = Instant::now();
        let deadline = written + Duration::from_secs(30);
        let ran = loop {
            if let Some(t) = started.lock().get(&key) {
                break *t;
            }
            anyhow::ensure!(Instant::now() < deadline, "{key} did not run within 30 s");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        latencies.push(ran.saturating_duration_since(written).as_secs_f64() * 1e3);
        tokio::time::sleep(gap).await;
    }
    host.shutdown().await;
    Ok(latencies)
}

/// The workload.
pub async fn s3(n: Option<u64>) -> anyhow::Result<()> {
    let n = n.unwrap_or(200);
    let moto = Moto::start().map_err(|e| anyhow::anyhow!("moto: {e}"))?;
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .endpoint_url(moto.url())
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&shared);
    s3.create_bucket().bucket(BUCKET).send().await?;
    let queue = sqs.create_queue().queue_name("bench-events").send().await?;
    let queue_url = queue.queue_url().context("queue url")?.to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .context("queue arn")?
        .clone();
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    let notifications = NotificationConfiguration::builder()
        .queue_configurations(
            QueueConfiguration::builder()
                .queue_arn(arn)
                .events(Event::from("s3:ObjectCreated:*"))
                .build()?,
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(notifications)
        .send()
        .await?;

    eprintln!("s3: {n} objects through the event route");
    let events = run_mode(
        &s3,
        &moto.connection(Some(&queue_url)),
        Duration::from_secs(600),
        n,
        Duration::from_millis(10),
        "events",
    )
    .await?;
    let polled_n = (n / 4).max(10);
    eprintln!("s3: {polled_n} objects by polling every {POLLING:?} at most");
    let polled = run_mode(
        &s3,
        &moto.connection(None),
        POLLING,
        polled_n,
        POLLING * 3 / 2,
        "polling",
    )
    .await?;
    let ms = |v: &[f64], q: f64| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        quantile(&v, q)
    };
    let line = Line::new(
        "s3",
        "moto",
        "sqlite-wal-full",
        n,
        0.0,
        ms(&events, 0.5),
        "ms from PUT to function start (events, p50)",
    )
    .with("events_p50_ms", ms(&events, 0.5))
    .with("events_p99_ms", ms(&events, 0.99))
    .with("events_max_ms", ms(&events, 1.0))
    .with("polling_interval_ms", POLLING.as_millis() as u64)
    .with("polling_n", polled_n)
    .with("polling_p50_ms", ms(&polled, 0.5))
    .with("polling_p99_ms", ms(&polled, 0.99))
    .with("polling_max_ms", ms(&polled, 1.0));
    line.print(bench::peak_rss_mb(None));
    Ok(())
}
