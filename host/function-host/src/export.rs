//! `<app> export-history`: writes the histories of orchestration instances from the app's
//! task hub as JSON files, for the replay check a team runs before deploying changed
//! orchestrator code (see docs/versioning.md).
//!
//! ```text
//! <app> export-history [--name <ORCHESTRATOR>] [--limit <N>] [--output <DIR>] [<INSTANCE-ID>...]
//! ```
//!
//! Instances are chosen by id, or by orchestrator name, or all orchestration instances (never
//! entities), at most `--limit` (default 100) of them. With `--output`, each history is
//! written to `<DIR>/<instance id>.json`; without it, one history is printed. The command only
//! reads the task hub, so it may run beside a host that uses it.

use std::path::PathBuf;

use durable_engine::replay::check::StoredHistory;
use durable_store::{InstanceQuery, TaskHub};

use crate::config::HostConfig;
use crate::HostError;

/// The help text of the command.
pub const EXPORT_USAGE: &str = "\
Usage: <app> export-history [--name <ORCHESTRATOR>] [--limit <N>] [--output <DIR>] [<INSTANCE-ID>...]

Writes the histories of orchestration instances in the app's task hub as JSON, for the replay
check (durable::testing::replay_histories). Instances are chosen by id, else by orchestrator
name, else all orchestration instances, at most --limit (default 100). With --output each is
written to <DIR>/<instance id>.json; without it, the one chosen history is printed.";

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// Instance ids given by name.
    pub ids: Vec<String>,
    /// `--name`: the instances of this orchestrator.
    pub name: Option<String>,
    /// `--limit`.
    pub limit: usize,
    /// `--output`: the directory.
    pub output: Option<PathBuf>,
}

impl ExportRequest {
    /// Parses the arguments after `export-history`; a message for a person on error.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut request = ExportRequest {
            ids: Vec::new(),
            name: None,
            limit: 100,
            output: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next().cloned())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag {
                "--name" => request.name = Some(value()?),
                "--output" | "-o" => request.output = Some(PathBuf::from(value()?)),
                "--limit" => {
                    let text = value()?;
                    request.limit =
                        text.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                            format!("--limit takes a positive number, not {text:?}")
                        })?;
                }
                f if f.starts_with('-') => return Err(format!("unknown argument {arg:?}")),
                id => request.ids.push(id.to_string()),
            }
        }
        Ok(request)
    }
}

/// Runs the command (the arguments after `export-history`) and returns the exit code.
pub fn main(config: Result<HostConfig, HostError>, args: &[String]) -> std::process::ExitCode {
    use std::process::ExitCode;
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{EXPORT_USAGE}");
        return ExitCode::SUCCESS;
    }
    let request = match ExportRequest::parse(args) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("error: {message}\n\n{EXPORT_USAGE}");
            return ExitCode::from(2);
        }
    };
    let exported = config.and_then(|config| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(HostError::TokioRuntime)?
            .block_on(export_histories(&config, &request))
    });
    match exported {
        Ok(n) => {
            if let Some(dir) = &request.output {
                eprintln!("exported {n} histories to {}", dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Exports the histories; returns how many were written (or printed).
pub async fn export_histories(
    config: &HostConfig,
    request: &ExportRequest,
) -> Result<usize, HostError> {
    let store = crate::function_host::open_store(config)?;
    let ids = chosen_ids(&*store, request).await?;
    if request.output.is_none() && ids.len() != 1 {
        return Err(HostError::Export(format!(
            "{} instances match; give --output <DIR> to write them all, or one instance id",
            ids.len()
        )));
    }
    if let Some(dir) = &request.output {
        std::fs::create_dir_all(dir)
            .map_err(|e| HostError::Export(format!("cannot create {}: {e}", dir.display())))?;
    }
    for id in &ids {
        let history = store.get_history(id).await?;
        let stored = StoredHistory::from_events(history)
            .map_err(|e| HostError::Export(format!("instance {id:?}: {e}")))?;
        match &request.output {
            None => println!("{}", stored.to_json()),
            Some(dir) => {
                let path = dir.join(format!("{}.json", file_name(id)));
                std::fs::write(&path, stored.to_json() + "\n").map_err(|e| {
                    HostError::Export(format!("cannot write {}: {e}", path.display()))
                })?;
            }
        }
    }
    Ok(ids.len())
}

/// The ids of the instances to export.
async fn chosen_ids(
    store: &dyn TaskHub,
    request: &ExportRequest,
) -> Result<Vec<String>, HostError> {
    if !request.ids.is_empty() {
        for id in &request.ids {
            if store.get_instance(id).await?.is_none() {
                return Err(HostError::Export(format!(
                    "no instance {id:?} in the task hub"
                )));
            }
        }
        return Ok(request.ids.clone());
    }
    let mut query = InstanceQuery {
        name: request.name.clone(),
        exclude_entities: true,
        page_size: request.limit.min(100),
        skip_inputs: true,
        ..InstanceQuery::default()
    };
    let mut ids = Vec::new();
    loop {
        let page = store.query_instances(&query).await?;
        ids.extend(page.instances.into_iter().map(|i| i.instance_id));
        match page.continuation {
            Some(token) if ids.len() < request.limit => query.continuation = Some(token),
            _ => break,
        }
    }
    ids.truncate(request.limit);
    Ok(ids)
}

/// A file name for an instance id: letters, digits, `.`, `-` and `_` as they are, anything
/// else as `%XX` (so that `parent:1` and `parent_1` stay apart).
fn file_name(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            b'.' if !id.starts_with('.') => ".".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ExportRequest, String> {
        ExportRequest::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments() {
        let r = parse(&["--name", "order", "--limit=5", "-o", "out", "a", "b"]).unwrap();
        assert_eq!(r.name.as_deref(), Some("order"));
        assert_eq!(r.limit, 5);
        assert_eq!(r.output, Some(PathBuf::from("out")));
        assert_eq!(r.ids, ["a", "b"]);
        assert_eq!(parse(&[]).unwrap().limit, 100);
        assert!(parse(&["--limit", "0"]).unwrap_err().contains("--limit"));
        assert!(parse(&["--name"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--color"]).unwrap_err().contains("--color"));
    }

    #[test]
    fn file_names_keep_distinct_ids_apart() {
        assert_eq!(file_name("order-7_a.b"), "order-7_a.b");
        assert_eq!(file_name("parent:1"), "parent%3A1");
        assert_ne!(file_name("parent:1"), file_name("parent_1"));
        assert_eq!(file_name(".."), "%2E%2E");
    }
}
