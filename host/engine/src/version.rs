//! Orchestration versions: how two versions compare, and which instances a worker takes under
//! the host.json settings `defaultVersion`, `versionMatchStrategy` and
//! `versionFailureStrategy`.
//!
//! An instance is given a version when it starts and keeps it; the orchestrator reads it with
//! [`OrchestrationContext::version`](crate::context::OrchestrationContext::version) and may
//! branch on it, and a host may register several implementations of one orchestration name,
//! one per version.

use std::cmp::Ordering;

/// Compares two versions:
///
/// 1. no version and the empty version are equal, and older than any other version;
/// 2. versions made of one to four dot-separated numbers (`"2"`, `"1.0"`, `"1.2.3"`) compare
///    number by number, a missing number being older than any (`"1.0"` < `"1.0.0"`);
/// 3. anything else compares as text, ignoring ASCII case, after every numeric version (so the
///    order stays transitive when the two kinds mix).
///
/// ```
/// use std::cmp::Ordering;
/// use durable_engine::version::compare_versions;
///
/// assert_eq!(compare_versions(Some("10"), Some("9")), Ordering::Greater);
/// assert_eq!(compare_versions(Some("1.2"), Some("1.10")), Ordering::Less);
/// assert_eq!(compare_versions(None, Some("")), Ordering::Equal);
/// assert_eq!(compare_versions(None, Some("1")), Ordering::Less);
/// assert_eq!(compare_versions(Some("V2"), Some("v2")), Ordering::Equal);
/// ```
pub fn compare_versions(a: Option<&str>, b: Option<&str>) -> Ordering {
    let (a, b) = (a.unwrap_or(""), b.unwrap_or(""));
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    match (numeric(a), numeric(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        // numeric versions before text ones, so that the order stays an order when the two
        // kinds mix ("2" < "10" < "1a", never "1a" < "2")
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase())),
    }
}

/// True if the two versions compare equal ([`compare_versions`]).
pub fn same_version(a: Option<&str>, b: Option<&str>) -> bool {
    compare_versions(a, b) == Ordering::Equal
}

/// `" for version \"2\""` for a version, nothing for none: for messages that name a function.
pub fn describe(version: Option<&str>) -> String {
    match version {
        Some(v) if !v.is_empty() => format!(" for version {v:?}"),
        _ => String::new(),
    }
}

/// The numbers of a version of one to four dot-separated numbers; a missing number is -1, so
/// it sorts before 0.
fn numeric(v: &str) -> Option<[i64; 4]> {
    let mut parts = [-1i64; 4];
    for (i, part) in v.split('.').enumerate() {
        if i == 4 || part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        parts[i] = part.parse::<u32>().ok()?.into();
    }
    Some(parts)
}

/// Which instances a worker takes, by their version against its `defaultVersion`
/// (host.json `versionMatchStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionMatchStrategy {
    /// Any version.
    None,
    /// Only the worker's version.
    Strict,
    /// The worker's version and older ones (the default).
    #[default]
    CurrentOrOlder,
}

impl VersionMatchStrategy {
    /// Parses the host.json value (ASCII case ignored).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::None, Self::Strict, Self::CurrentOrOlder]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(text))
    }

    /// The host.json name.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Strict => "Strict",
            Self::CurrentOrOlder => "CurrentOrOlder",
        }
    }
}

/// What a worker does with an instance whose version it does not take (host.json
/// `versionFailureStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionFailureStrategy {
    /// Leave it for a worker that takes it (the default).
    #[default]
    Reject,
    /// Fail the instance.
    Fail,
}

impl VersionFailureStrategy {
    /// Parses the host.json value (ASCII case ignored).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Reject, Self::Fail]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(text))
    }

    /// The host.json name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reject => "Reject",
            Self::Fail => "Fail",
        }
    }
}

/// A worker's versioning settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versioning {
    /// The version new instances get when their starter names none, and the worker's own
    /// version for the match strategy. Without one, versions are not checked.
    pub default_version: Option<String>,
    /// Which instance versions this worker takes.
    pub match_strategy: VersionMatchStrategy,
    /// What happens to an instance whose version it does not take.
    pub failure_strategy: VersionFailureStrategy,
}

impl Versioning {
    /// Whether this worker takes an instance of `version`; without a default version every
    /// version is taken.
    pub fn takes(&self, version: Option<&str>) -> bool {
        let Some(mine) = self.default_version.as_deref() else {
            return true;
        };
        let order = compare_versions(version, Some(mine));
        match self.match_strategy {
            VersionMatchStrategy::None => true,
            VersionMatchStrategy::Strict => order == Ordering::Equal,
            VersionMatchStrategy::CurrentOrOlder => order != Ordering::Greater,
        }
    }

    /// Why this worker does not take an instance of `version`, if it does not.
    pub fn refusal(&self, version: Option<&str>) -> Option<String> {
        if self.takes(version) {
            return None;
        }
        let mine = self.default_version.as_deref().unwrap_or_default();
        let theirs = match version {
            Some(v) if !v.is_empty() => format!("version {v:?}"),
            _ => "no version".to_string(),
        };
        let rule = match self.match_strategy {
            VersionMatchStrategy::Strict => "only that version",
            _ => "that version and older ones",
        };
        Some(format!(
            "the instance has {theirs}, and this host's defaultVersion is {mine:?} with \
             versionMatchStrategy {} ({rule})",
            self.match_strategy.name()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value_and_text_ignores_case() {
        assert_eq!(
            compare_versions(Some("1.0.9"), Some("1.0.10")),
            Ordering::Less
        );
        assert_eq!(compare_versions(Some("2.0"), Some("2.0")), Ordering::Equal);
        assert_eq!(compare_versions(Some("1.0"), Some("1.0.0")), Ordering::Less);
        assert_eq!(
            compare_versions(Some("2025-01-02"), Some("2025-01-10")),
            Ordering::Less
        );
        assert_eq!(
            compare_versions(Some("v1.0-release"), Some("V1.0-RELEASE")),
            Ordering::Equal
        );
        // five numbers are not a numeric version: compared as text
        assert_eq!(
            compare_versions(Some("1.1.1.1.10"), Some("1.1.1.1.9")),
            Ordering::Less
        );
        assert_eq!(compare_versions(Some(""), None), Ordering::Equal);
        assert_eq!(compare_versions(Some("0"), Some("")), Ordering::Greater);
        // mixed kinds: numbers first, so "2" < "10" < "1a" holds throughout
        assert_eq!(compare_versions(Some("10"), Some("1a")), Ordering::Less);
        assert_eq!(compare_versions(Some("1a"), Some("2")), Ordering::Greater);
    }

    #[test]
    fn strategies_decide_which_versions_a_worker_takes() {
        let worker = |s| Versioning {
            default_version: Some("2.0".into()),
            match_strategy: s,
            failure_strategy: VersionFailureStrategy::Reject,
        };
        let older = worker(VersionMatchStrategy::CurrentOrOlder);
        assert!(older.takes(Some("1.5")) && older.takes(Some("2.0")) && older.takes(None));
        assert!(!older.takes(Some("2.1")));
        let strict = worker(VersionMatchStrategy::Strict);
        assert!(strict.takes(Some("2.0")) && !strict.takes(Some("1.0")) && !strict.takes(None));
        assert!(worker(VersionMatchStrategy::None).takes(Some("9")));
        assert!(Versioning::default().takes(Some("anything")));
        let why = strict.refusal(Some("1.0")).unwrap();
        assert!(why.contains("\"1.0\"") && why.contains("Strict"), "{why}");
    }

    #[test]
    fn settings_parse_ignoring_case() {
        assert_eq!(
            VersionMatchStrategy::parse("currentorolder"),
            Some(VersionMatchStrategy::CurrentOrOlder)
        );
        assert_eq!(VersionMatchStrategy::parse("newest"), None);
        assert_eq!(
            VersionFailureStrategy::parse("FAIL"),
            Some(VersionFailureStrategy::Fail)
        );
    }
}
