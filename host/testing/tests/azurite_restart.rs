//! A persistent Azurite survives a crash: what it saved before a SIGKILL is there after the
//! restart, on the same ports, through the same clients.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use durable_azure_storage::entity::{EdmValue, Entity};
use durable_azure_storage::StorageClients;
use durable_testing::azurite::{Azurite, Ports, AUTOSAVE_INTERVAL};

/// A data folder of its own, removed when the test ends.
struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        DataDir(std::env::temp_dir().join(format!("azurite-data-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start(dir: &DataDir, ports: Option<Ports>) -> Azurite {
    Azurite::start_persistent(&dir.0, ports).unwrap_or_else(|e| panic!("Azurite: {e}"))
}

#[tokio::test]
async fn saved_data_survives_a_sigkill_restart_on_the_same_ports() {
    let dir = DataDir::new();
    let mut azurite = start(&dir, None);
    let ports = azurite.ports();
    assert_eq!(
        azurite.data_dir(),
        Some(dir.0.canonicalize().unwrap().as_path())
    );
    let clients = StorageClients::new(azurite.account()).unwrap();
    let table = clients.table("Restart");
    let queue = clients.queue("restart");
    table.create_if_not_exists().await.unwrap();
    queue.create_if_not_exists().await.unwrap();
    let saved = Entity::new("p", "saved").with("N", EdmValue::Int32(7));
    table.insert(&saved).await.unwrap();
    queue.put(b"saved message", Duration::ZERO).await.unwrap();

    // Azurite writes to disk on a timer; what it acknowledged since is lost in a crash.
    tokio::time::sleep(AUTOSAVE_INTERVAL + Duration::from_secs(2)).await;
    let unsaved = Entity::new("p", "unsaved");
    table.insert(&unsaved).await.unwrap();

    let started = Instant::now();
    azurite.restart().unwrap();
    eprintln!("restart took {:?}", started.elapsed());
    assert_eq!(azurite.ports(), ports);

    let read = table.get("p", "saved").await.unwrap().expect("saved row");
    assert_eq!(read.get("N"), Some(&EdmValue::Int32(7)));
    let messages = queue.get(32, Duration::from_secs(30)).await.unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].body, b"saved message");
    let kept = table.get("p", "unsaved").await.unwrap().is_some();
    eprintln!("the row written just before the SIGKILL survived: {kept}");
}

#[tokio::test]
async fn fixed_ports_kill_and_restart() {
    // Free ports, found by binding port 0 (another process could take one in between).
    let listeners: Vec<_> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let port = |i: usize| listeners[i].local_addr().unwrap().port();
    let ports = Ports {
        blob: port(0),
        queue: port(1),
        table: port(2),
    };
    drop(listeners);
    let dir = DataDir::new();
    let mut azurite = start(&dir, Some(ports));
    assert_eq!(azurite.ports(), ports);
    let clients = StorageClients::new(azurite.account()).unwrap();
    let queue = clients.queue("fixed");
    queue.create_if_not_exists().await.unwrap();

    azurite.kill();
    let err = queue.create_if_not_exists().await.unwrap_err();
    assert_eq!(err.status(), None, "no HTTP status while it is down: {err}");
    azurite.kill();
    azurite.restart().unwrap();
    assert_eq!(azurite.ports(), ports);
    queue.create_if_not_exists().await.unwrap();
    queue.put(b"after", Duration::ZERO).await.unwrap();
    let messages = queue.get(1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(messages[0].body, b"after");
}

/// An orderly restart (SIGTERM) saves what Azurite acknowledged just before it: a fault test
/// that restarts the service loses nothing to the emulator itself.
#[tokio::test]
async fn a_graceful_restart_keeps_what_was_just_written() {
    let dir = DataDir::new();
    let mut azurite = start(&dir, None);
    let clients = StorageClients::new(azurite.account()).unwrap();
    let table = clients.table("Graceful");
    let queue = clients.queue("graceful");
    table.create_if_not_exists().await.unwrap();
    queue.create_if_not_exists().await.unwrap();
    table
        .insert(&Entity::new("p", "just-written"))
        .await
        .unwrap();
    queue.put(b"just sent", Duration::ZERO).await.unwrap();

    azurite.restart_gracefully().unwrap();

    assert!(table.get("p", "just-written").await.unwrap().is_some());
    let messages = queue.get(32, Duration::from_secs(30)).await.unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].body, b"just sent");
}
