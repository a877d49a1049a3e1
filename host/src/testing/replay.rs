//! The replay check over a directory of exported histories.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use durable_engine::replay::check::{replay, ReplayError, Replayed, StoredHistory};
use durable_host::app::FunctionApp;
use durable_runtime::Registry;

/// The histories that did not replay, each with its file and why.
#[derive(Debug)]
pub struct ReplayFailures {
    /// How many histories were checked.
    pub checked: usize,
    /// The files that failed, with their errors.
    pub failures: Vec<(PathBuf, String)>,
}

impl std::fmt::Display for ReplayFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} of {} histories do not replay against this build:",
            self.failures.len(),
            self.checked
        )?;
        for (path, error) in &self.failures {
            writeln!(f, "  {}: {error}", path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for ReplayFailures {}

/// Replays every `*.json` history (as `export-history` writes them) in `dir` against the
/// orchestrators this binary's trigger attributes registered; the results in file-name
/// order, or every failure. A directory without histories is a failure too, so that a wrong
/// path cannot pass.
pub fn replay_histories(dir: impl AsRef<Path>) -> Result<Vec<Replayed>, ReplayFailures> {
    let app = FunctionApp::collect().map_err(|e| ReplayFailures {
        checked: 0,
        failures: vec![(dir.as_ref().to_path_buf(), e.to_string())],
    })?;
    replay_histories_with(&app.registry, dir)
}

/// [`replay_histories`] against the orchestrators of `registry`.
pub fn replay_histories_with(
    registry: &Registry,
    dir: impl AsRef<Path>,
) -> Result<Vec<Replayed>, ReplayFailures> {
    let dir = dir.as_ref();
    let fail = |path: &Path, error: String| ReplayFailures {
        checked: 0,
        failures: vec![(path.to_path_buf(), error)],
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| fail(dir, format!("cannot read the directory: {e}")))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(fail(dir, "no *.json histories in this directory".into()));
    }
    let resolver = Arc::new(registry.clone()).resolver();
    let mut replayed = Vec::new();
    let mut failures = Vec::new();
    for path in &files {
        let checked = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| {
                StoredHistory::from_json(&text).map_err(|e| format!("not a history: {e}"))
            })
            .and_then(|stored| {
                replay(&stored, resolver.clone()).map_err(|e: ReplayError| e.to_string())
            });
        match checked {
            Ok(r) => replayed.push(r),
            Err(e) => failures.push((path.clone(), e)),
        }
    }
    if failures.is_empty() {
        Ok(replayed)
    } else {
        Err(ReplayFailures {
            checked: files.len(),
            failures,
        })
    }
}

/// Replays every history in `dir` ([`replay_histories`]) and panics with every failure: the
/// one line of a `cargo test` that guards a deploy.
///
/// ```no_run
/// #[test]
/// fn production_histories_replay() {
///     durable::testing::assert_histories_replay("histories");
/// }
/// ```
pub fn assert_histories_replay(dir: impl AsRef<Path>) -> Vec<Replayed> {
    match replay_histories(dir) {
        Ok(r) => r,
        Err(failures) => panic!("{failures}"),
    }
}
