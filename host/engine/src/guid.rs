//! Deterministic GUIDs for orchestrators: RFC 4122 version 5 over
//! `"{instanceId}_{currentUtcDateTime:o}_{counter}"` in the Durable Functions URL namespace.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::time;

/// `GuidManager.UrlNamespaceValue` of Durable Functions.
pub const DURABLE_URL_NAMESPACE: Uuid = Uuid::from_u128(0x9e952959_5e33_4daf_827f_2fa12937b875);

/// The `counter`-th deterministic GUID of an instance at an orchestrator time.
pub fn new_guid(instance_id: &str, now: &DateTime<Utc>, counter: u64) -> Uuid {
    let name = format!("{instance_id}_{}_{counter}", time::format(now));
    Uuid::new_v5(&DURABLE_URL_NAMESPACE, name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_spec_test_vector() {
        let t = time::parse("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(
            new_guid("myinstance", &t, 0).to_string(),
            "1c1e7fbd-3dcc-5e3b-ba66-6bfa137d6f85"
        );
    }

    #[test]
    fn counter_changes_the_guid() {
        let t = time::parse("2024-01-01T00:00:00Z").unwrap();
        assert_ne!(new_guid("i", &t, 0), new_guid("i", &t, 1));
    }
}
