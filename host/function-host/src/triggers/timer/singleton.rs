//! One host at a time runs a timer function: before it runs the schedule, a host takes the
//! function's singleton lock from the task hub (a blob lease on Azure Storage, a row on the
//! embedded store), renews it while it runs, and gives it back when it stops. The others try
//! to take it every `listenerLockRecoveryPollingInterval`; a host that dies loses it once
//! `listenerLockPeriod` has passed without renewal (at once on the embedded store, which sees
//! the process is gone). The schedule status is in the task hub too, so the next holder
//! carries on from the last occurrence saved: an occurrence is run once, whichever host runs
//! it (one interrupted by a crash is run again, past due, as after any restart).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{is_stopped, stopped, Timer};

/// How long a timer's lock lasts without renewal, and how often the hosts that do not hold
/// it try to take it (host.json `singleton`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SingletonSettings {
    /// `listenerLockPeriod`: the lock's lifetime without renewal (the holder renews it every
    /// third of this). Azure Storage grants 15–60 s.
    pub listener_lock_period: Duration,
    /// `listenerLockRecoveryPollingInterval`: how often a host that does not hold the lock
    /// tries to take it.
    pub recovery_interval: Duration,
}

impl Default for SingletonSettings {
    /// Azure Functions' defaults: a minute each.
    fn default() -> Self {
        SingletonSettings {
            listener_lock_period: Duration::from_secs(60),
            recovery_interval: Duration::from_secs(60),
        }
    }
}

impl Timer {
    /// The lock's name: one per timer function.
    fn lock_name(&self) -> String {
        format!("{}.Listener", self.name)
    }

    /// Takes the lock, runs the schedule while holding it, and starts over when it is lost,
    /// until `shutdown`; gives the lock back on the way out.
    pub(super) async fn run_as_singleton(
        self: Arc<Self>,
        settings: SingletonSettings,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let name = self.lock_name();
        let period = settings.listener_lock_period;
        loop {
            if is_stopped(&shutdown) {
                return;
            }
            let taken = match self.store.lock_singleton(&name, period).await {
                Ok(taken) => taken,
                Err(e) => {
                    tracing::warn!(
                        function = &*self.name,
                        error = %e,
                        "cannot take the timer's lock"
                    );
                    false
                }
            };
            if !taken {
                if !pause(settings.recovery_interval, &mut shutdown).await {
                    return;
                }
                continue;
            }
            tracing::info!(
                function = &*self.name,
                "timer lock taken: this host runs the schedule"
            );
            let (stop, stopping) = watch::channel(false);
            let holder = tokio::spawn(hold(
                Arc::clone(&self),
                name.clone(),
                period,
                shutdown.clone(),
                stop,
            ));
            let lost = stopping.clone();
            Arc::clone(&self).run(stopping).await;
            holder.abort();
            // Stopped by shutdown, or the schedule has no further occurrence: done.
            if is_stopped(&shutdown) || !*lost.borrow() {
                if let Err(e) = self.store.release_singleton(&name).await {
                    tracing::warn!(
                        function = &*self.name,
                        error = %e,
                        "cannot give the timer's lock back"
                    );
                }
                return;
            }
            tracing::warn!(
                function = &*self.name,
                "timer lock lost: another host may run the schedule"
            );
        }
    }
}

/// Renews the lock every third of `period` until `shutdown`, then sets `stop`; sets `stop`
/// too once the lock is taken by another or has not been renewed for two thirds of `period`
/// (it is then stopped before the lease can run out under it).
async fn hold(
    timer: Arc<Timer>,
    name: String,
    period: Duration,
    mut shutdown: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
) {
    let mut renewed = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period / 3) => {}
            _ = stopped(&mut shutdown) => {
                let _ = stop.send(true);
                return;
            }
        }
        match timer.store.lock_singleton(&name, period).await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => {
                let _ = stop.send(true);
                return;
            }
            Err(e) => {
                tracing::warn!(
                    function = &*timer.name,
                    error = %e,
                    "cannot renew the timer's lock"
                );
                if renewed.elapsed() >= period * 2 / 3 {
                    let _ = stop.send(true);
                    return;
                }
            }
        }
    }
}

/// Sleeps `pause`; false if told to stop first.
async fn pause(pause: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => true,
        _ = stopped(shutdown) => false,
    }
}
