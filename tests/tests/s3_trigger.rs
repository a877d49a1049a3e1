//! The blob trigger on S3, against moto (installed from PyPI into `target/moto` on first use,
//! one server per test), driven by a plain S3 client as an outside system would be:
//!
//! - each object version runs once, with its content as a string, a typed value or bytes and
//!   the path's parameters bound; keys that do not match are left alone; a restart does not
//!   run a version again, a new version runs; two hosts sharing receipts run each of many
//!   objects once;
//! - a run on a host killed with SIGKILL runs again on another host once its claim expires,
//!   then never again;
//! - a version that fails five times is moved under `.durable/poison/{function}/` with the
//!   reason in its metadata;
//! - with an event queue (S3 event notifications to SQS), a write runs from its event: the
//!   key is URL-decoded, and a duplicate event runs nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use durable_testing::moto::Moto;
use serde_json::json;
use tests::app_host::{AppDir, TestHost};
use tests::s3::Outside;

/// One run, as the app recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    function: String,
    key: String,
    etag: String,
    attempt: u32,
    pid: u32,
    what: String,
}

fn runs(file: &Path) -> Vec<Run> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|l| {
            let mut parts = l.splitn(6, ' ');
            let mut next = || parts.next().unwrap_or_default().to_string();
            Run {
                function: next(),
                key: next().replace("%20", " "),
                etag: next(),
                attempt: next().parse().unwrap_or(0),
                pid: next().parse().unwrap_or(0),
                what: next(),
            }
        })
        .collect()
}

/// Waits until `done` holds for the runs recorded so far.
fn wait_runs(
    file: &Path,
    hosts: &[&TestHost],
    what: &str,
    done: impl Fn(&[Run]) -> bool,
) -> Vec<Run> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = runs(file);
        if done(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: runs so far {now:#?}\n{}",
            hosts
                .iter()
                .map(|h| h.log())
                .collect::<Vec<_>>()
                .join("\n----\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the host's log has `n` lines containing `text`.
fn wait_log(host: &TestHost, text: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while host.log().lines().filter(|l| l.contains(text)).count() < n {
        assert!(
            Instant::now() < deadline,
            "no {n} log lines with {text:?}:\n{}",
            host.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count(runs: &[Run], key: &str) -> usize {
    runs.iter().filter(|r| r.key == key).count()
}

/// moto, an outside S3 (and SQS) client, and the app's settings.
struct World {
    moto: Moto,
    outside: Outside,
    _files: tempfile::TempDir,
    runs: PathBuf,
}

impl World {
    fn new() -> World {
        let moto = Moto::start().unwrap_or_else(|e| panic!("moto is required: {e}"));
        let outside = Outside::of(&moto);
        for bucket in ["uploads", "orders", "raw", "broken", "slow"] {
            outside.create_bucket(bucket);
        }
        let files = tempfile::tempdir().unwrap();
        let runs = files.path().join("runs.txt");
        World {
            moto,
            outside,
            _files: files,
            runs,
        }
    }

    fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        self.outside.put(bucket, key, body)
    }

    fn exists(&self, bucket: &str, key: &str) -> Option<HashMap<String, String>> {
        self.outside.metadata(bucket, key)
    }

    /// A host of the app; scans at least every second.
    fn host(&self, event_queue: Option<&str>, max_polling: &str) -> (AppDir, TestHost) {
        self.host_holding(event_queue, max_polling, false)
    }

    /// A host whose `slow_upload` runs take ten minutes when `hold`.
    fn host_holding(
        &self,
        event_queue: Option<&str>,
        max_polling: &str,
        hold: bool,
    ) -> (AppDir, TestHost) {
        let dir = AppDir::new(
            env!("CARGO_BIN_EXE_s3-app"),
            json!({
                "S3Storage": self.moto.connection(event_queue),
                "RUNS_FILE": self.runs.to_str().unwrap(),
                "HOLD_SLOW": hold.to_string(),
            }),
            Some(json!({ "version": "2.0", "extensions": {
                "blobs": { "maxPollingInterval": max_polling },
            } })),
        );
        let host = TestHost::start(&dir, &[]);
        (dir, host)
    }
}

#[test]
fn s3_objects_run_once_per_version_across_a_restart_and_two_hosts() {
    let w = World::new();
    w.put("uploads", "a.txt", b"hello");
    w.put("uploads", "skip.bin", b"not a .txt");
    w.put("orders", "o1.json", br#"{"id": "o1", "total": 5}"#);
    w.put("raw", "pic.png", &[1, 2, 3]);
    let (_dir, host) = w.host(None, "00:00:01");
    let seen = wait_runs(&w.runs, &[&host], "the first three objects", |r| {
        r.len() >= 3
    });
    let what: HashMap<&str, &str> = seen
        .iter()
        .map(|r| (r.key.as_str(), r.what.as_str()))
        .collect();
    assert_eq!(what["a.txt"], "name=a text=hello");
    assert_eq!(what["o1.json"], "id=o1 total=5");
    assert_eq!(what["pic.png"], "ext=png bytes=3");
    assert!(
        seen.iter().all(|r| r.attempt == 1 && r.key != "skip.bin"),
        "{seen:#?}"
    );
    host.stop();

    // A restart runs nothing again; a new object and a new version of an old one run.
    let (_dir, host) = w.host(None, "00:00:01");
    w.put("uploads", "b.txt", b"second");
    wait_runs(&w.runs, &[&host], "b.txt", |r| count(r, "b.txt") == 1);
    w.put("uploads", "a.txt", b"hello again");
    let after = wait_runs(&w.runs, &[&host], "a.txt again", |r| count(r, "a.txt") == 2);
    let versions: Vec<&Run> = after.iter().filter(|r| r.key == "a.txt").collect();
    assert_ne!(versions[0].etag, versions[1].etag);
    assert_eq!(versions[1].what, "name=a text=hello again");

    // Two hosts: each of many objects runs once.
    let (_dir2, second) = w.host(None, "00:00:01");
    wait_log(&second, "S3 blob trigger started", 4);
    for i in 0..20 {
        w.put(
            "uploads",
            &format!("many-{i:02}.txt"),
            format!("n{i}").as_bytes(),
        );
    }
    let all = wait_runs(&w.runs, &[&host, &second], "20 objects", |r| {
        (0..20).all(|i| count(r, &format!("many-{i:02}.txt")) >= 1)
    });
    // Both hosts keep scanning every second; give them several scans to show a duplicate.
    std::thread::sleep(Duration::from_secs(3));
    let all_after = runs(&w.runs);
    assert_eq!(
        all.len(),
        all_after.len(),
        "runs after the fact: {all_after:#?}"
    );
    let mut by_version: HashMap<(&str, &str), usize> = HashMap::new();
    for r in &all_after {
        *by_version.entry((&r.key, &r.etag)).or_default() += 1;
    }
    assert!(by_version.values().all(|n| *n == 1), "{by_version:#?}");
    let pids: std::collections::HashSet<u32> = all_after
        .iter()
        .filter(|r| r.key.starts_with("many-"))
        .map(|r| r.pid)
        .collect();
    eprintln!("the 20 objects ran on {} host(s)", pids.len());
}

#[test]
fn a_run_on_a_killed_host_runs_again_once_its_claim_expires() {
    let w = World::new();
    let (_dir, first) = w.host_holding(None, "00:00:01", true);
    w.put("slow", "job.bin", b"work");
    let started = wait_runs(&w.runs, &[&first], "the first run", |r| {
        count(r, "job.bin") == 1
    });
    first.signal(libc::SIGKILL);
    // Another host finds the version claimed, and runs it once the claim (30 s) expires.
    let (_dir2, second) = w.host(None, "00:00:01");
    let deadline = Instant::now() + Duration::from_secs(90);
    let again = loop {
        let now = runs(&w.runs);
        if count(&now, "job.bin") == 2 {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "not run again: {now:#?}\n{}",
            second.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let second_run = &again
        .iter()
        .filter(|r| r.key == "job.bin")
        .collect::<Vec<_>>()[1];
    assert_ne!(second_run.pid, started[0].pid, "{again:#?}");
    assert_eq!(second_run.etag, started[0].etag);
    wait_log(&second, "outcome=\"Succeeded\"", 1);
    // Settled: never run a third time.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&runs(&w.runs), "job.bin"), 2);
}

#[test]
fn an_s3_object_that_keeps_failing_is_moved_to_poison() {
    let w = World::new();
    let (_dir, host) = w.host(None, "00:00:01");
    w.put("broken", "bad 1.txt", b"x");
    let poisoned = ".durable/poison/always_fails/bad 1.txt";
    let deadline = Instant::now() + Duration::from_secs(60);
    let metadata = loop {
        if let Some(m) = w.exists("broken", poisoned) {
            break m;
        }
        assert!(Instant::now() < deadline, "not poisoned:\n{}", host.log());
        std::thread::sleep(Duration::from_millis(100));
    };
    let tries = runs(&w.runs);
    assert_eq!(
        tries.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5],
        "{tries:#?}"
    );
    let reason = &metadata["durable-poison-reason"];
    assert!(
        reason.contains("failed 5 times") && reason.contains("always fails"),
        "{reason}"
    );
    assert!(
        w.exists("broken", "bad 1.txt").is_none(),
        "the original is moved"
    );
    wait_log(&host, "object given up on after too many failures", 1);
    // Nothing under .durable/ triggers, and the poisoned version is not tried again.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs(&w.runs).len(), 5);
}

#[test]
fn s3_events_through_sqs_run_objects_once() {
    let w = World::new();
    let (queue_url, arn) = w.outside.rt.block_on(async {
        let q = w
            .outside
            .sqs
            .create_queue()
            .queue_name("s3-events")
            .send()
            .await
            .unwrap();
        let url = q.queue_url().unwrap().to_string();
        let attrs = w
            .outside
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let arn =
            attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        (url, arn)
    });
    w.outside.rt.block_on(async {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        let config = NotificationConfiguration::builder()
            .queue_configurations(
                QueueConfiguration::builder()
                    .queue_arn(&arn)
                    .events(Event::from("s3:ObjectCreated:*"))
                    .build()
                    .unwrap(),
            )
            .build();
        w.outside
            .s3
            .put_bucket_notification_configuration()
            .bucket("uploads")
            .notification_configuration(config)
            .send()
            .await
            .unwrap();
    });
    // Scans back off towards ten minutes: the event, not a scan, runs the object.
    let (_dir, host) = w.host(Some(&queue_url), "00:10:00");
    wait_log(&host, "S3 blob trigger started", 4);
    w.put("uploads", "by event+1.txt", b"evented");
    let seen = wait_runs(&w.runs, &[&host], "the evented object", |r| {
        count(r, "by event+1.txt") == 1
    });
    assert_eq!(seen[0].what, "name=by event+1 text=evented");
    wait_log(&host, "S3 event: an object was created", 1);
    assert!(host.log().contains("by event+1.txt"), "{}", host.log());
    // The same event again runs nothing.
    let body = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": "uploads"},
        "object": {"key": "by+event%2B1.txt", "eTag": seen[0].etag},
    }}]});
    w.outside
        .rt
        .block_on(
            w.outside
                .sqs
                .send_message()
                .queue_url(&queue_url)
                .message_body(body.to_string())
                .send(),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while host
        .log()
        .matches("S3 event: an object was created")
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the duplicate event never arrived:\n{}",
            host.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&runs(&w.runs), "by event+1.txt"), 1);
}
