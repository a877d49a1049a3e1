//! The requests an Azurite served, read from its debug log (`--debug FILE`): one line per
//! request names the service, the method and the URL, e.g.
//!
//! ```text
//! 2026-12-05T22:32:59.277Z <request id> info: QueueStorageContextMiddleware: RequestMethod=GET RequestURL=http://127.0.0.1/devstoreaccount1/hub-control-00/messages?numofmessages=32 RequestHeaders:{...}
//! ```
//!
//! Counting them measures, from outside the host process, how many storage transactions (the
//! unit Azure Storage bills) the host makes.

use std::path::Path;

/// One request Azurite served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedRequest {
    /// When it arrived, as Azurite wrote it (RFC 3339, UTC).
    pub at: String,
    /// `blob`, `queue` or `table`.
    pub service: &'static str,
    /// The HTTP method.
    pub method: String,
    /// The path and query, without scheme and host (`/devstoreaccount1/...`).
    pub path: String,
}

/// The requests in the debug log at `path`, oldest first; none if it cannot be read.
pub(crate) fn read(path: &Path) -> Vec<ServedRequest> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(parse).collect()
}

fn parse(line: &str) -> Option<ServedRequest> {
    let (head, rest) = line.split_once("StorageContextMiddleware: RequestMethod=")?;
    let service = if head.ends_with("Blob") {
        "blob"
    } else if head.ends_with("Queue") {
        "queue"
    } else if head.ends_with("Table") {
        "table"
    } else {
        return None;
    };
    let at = head.split_whitespace().next()?.to_owned();
    let (method, rest) = rest.split_once(" RequestURL=")?;
    let url = rest.split_whitespace().next()?;
    let path = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .and_then(|u| u.find('/').map(|i| &u[i..]))
        .unwrap_or(url);
    Some(ServedRequest {
        at,
        service,
        method: method.to_owned(),
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_request_lines_and_skips_the_rest() {
        let queue = "2026-12-05T22:32:59.277Z b05c info: QueueStorageContextMiddleware: \
                     RequestMethod=GET RequestURL=http://127.0.0.1/devstoreaccount1/q/messages?numofmessages=32 \
                     RequestHeaders:{\"host\":\"127.0.0.1:1\"}";
        let other =
            "2026-12-05T22:32:59.278Z b05c verbose: DispatchMiddleware: Dispatching request...";
        let r = parse(queue).unwrap();
        assert_eq!(r.service, "queue");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/devstoreaccount1/q/messages?numofmessages=32");
        assert_eq!(r.at, "2026-12-05T22:32:59.277Z");
        assert!(parse(other).is_none());
    }
}
