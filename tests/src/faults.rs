//! Fault-injection workloads: "Hello cities" orchestrations started through a host's HTTP API
//! while faults are injected, and the checks afterwards: every acknowledged instance completed
//! exactly once with the right output and a well-formed history, no start was falsely refused,
//! and how long after the fault ended the last one completed.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use durable::client::DurableClient;
use durable::engine::history::EventKind;
use durable::OrchestrationStatus;
use serde_json::{json, Value};

use crate::app_host::try_request;

/// The orchestration every fault test runs (three activities in a chain).
pub const ORCHESTRATION: &str = "hello_cities";

/// Its output.
pub fn expected_output() -> Value {
    json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
}

/// How the starts were answered.
#[derive(Debug, Default)]
pub struct Starts {
    /// Answered 202: the instance must complete exactly once.
    pub acknowledged: Vec<String>,
    /// Answered 5xx, or no answer at all: the start may or may not have happened (if it did,
    /// the instance must still complete exactly once).
    pub unanswered: Vec<String>,
    /// Answered 4xx although every id is fresh and every request valid: false refusals.
    pub refused: Vec<String>,
}

impl Starts {
    /// Adds another round of starts.
    pub fn extend(&mut self, other: Starts) {
        self.acknowledged.extend(other.acknowledged);
        self.unanswered.extend(other.unanswered);
        self.refused.extend(other.refused);
    }
}

/// Starts one instance per id through the management API of the host on `port`, `threads`
/// requests at a time.
pub fn start_all(port: u16, ids: &[String], threads: usize) -> Starts {
    let starts = Mutex::new(Starts::default());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(id) = ids.get(i) else { return };
                let path =
                    format!("/runtime/webhooks/durabletask/orchestrators/{ORCHESTRATION}/{id}");
                let answer = try_request(port, "POST", &path);
                let mut starts = starts.lock().unwrap();
                match answer {
                    Ok(r) if r.status == 202 => starts.acknowledged.push(id.clone()),
                    Ok(r) if r.status >= 500 => starts.unanswered.push(id.clone()),
                    Ok(r) => {
                        eprintln!("start {id}: falsely refused: {r:?}");
                        starts.refused.push(id.clone());
                    }
                    Err(_) => starts.unanswered.push(id.clone()),
                }
            });
        }
    });
    starts.into_inner().unwrap()
}

/// Runs `during` (a fault, typically) while instances are started through the host on
/// `port`, 8 at a time, and stops starting once it returns; gives the starts and what
/// `during` returned.
pub fn start_while<T: Send>(
    port: u16,
    prefix: &str,
    during: impl FnOnce() -> T + Send,
) -> (Starts, T) {
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let starting = scope.spawn(|| {
            let mut starts = Starts::default();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let round = start_all(port, &ids(prefix, 8), 4);
                if round.acknowledged.is_empty() {
                    // The store refuses (or the host is gone): a client would back off too.
                    std::thread::sleep(Duration::from_millis(100));
                }
                starts.extend(round);
            }
            starts
        });
        let result = during();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (starting.join().unwrap(), result)
    })
}

/// Waits until every id in `ids` has completed (or failed, or `limit` passed); returns the
/// last one to complete and when it did (its last update, as the store recorded it), or the
/// ids still not complete at the deadline.
pub async fn wait_completed(
    client: &DurableClient,
    ids: &[String],
    limit: Duration,
) -> Result<(String, DateTime<Utc>), Vec<String>> {
    let deadline = Instant::now() + limit;
    let mut open: BTreeSet<&String> = ids.iter().collect();
    let mut last: Option<(String, DateTime<Utc>)> = None;
    loop {
        let mut still = BTreeSet::new();
        for id in open {
            match client.get_status(id).await {
                Ok(Some(s)) if s.runtime_status.is_terminal() => {
                    if last
                        .as_ref()
                        .is_none_or(|(_, at)| s.last_updated_time > *at)
                    {
                        last = Some((id.clone(), s.last_updated_time));
                    }
                }
                _ => {
                    still.insert(id);
                }
            }
        }
        open = still;
        if open.is_empty() {
            return Ok(last.unwrap_or_else(|| (String::new(), Utc::now())));
        }
        if Instant::now() > deadline {
            return Err(open.into_iter().cloned().collect());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Checks that `id` completed exactly once: Completed with the right output; one execution
/// started and completed; three activities scheduled and each answered exactly once.
pub async fn check_exactly_once(client: &DurableClient, id: &str) -> Result<(), String> {
    let status = client
        .get_status(id)
        .await
        .map_err(|e| format!("{id}: {e}"))?
        .ok_or_else(|| format!("{id}: not found"))?;
    if status.runtime_status != OrchestrationStatus::Completed {
        return Err(format!(
            "{id}: {:?}: {}",
            status.runtime_status, status.output
        ));
    }
    if status.output != expected_output() {
        return Err(format!("{id}: output {}", status.output));
    }
    let history = client
        .get_history(id)
        .await
        .map_err(|e| format!("{id}: {e}"))?;
    let count = |f: fn(&EventKind) -> bool| history.iter().filter(|e| f(&e.kind)).count();
    let answered: BTreeSet<i32> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskCompleted {
                task_scheduled_id, ..
            } => Some(*task_scheduled_id),
            _ => None,
        })
        .collect();
    let counts = (
        count(|k| matches!(k, EventKind::ExecutionStarted(_))),
        count(|k| matches!(k, EventKind::ExecutionCompleted { .. })),
        count(|k| matches!(k, EventKind::TaskScheduled { .. })),
        count(|k| matches!(k, EventKind::TaskCompleted { .. })),
        answered.len(),
    );
    if counts != (1, 1, 3, 3, 3) {
        let kinds: Vec<String> = history.iter().map(|e| format!("{:?}", e.kind)).collect();
        return Err(format!(
            "{id}: history not well formed (started, completed, scheduled, answered, distinct \
             answered = {counts:?}): {kinds:?}"
        ));
    }
    Ok(())
}

/// Checks every acknowledged instance, and every unanswered one that exists; returns the
/// problems found (lost or duplicated work).
pub async fn check_all(client: &DurableClient, starts: &Starts) -> Vec<String> {
    let mut problems = Vec::new();
    for id in &starts.acknowledged {
        if let Err(e) = check_exactly_once(client, id).await {
            problems.push(e);
        }
    }
    for id in &starts.unanswered {
        if let Ok(Some(_)) = client.get_status(id).await {
            if let Err(e) = check_exactly_once(client, id).await {
                problems.push(e);
            }
        }
    }
    problems
}

/// One fault run's figures, as docs/reliability.md reports them.
#[derive(Debug)]
pub struct FaultReport {
    /// The fault.
    pub fault: &'static str,
    /// Instances acknowledged.
    pub instances: usize,
    /// Starts answered 5xx or not at all (not acknowledged; not an error of the product).
    pub unanswered: usize,
    /// What was injected.
    pub injected: String,
    /// Acknowledged instances that did not complete.
    pub lost: usize,
    /// Instances whose history shows work done twice.
    pub duplicated: usize,
    /// Starts refused with a 4xx.
    pub falsely_refused: usize,
    /// From the end of the fault to the last completion.
    pub recovery: Duration,
    /// The instance that completed last.
    pub last: String,
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fault-report: {} | instances {} (unanswered starts {}) | injected {} | lost {} | \
             duplicated {} | falsely refused {} | recovery {:.1} s (last: {})",
            self.fault,
            self.instances,
            self.unanswered,
            self.injected,
            self.lost,
            self.duplicated,
            self.falsely_refused,
            self.recovery.as_secs_f64(),
            self.last
        )
    }
}

/// The time from `fault_end` to `done`'s completion (zero if it completed before).
pub fn recovery(
    fault_end: DateTime<Utc>,
    done: &Result<(String, DateTime<Utc>), Vec<String>>,
) -> (Duration, String) {
    match done {
        Ok((id, at)) => (
            (*at - fault_end).to_std().unwrap_or(Duration::ZERO),
            id.clone(),
        ),
        Err(_) => (Duration::MAX, String::new()),
    }
}

/// Ids `prefix-0000`, `prefix-0001`, ... for `n` instances, with a random run tag.
pub fn ids(prefix: &str, n: usize) -> Vec<String> {
    let run = rand::random::<u16>();
    (0..n)
        .map(|i| format!("{prefix}-{run:04x}-{i:04}"))
        .collect()
}
