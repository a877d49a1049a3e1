//! The wall clock, read outside the engine: rows, messages and episodes are stamped with
//! [`now`], and the engine is handed the time of each episode.

use chrono::{DateTime, Utc};

use durable_engine::time::truncate;

/// Now, truncated to 100 ns so that it survives a round trip through storage unchanged.
pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::time::{format, parse};

    #[test]
    fn now_round_trips() {
        let t = now();
        assert_eq!(parse(&format(&t)).unwrap(), t);
    }
}
