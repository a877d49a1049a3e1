//! Storage transactions of an idle host on the Azure Storage task hub, counted from outside in
//! the requests Azurite served (its debug log), per kind, and extrapolated to an hour.
//!
//! `cargo build --release -p bench && cargo run --release -p bench --example idle_requests --
//! [--minutes M] [--warm-up S] [--max-poll hh:mm:ss]`
//!
//! Runs `bench host http` (the real function host with no timers, on a new hub with the
//! default four partitions), lets it settle for the warm-up (default 60 s: start-up, lease
//! acquisition, the poll back-off reaching its maximum), then counts for M minutes (default 5).
//! `--max-poll` sets host.json's `maxQueuePollingInterval` (default: the host's, 30 s).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use durable_testing::azurite::{Azurite, ServedRequest};

fn main() -> anyhow::Result<()> {
    let mut minutes = 5.0_f64;
    let mut warm_up = 60u64;
    let mut max_poll: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--minutes" => minutes = value()?.parse()?,
            "--warm-up" => warm_up = value()?.parse()?,
            "--max-poll" => max_poll = Some(value()?),
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    let bench = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|release| release.join("bench"))
        .filter(|b| b.exists())
        .ok_or_else(|| {
            anyhow::anyhow!("build the bench binary first: cargo build --release -p bench")
        })?;

    let azurite = Azurite::start_logging_requests()?;
    let hub = format!("Idle{}", rand_suffix());
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new(bench);
    cmd.args(["host", "http"])
        .arg(dir.path())
        .env("AzureWebJobsStorage", azurite.connection_string())
        .env("TaskHubName", &hub)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    if let Some(p) = &max_poll {
        cmd.env(
            "AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval",
            p,
        );
    }
    let mut host = cmd.spawn()?;
    eprintln!(
        "host {} on hub {hub}; warm-up {warm_up} s, then {minutes} min",
        host.id()
    );
    std::thread::sleep(Duration::from_secs(warm_up));
    let from = now();
    std::thread::sleep(Duration::from_secs_f64(minutes * 60.0));
    let to = now();
    drop(host.stdin.take());
    let _ = host.wait();

    let served: Vec<ServedRequest> = azurite
        .served_requests()
        .into_iter()
        .filter(|r| r.at >= from && r.at < to)
        .collect();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for r in &served {
        *kinds.entry(kind(r, &hub.to_lowercase())).or_default() += 1;
    }
    let per_hour = 60.0 / minutes;
    let setting = max_poll.as_deref().unwrap_or("default (00:00:30)");
    println!(
        "maxQueuePollingInterval {setting}: {} requests in {minutes} min",
        served.len()
    );
    for (kind, n) in &kinds {
        println!("  {kind:<48} {n:>6}  ({:.0}/hour)", *n as f64 * per_hour);
    }
    println!(
        "  {:<48} {:>6}  ({:.0}/hour)",
        "total",
        served.len(),
        served.len() as f64 * per_hour
    );
    Ok(())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// What a request is for, from its method and path.
fn kind(r: &ServedRequest, hub: &str) -> String {
    let path = r.path.split('?').next().unwrap_or("");
    let query = r.path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let what = if path.contains(&format!("/{hub}-leases")) {
        "lease blobs"
    } else if path.contains(&format!("/{hub}-control-")) {
        "control queue"
    } else if path.contains(&format!("/{hub}-workitems")) {
        "work-item queue"
    } else {
        "other"
    };
    let op = if query.contains("comp=lease") {
        "lease"
    } else if query.contains("restype=container") && query.contains("comp=list") {
        "list"
    } else {
        ""
    };
    format!("{} {what} {} {op}", r.service, r.method)
        .trim_end()
        .to_owned()
}
