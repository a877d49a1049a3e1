//! What an idle host costs on Azure Storage, where every poll is a billed transaction: the
//! control queues are polled at most every `maxQueuePollingInterval` once the host has been
//! idle, counted from outside in the requests Azurite served (its debug log); and work the
//! host sends itself still starts at once, without waiting out that interval.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use durable_testing::azurite::Azurite;
use serde_json::json;
use tests::app_host::{try_request, AppDir, TestHost};

const PARTITIONS: usize = 4;
/// The interval under test, short enough to see several in a test.
const MAX_POLL: Duration = Duration::from_secs(4);

#[test]
fn an_idle_host_polls_at_most_every_max_interval_and_local_work_starts_at_once() {
    let azurite =
        Azurite::start_logging_requests().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let hub_name = format!("Polling{}", rand::random::<u32>());
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_scale-out-app"),
        json!({
            "AzureWebJobsStorage": azurite.connection_string(),
            "TaskHubName": hub_name,
        }),
        Some(json!({
            "version": "2.0",
            "extensions": {"durableTask": {"storageProvider": {
                "partitionCount": PARTITIONS,
                "maxQueuePollingInterval": format!("00:00:{:02}", MAX_POLL.as_secs()),
            }}}
        })),
    );
    let host = TestHost::start(&dir, &[]);

    // Idle long enough for the back-off (from 10 ms, doubling) to reach its maximum, then
    // count the polls of the control queues in a window of two intervals.
    std::thread::sleep(Duration::from_secs(14));
    let window = MAX_POLL * 2;
    let from = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    std::thread::sleep(window);
    let to = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let control = format!("/{}-control-", hub_name.to_lowercase());
    let served = azurite.served_requests();
    let polls: Vec<_> = served
        .iter()
        .filter(|r| r.at >= from && r.at < to)
        .filter(|r| r.method == "GET" && r.path.contains(&control) && r.path.contains("/messages"))
        .collect();
    // Each queue at most once per interval, plus one for a poll on the window's edge; every
    // queue at least once (the host owns all partitions and polls them all).
    let most = PARTITIONS * (window.as_secs() / MAX_POLL.as_secs() + 1) as usize;
    assert!(
        (PARTITIONS..=most).contains(&polls.len()),
        "{} control-queue polls in {window:?} (expected {PARTITIONS} to {most}): {polls:#?}\nlog:\n{}",
        polls.len(),
        host.log()
    );
    eprintln!(
        "{} control-queue polls in {window:?}; {} requests of any kind",
        polls.len(),
        served.iter().filter(|r| r.at >= from && r.at < to).count()
    );

    // Work sent by this host wakes its own pollers: three chained activities finish well
    // within one polling interval.
    let started = Instant::now();
    let start = "/runtime/webhooks/durabletask/orchestrators/hello_cities/local-1";
    assert_eq!(try_request(host.port, "POST", start).unwrap().status, 202);
    let status = "/runtime/webhooks/durabletask/instances/local-1";
    loop {
        let r = try_request(host.port, "GET", status).unwrap();
        if r.status == 200 && r.json()["runtimeStatus"] == "Completed" {
            break;
        }
        assert!(
            started.elapsed() < MAX_POLL,
            "local work waited for a poll: {:?}\n{}",
            r,
            host.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("local hand-off: completed in {:?}", started.elapsed());
    host.stop();
}
