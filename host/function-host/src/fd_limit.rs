//! File descriptors: every connection holds one, and the task hub needs some of its own.
//!
//! The host raises its soft limit of open files to the hard limit at start (many systems
//! start processes with a soft limit of 1,024 and a much higher hard one), and keeps the
//! connection cap below what is left after a reserve for the task hub, triggers and outgoing
//! connections, so a flood of clients can never take the last descriptor from the store.

/// Descriptors kept back from connections for everything else the host opens.
pub(crate) const RESERVE: u64 = 128;

/// Raises the soft limit of open files to the hard limit; returns the soft limit in force
/// afterwards (`None` where it cannot be read).
pub(crate) fn raise() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        Some(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap to use: `configured`, lowered when the open-files limit leaves less
/// room after [`RESERVE`].
pub(crate) fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    match open_files {
        Some(limit) => {
            let room = limit.saturating_sub(RESERVE).max(1);
            configured.min(usize::try_from(room).unwrap_or(usize::MAX))
        }
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_store() {
        assert_eq!(connection_cap(1000, Some(1024)), 896);
        assert_eq!(connection_cap(1000, Some(65_536)), 1000);
        assert_eq!(connection_cap(1000, Some(16)), 1);
        assert_eq!(connection_cap(1000, None), 1000);
    }
}
