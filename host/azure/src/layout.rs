//! The names and keys of the DTFx Azure Storage layout.

/// The default number of control queues (partitions).
pub const DEFAULT_PARTITIONS: u32 = 4;

/// Row key of the sentinel row of an instance's history partition.
pub const SENTINEL: &str = "sentinel";

/// Every storage name of one task hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubNames {
    /// The hub name as configured.
    pub hub: String,
    /// How many control queues the hub has.
    pub partitions: u32,
}

impl HubNames {
    /// The names of `hub` with `partitions` control queues.
    pub fn new(hub: &str, partitions: u32) -> Self {
        HubNames {
            hub: hub.to_owned(),
            partitions,
        }
    }

    fn lower(&self) -> String {
        self.hub.to_ascii_lowercase()
    }

    /// `{hub}History`.
    pub fn history_table(&self) -> String {
        format!("{}History", self.hub)
    }

    /// `{hub}Instances`.
    pub fn instances_table(&self) -> String {
        format!("{}Instances", self.hub)
    }

    /// `{hubl}-control-NN`.
    pub fn control_queue(&self, partition: u32) -> String {
        format!("{}-control-{partition:02}", self.lower())
    }

    /// `{hubl}-workitems`.
    pub fn work_item_queue(&self) -> String {
        format!("{}-workitems", self.lower())
    }

    /// `{hubl}-leases`.
    pub fn lease_container(&self) -> String {
        format!("{}-leases", self.lower())
    }

    /// `{hubl}-largemessages`.
    pub fn large_message_container(&self) -> String {
        format!("{}-largemessages", self.lower())
    }

    /// The control queue index of an instance: FNV-1a of its raw id, modulo the partitions.
    pub fn partition_of(&self, instance_id: &str) -> u32 {
        fnv1a(instance_id.as_bytes()) % self.partitions
    }
}

/// 32-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811C_9DC5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(16_777_619)
    })
}

/// `KeySanitation.EscapePartitionKey`: the table partition key of an instance id.
pub fn escape_partition_key(instance_id: &str) -> String {
    let mut out = String::with_capacity(instance_id.len());
    for c in instance_id.chars() {
        match c {
            '^' => out.push_str("^^"),
            '/' => out.push_str("^0"),
            '\\' => out.push_str("^1"),
            '#' => out.push_str("^2"),
            '?' => out.push_str("^3"),
            c if (c as u32) <= 0x1F || (0x7F..=0x9F).contains(&(c as u32)) => {
                out.push('^');
                out.push(char::from_u32(c as u32 + 0xC0).unwrap_or(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape_partition_key`].
pub fn unescape_partition_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('^') => out.push('^'),
            Some('0') => out.push('/'),
            Some('1') => out.push('\\'),
            Some('2') => out.push('#'),
            Some('3') => out.push('?'),
            Some(e) if (e as u32) >= 0xC0 => {
                out.push(char::from_u32(e as u32 - 0xC0).unwrap_or(e));
            }
            Some(e) => out.push(e),
            None => {}
        }
    }
    out
}

/// The history row key of event number `index`: 16 uppercase hex digits.
pub fn history_row_key(index: u64) -> String {
    format!("{index:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_vectors_from_the_spec() {
        assert_eq!(fnv1a(b""), 0x811C_9DC5);
        assert_eq!(fnv1a(b"a"), 0xE40C_292C);
        assert_eq!(fnv1a(b"abc"), 0x1A47_E90B);
        assert_eq!(HubNames::new("Hub", 4).partition_of("abc"), 3);
    }

    #[test]
    fn names_follow_dtfx() {
        let names = HubNames::new("MyHub", 4);
        assert_eq!(names.history_table(), "MyHubHistory");
        assert_eq!(names.instances_table(), "MyHubInstances");
        assert_eq!(names.control_queue(2), "myhub-control-02");
        assert_eq!(names.work_item_queue(), "myhub-workitems");
        assert_eq!(names.lease_container(), "myhub-leases");
        assert_eq!(names.large_message_container(), "myhub-largemessages");
        assert_eq!(history_row_key(10), "000000000000000A");
    }

    #[test]
    fn partition_keys_escape_and_round_trip() {
        let id = "a^b/c\\d#e?f\u{1}g\u{85}";
        let key = escape_partition_key(id);
        assert_eq!(key, "a^^b^0c^1d^2e^3f^\u{C1}g^\u{145}");
        assert_eq!(unescape_partition_key(&key), id);
    }
}
