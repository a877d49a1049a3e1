//! The hub's bookkeeping: the connected workers with what they serve and how busy they are,
//! and the work items they have not answered yet, by completion token.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use crate::convert::Episode;
use crate::proto;
use durable_engine::entity::remote::RemoteBatch;
use durable_engine::replay::remote::Decision;
use durable_runtime::remote::{ActivityAnswer, RemoteError};

/// What a work-item stream carries.
pub(crate) type ItemSender = mpsc::Sender<Result<proto::WorkItem, tonic::Status>>;

/// The kinds of work a worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Orchestration = 0,
    Activity = 1,
    Entity = 2,
}

/// How many kinds of work there are.
pub(crate) const KINDS: usize = 3;

impl Kind {
    fn index(self) -> usize {
        self as usize
    }
}

/// The names a worker runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Serves {
    /// Every name (the worker sent no filters).
    all: bool,
    /// Orchestrator names (lower case) with the versions they run (empty: any).
    orchestrations: Vec<(String, Vec<String>)>,
    /// Activity names (lower case).
    activities: Vec<String>,
    /// Entity names (lower case).
    entities: Vec<String>,
}

impl Serves {
    /// What a worker with these filters runs: without filters (or with empty ones), every
    /// name; with filters, the names they list.
    pub(crate) fn from_filters(filters: Option<proto::WorkItemFilters>) -> Self {
        let Some(f) = filters else {
            return Self::everything();
        };
        if f.orchestrations.is_empty() && f.activities.is_empty() && f.entities.is_empty() {
            return Self::everything();
        }
        Self {
            all: false,
            orchestrations: f
                .orchestrations
                .into_iter()
                .map(|o| (o.name.to_lowercase(), o.versions))
                .collect(),
            activities: f
                .activities
                .into_iter()
                .map(|a| a.name.to_lowercase())
                .collect(),
            entities: f
                .entities
                .into_iter()
                .map(|e| e.name.to_lowercase())
                .collect(),
        }
    }

    fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    /// Whether the worker runs `name` (at `version`, for orchestrators).
    pub(crate) fn covers(&self, kind: Kind, name: &str, version: Option<&str>) -> bool {
        if self.all {
            return true;
        }
        let name = name.to_lowercase();
        match kind {
            Kind::Orchestration => self.orchestrations.iter().any(|(n, versions)| {
                *n == name
                    && (versions.is_empty() || versions.iter().any(|v| Some(v.as_str()) == version))
            }),
            Kind::Activity => self.activities.contains(&name),
            Kind::Entity => self.entities.contains(&name),
        }
    }
}

/// One connected worker.
pub(crate) struct Worker {
    pub id: u64,
    /// Its work-item stream.
    pub items: ItemSender,
    pub serves: Serves,
    /// Most work items of each kind at once (0: no limit).
    pub limits: [usize; KINDS],
    /// Work items of each kind it has not answered.
    pub running: [usize; KINDS],
}

impl Worker {
    fn has_slot(&self, kind: Kind) -> bool {
        let i = kind.index();
        self.limits[i] == 0 || self.running[i] < self.limits[i]
    }
}

/// Who waits for the answer to a work item.
pub(crate) enum Waiter {
    Orchestration {
        episode: Episode,
        reply: oneshot::Sender<Result<Decision, RemoteError>>,
    },
    Activity {
        instance_id: String,
        task_id: i32,
        reply: oneshot::Sender<Result<ActivityAnswer, RemoteError>>,
    },
    Entity {
        /// The entity (`@name@key`).
        instance_id: String,
        /// How many operations the batch has.
        operations: usize,
        reply: oneshot::Sender<Result<RemoteBatch, RemoteError>>,
    },
}

impl Waiter {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Waiter::Orchestration { .. } => Kind::Orchestration,
            Waiter::Activity { .. } => Kind::Activity,
            Waiter::Entity { .. } => Kind::Entity,
        }
    }

    /// Resolves the wait with an error.
    pub(crate) fn fail(self, error: RemoteError) {
        // The requester may have gone (its future was dropped): nobody to tell.
        match self {
            Waiter::Orchestration { reply, .. } => drop(reply.send(Err(error))),
            Waiter::Activity { reply, .. } => drop(reply.send(Err(error))),
            Waiter::Entity { reply, .. } => drop(reply.send(Err(error))),
        }
    }
}

/// A work item sent and not answered yet.
pub(crate) struct Pending {
    /// The worker it was sent to.
    pub worker: u64,
    pub waiter: Waiter,
}

/// Which worker takes a work item.
pub(crate) enum Pick {
    /// This one (its index); its slot is taken.
    Worker(usize),
    /// Workers serve the name, but all are at their limit.
    Busy,
    /// No connected worker serves the name.
    None,
}

/// The workers and their pending work items.
#[derive(Default)]
pub(crate) struct Registry {
    pub workers: Vec<Worker>,
    pub next_id: u64,
    /// Where the round-robin continues, by kind.
    turn: [usize; KINDS],
    pub pending: HashMap<String, Pending>,
    /// Set when the hub closed: no worker connects and no work is sent any more.
    pub closed: bool,
}

impl Registry {
    /// Whether a connected worker runs `name`.
    pub(crate) fn serves(&self, kind: Kind, name: &str, version: Option<&str>) -> bool {
        self.workers
            .iter()
            .any(|w| w.serves.covers(kind, name, version))
    }

    /// The next worker, round-robin, that runs `name` and has a free slot; takes the slot.
    pub(crate) fn pick(&mut self, kind: Kind, name: &str, version: Option<&str>) -> Pick {
        let n = self.workers.len();
        let mut serves = false;
        for step in 0..n {
            let at = (self.turn[kind.index()] + step) % n;
            let worker = &mut self.workers[at];
            if !worker.serves.covers(kind, name, version) {
                continue;
            }
            serves = true;
            if worker.has_slot(kind) {
                worker.running[kind.index()] += 1;
                self.turn[kind.index()] = at + 1;
                return Pick::Worker(at);
            }
        }
        if serves {
            Pick::Busy
        } else {
            Pick::None
        }
    }

    /// Takes the pending work item of `token` out, freeing its worker's slot.
    pub(crate) fn take(&mut self, token: &str) -> Option<Pending> {
        let pending = self.pending.remove(token)?;
        self.release(&pending);
        Some(pending)
    }

    /// The token of the pending activity run `task_id` of `instance_id` (for answers that
    /// carry no token).
    pub(crate) fn activity_token(&self, instance_id: &str, task_id: i32) -> Option<String> {
        self.pending.iter().find_map(|(token, p)| match &p.waiter {
            Waiter::Activity {
                instance_id: i,
                task_id: t,
                ..
            } if i == instance_id && *t == task_id => Some(token.clone()),
            _ => None,
        })
    }

    fn release(&mut self, pending: &Pending) {
        let kind = pending.waiter.kind().index();
        if let Some(w) = self.workers.iter_mut().find(|w| w.id == pending.worker) {
            w.running[kind] = w.running[kind].saturating_sub(1);
        }
    }

    /// Removes a worker; returns the waiters of the work items it had not answered.
    pub(crate) fn remove_worker(&mut self, id: u64) -> Vec<Waiter> {
        self.workers.retain(|w| w.id != id);
        let tokens: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.worker == id)
            .map(|(t, _)| t.clone())
            .collect();
        tokens
            .iter()
            .filter_map(|t| self.pending.remove(t))
            .map(|p| p.waiter)
            .collect()
    }

    /// Closes: removes every worker (their streams end) and returns every waiter.
    pub(crate) fn close(&mut self) -> Vec<Waiter> {
        self.closed = true;
        self.workers.clear();
        self.pending.drain().map(|(_, p)| p.waiter).collect()
    }
}
