//! The deployment as users run it: the image built from the repository's `Dockerfile`, two
//! containers of it sharing one Azure Storage task hub (Azurite on this machine), driven only
//! through their published ports. One container is stopped with SIGTERM mid-run: its
//! readiness turns to 503 first, it exits 0 within its deadline, and every instance still
//! completes exactly once. Podman and the base image are installed by
//! `tests/containers/setup.sh`; without them the test fails, it never skips.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use durable::client::DurableClient;
use durable::store::azure::{AzureOptions, AzureTaskHub, StorageAccount};
use serde_json::{json, Value};
use tests::app_host::{request_to, try_request};
use tests::containers::{self, Container, Image};
use tests::faults::{check_exactly_once, wait_completed};

/// Seconds a stopping container keeps serving with readiness at 503.
const DRAIN_DELAY: u64 = 2;
/// Seconds it then waits for work in flight.
const SHUTDOWN_DEADLINE: u64 = 15;

#[test]
fn two_replicas_share_a_hub_and_one_stops_gracefully_mid_run() {
    containers::set_up();
    let image = Image::build_prebuilt(&tests::sample_app::functions_azure_binary());
    eprintln!("image {}: {:.1} MB", image.name, image.size() as f64 / 1e6);
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let hub_name = format!("Containers{}", rand::random::<u32>());
    let keys = [
        (
            "DurableMasterKey",
            format!("master-{}", rand::random::<u64>()),
        ),
        (
            "DurableFunctionKey",
            format!("function-{}", rand::random::<u64>()),
        ),
        (
            "DurableSystemKey",
            format!("system-{}", rand::random::<u64>()),
        ),
    ];
    // The containers reach the host's loopback, where Azurite listens, as 10.0.2.2.
    let mut env = vec![
        (
            "AzureWebJobsStorage",
            azurite.connection_string().replace("127.0.0.1", "10.0.2.2"),
        ),
        ("TaskHubName", hub_name.clone()),
        ("DurableDrainDelay", DRAIN_DELAY.to_string()),
        ("DurableShutdownDeadline", SHUTDOWN_DEADLINE.to_string()),
        // host.json values from the environment: partitions move within seconds.
        (
            "AzureFunctionsJobHost__extensions__durableTask__storageProvider__leaseAcquireInterval",
            "00:00:02".into(),
        ),
    ];
    env.extend(keys.iter().cloned());
    let id = std::process::id();
    let a = Container::start(&image, &format!("durable-e2e-a-{id}"), &env);
    let b = Container::start(&image, &format!("durable-e2e-b-{id}"), &env);
    let ready_in = (
        a.wait_ready(Duration::from_secs(60)),
        b.wait_ready(Duration::from_secs(60)),
    );
    eprintln!("ready after {ready_in:?}; idle RSS {} KiB", a.rss_kib());
    assert!(a.healthcheck(), "HEALTHCHECK of a ready container");
    let logs = || format!("--- a:\n{}\n--- b:\n{}", a.logs(), b.logs());

    // Production defaults: the management API wants a key; the shared system key works on
    // either replica.
    let instances = "/runtime/webhooks/durabletask/instances";
    assert_eq!(try_request(a.port, "GET", instances).unwrap().status, 401);
    let with_key = format!("{instances}?code={}", keys[2].1);
    assert_eq!(try_request(b.port, "GET", &with_key).unwrap().status, 200);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let account = StorageAccount::from_connection_string(&azurite.connection_string()).unwrap();
    let options = AzureOptions {
        worker_id: "test-client".into(),
        ..AzureOptions::default()
    };
    let hub = Arc::new(AzureTaskHub::with_options(account, &hub_name, options).unwrap());
    let client = DurableClient::new(hub);

    // Sync over async across replicas: the request waits on one, the reply comes to the other.
    let weather = |waiting: &Container, replying: &Container, id: &str| {
        std::thread::scope(|s| {
            let answer = s.spawn(|| {
                request_to(
                    waiting.port,
                    "GET",
                    &format!("/api/weather?requestId={id}&city=Oslo&timeout=90"),
                )
                .send()
            });
            let reply = json!({ "city": "Oslo", "temperatureC": 4 });
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let r = request_to(replying.port, "POST", &format!("/api/weather-results/{id}"))
                    .json(&reply.to_string())
                    .send();
                if r.status == 202 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "reply to {id}: {r:?}\n{}",
                    logs()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            let answer = answer.join().unwrap();
            assert_eq!(answer.status, 200, "{id}: {answer:?}\n{}", logs());
            assert_eq!(answer.json(), reply);
        });
    };
    weather(&a, &b, "weather-1");

    // 100 "Hello cities" through both replicas.
    let mut ids = start_hello_cities(&[a.port, b.port], 100);

    // Stop one replica once a fifth is done, while the rest run and more arrive at the other.
    let done = |ids: &[String]| {
        rt.block_on(async {
            let mut n = 0;
            for id in ids {
                if let Ok(Some(s)) = client.get_status(id).await {
                    n += usize::from(s.runtime_status.is_terminal());
                }
            }
            n
        })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while done(&ids) < 20 {
        assert!(Instant::now() < deadline, "no progress\n{}", logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let ready = try_request(a.port, "GET", "/admin/host/ready").unwrap();
    assert_eq!(ready.status, 200, "ready before the signal: {ready:?}");
    let watching = AtomicBool::new(true);
    let readiness = Mutex::new(Vec::<u16>::new());
    let (exit, stopped_in) = std::thread::scope(|s| {
        // Readiness of the stopping replica as a load balancer sees it: answers until the
        // connection is refused.
        s.spawn(|| {
            while watching.load(Ordering::Relaxed) {
                match try_request(a.port, "GET", "/admin/host/ready") {
                    Ok(r) => readiness.lock().unwrap().push(r.status),
                    Err(_) => break,
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let weather_2 = s.spawn(|| weather(&b, &b, "weather-2"));
        let terminated = Instant::now();
        a.signal("TERM");
        ids.extend(start_hello_cities(&[b.port], 100));
        let exit = a.wait_exit(Duration::from_secs(DRAIN_DELAY + SHUTDOWN_DEADLINE + 5));
        let stopped_in = terminated.elapsed();
        watching.store(false, Ordering::Relaxed);
        weather_2.join().unwrap();
        (exit, stopped_in)
    });
    assert_eq!(
        exit,
        Some(0),
        "the stopped replica exits 0 within {}s (after {stopped_in:?})\n{}",
        DRAIN_DELAY + SHUTDOWN_DEADLINE,
        logs()
    );
    eprintln!("replica a stopped in {stopped_in:?}");
    assert!(
        a.logs().contains("partition leases released"),
        "the stopped replica hands its partitions over:\n{}",
        a.logs()
    );
    let readiness = readiness.into_inner().unwrap();
    let first_503 = readiness.iter().position(|s| *s == 503);
    assert!(
        first_503.is_some(),
        "readiness went to 503 before the replica stopped taking connections: {readiness:?}"
    );
    assert!(
        readiness[first_503.unwrap()..].iter().all(|s| *s == 503),
        "once not ready, it stays not ready: {readiness:?}"
    );

    // Every instance completes exactly once, the ones the stopped replica held included.
    rt.block_on(async {
        if let Err(open) = wait_completed(&client, &ids, Duration::from_secs(180)).await {
            panic!(
                "{} instances did not complete: {open:?}\n{}",
                open.len(),
                logs()
            );
        }
        let mut problems = Vec::new();
        for id in &ids {
            if let Err(e) = check_exactly_once(&client, id).await {
                problems.push(e);
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    });

    // The image logs JSON: every line either replica wrote parses.
    for (name, log) in [("a", a.logs()), ("b", b.logs())] {
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| {
                panic!("replica {name} wrote a line that is not JSON ({e}): {line:?}")
            });
        }
    }

    // The other replica stops cleanly too.
    b.signal("TERM");
    assert_eq!(
        b.wait_exit(Duration::from_secs(DRAIN_DELAY + SHUTDOWN_DEADLINE + 10)),
        Some(0),
        "{}",
        b.logs()
    );
}

/// Starts `n` "Hello cities" orchestrations through the sample's starter, spread over
/// `ports`, four at a time; returns their instance ids (every start must be accepted).
fn start_hello_cities(ports: &[u16], n: usize) -> Vec<String> {
    let ids = Mutex::new(Vec::with_capacity(n));
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let port = ports[i % ports.len()];
                let r = request_to(port, "POST", "/api/orchestrators/hello_cities").send();
                assert_eq!(r.status, 202, "start on port {port}: {r:?}");
                let id = r.json()["id"].as_str().expect("an instance id").to_owned();
                ids.lock().unwrap().push(id);
            });
        }
    });
    ids.into_inner().unwrap()
}
