//! The polling pause of an idle listener: doubles from a minimum up to a maximum while there
//! is nothing to do, and drops back to the minimum as soon as there is work.

use std::time::Duration;

/// A polling interval that backs off while idle.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `min`; `max` is raised to `min` if smaller.
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            current: min,
        }
    }

    /// The pause to take now; the next one is twice as long, up to the maximum.
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.current;
        self.current = (self.current * 2).min(self.max);
        pause
    }

    /// There was work: the next pause is the minimum again.
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

/// Sleeps for `pause`, or less if `shutdown` turns true; returns whether it did.
pub async fn pause_or_stop(
    pause: Duration,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(pause) => *shutdown.borrow(),
        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_while_idle_and_resets_on_work() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(500));
        let pauses: Vec<_> = (0..5).map(|_| b.next_pause()).collect();
        assert_eq!(pauses, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        b.reset();
        assert_eq!(b.next_pause(), ms(100));
        assert_eq!(Backoff::new(ms(100), ms(10)).next_pause(), ms(100));
    }
}
