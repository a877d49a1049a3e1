//! Host keys: generated on first run into a secrets file, reused afterwards, and checked
//! against the `x-functions-key` header or the `code` query parameter.
//!
//! - the **master key** opens everything (admin, function and management endpoints);
//! - the **default function key** opens `function`-level HTTP functions;
//! - the **durabletask system key** opens the built-in management API
//!   (`/runtime/webhooks/durabletask/...`).

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::app::AuthLevel;
use durable_http::HttpRequest;

/// The header that carries a key.
pub const KEY_HEADER: &str = "x-functions-key";
/// The query parameter that carries a key.
pub const KEY_QUERY: &str = "code";
/// The name of the default function key.
pub const DEFAULT_FUNCTION_KEY: &str = "default";
/// The name of the Durable Functions system key, as Azure Functions names it.
pub const DURABLE_SYSTEM_KEY: &str = "durabletask_extension";

const KEY_LEN: usize = 40;
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why the secrets could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The secrets file cannot be read or written.
    #[error("secrets file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The secrets file exists but is not what the host wrote. It is not overwritten, since
    /// clients may hold its keys.
    #[error("secrets file {} is corrupt ({message}); fix or delete it to generate new keys", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The keys of a host, as kept in the secrets file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostKeys {
    /// Opens everything.
    pub master_key: String,
    /// Function keys by name (`default` is always present).
    pub function_keys: std::collections::BTreeMap<String, String>,
    /// System keys by name (`durabletask_extension` is always present).
    pub system_keys: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for HostKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are secrets: never in logs.
        f.debug_struct("HostKeys")
            .field("function_keys", &self.function_keys.keys())
            .field("system_keys", &self.system_keys.keys())
            .finish_non_exhaustive()
    }
}

/// What a request presented, checked against the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The master key.
    Master,
    /// A function key.
    Function,
    /// A system key.
    System,
    /// No key, or a key that matches nothing.
    None,
}

impl HostKeys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        Self {
            master_key: new_key(),
            function_keys: [(DEFAULT_FUNCTION_KEY.to_string(), new_key())].into(),
            system_keys: [(DURABLE_SYSTEM_KEY.to_string(), new_key())].into(),
        }
    }

    /// Keys given by configuration: the master key, the `default` function key and the
    /// durabletask system key.
    pub fn given(master: String, function: String, system: String) -> Self {
        Self {
            master_key: master,
            function_keys: [(DEFAULT_FUNCTION_KEY.to_string(), function)].into(),
            system_keys: [(DURABLE_SYSTEM_KEY.to_string(), system)].into(),
        }
    }

    /// Reads the secrets file, creating it (mode 0600) with fresh keys on first run. Two hosts
    /// starting at once in the same directory end up with the same keys.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => return Self::parse(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let keys = Self::generate();
        let text = serde_json::to_vec_pretty(&keys).expect("keys serialize");
        // Write a private temporary file, then link it into place: the link fails if another
        // process created the file first, and then its keys win.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        write_private(&tmp, &text).map_err(io)?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated host keys");
                Ok(keys)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::parse(path, &std::fs::read(path).map_err(io)?)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Self, KeyError> {
        let corrupt = |message: String| KeyError::Corrupt {
            path: path.to_path_buf(),
            message,
        };
        let keys: HostKeys = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if keys.master_key.is_empty() {
            return Err(corrupt("masterKey is empty".into()));
        }
        if keys.function_keys.values().any(String::is_empty)
            || keys.system_keys.values().any(String::is_empty)
        {
            return Err(corrupt("a key is empty".into()));
        }
        if !keys.system_keys.contains_key(DURABLE_SYSTEM_KEY) {
            return Err(corrupt(format!(
                "systemKeys.{DURABLE_SYSTEM_KEY} is missing"
            )));
        }
        Ok(keys)
    }

    /// The Durable Functions system key.
    pub fn durable_system_key(&self) -> &str {
        &self.system_keys[DURABLE_SYSTEM_KEY]
    }

    /// Which key `presented` is.
    pub fn classify(&self, presented: Option<&str>) -> Access {
        let Some(p) = presented.filter(|p| !p.is_empty()) else {
            return Access::None;
        };
        // Check every key without early exit so timing says nothing about which one matched.
        let master = constant_time_eq(p, &self.master_key);
        let function = self
            .function_keys
            .values()
            .fold(false, |m, k| constant_time_eq(p, k) | m);
        let system = self
            .system_keys
            .values()
            .fold(false, |m, k| constant_time_eq(p, k) | m);
        if master {
            Access::Master
        } else if function {
            Access::Function
        } else if system {
            Access::System
        } else {
            Access::None
        }
    }

    /// Whether `presented` opens an HTTP function of this auth level.
    pub fn allows(&self, level: AuthLevel, presented: Option<&str>) -> bool {
        matches!(
            (level, self.classify(presented)),
            (AuthLevel::Anonymous, _)
                | (AuthLevel::Function, Access::Master | Access::Function)
                | (AuthLevel::Admin, Access::Master)
        )
    }

    /// Whether `presented` opens the built-in management API (system key or master key).
    pub fn allows_management(&self, presented: Option<&str>) -> bool {
        let Some(p) = presented.filter(|p| !p.is_empty()) else {
            return false;
        };
        constant_time_eq(p, &self.master_key) | constant_time_eq(p, self.durable_system_key())
    }
}

/// The key a request presents: the `x-functions-key` header, else the `code` query parameter.
pub fn presented_key(req: &HttpRequest) -> Option<&str> {
    req.header(KEY_HEADER)
        .filter(|k| !k.is_empty())
        .or_else(|| req.query_param(KEY_QUERY))
}

/// A random URL-safe key.
pub fn new_key() -> String {
    let mut rng = rand::rng();
    (0..KEY_LEN)
        .map(|_| URL_SAFE[rng.random_range(0..URL_SAFE.len())] as char)
        .collect()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> HostKeys {
        HostKeys::generate()
    }

    #[test]
    fn keys_are_long_random_and_url_safe() {
        let a = new_key();
        assert_eq!(a.len(), KEY_LEN);
        assert!(a.bytes().all(|b| URL_SAFE.contains(&b)));
        assert_ne!(a, new_key());
    }

    #[test]
    fn auth_levels() {
        let k = keys();
        let function = k.function_keys[DEFAULT_FUNCTION_KEY].clone();
        let system = k.durable_system_key().to_string();
        assert!(k.allows(AuthLevel::Anonymous, None));
        assert!(!k.allows(AuthLevel::Function, None));
        assert!(!k.allows(AuthLevel::Function, Some("")));
        assert!(!k.allows(AuthLevel::Function, Some("wrong")));
        assert!(k.allows(AuthLevel::Function, Some(&function)));
        assert!(k.allows(AuthLevel::Function, Some(&k.master_key)));
        assert!(!k.allows(AuthLevel::Function, Some(&system)));
        assert!(!k.allows(AuthLevel::Admin, Some(&function)));
        assert!(k.allows(AuthLevel::Admin, Some(&k.master_key)));
        assert!(k.allows_management(Some(&system)));
        assert!(k.allows_management(Some(&k.master_key)));
        assert!(!k.allows_management(Some(&function)));
        assert!(!k.allows_management(None));
    }

    #[test]
    fn the_key_comes_from_the_header_or_the_code_parameter() {
        let mut req = HttpRequest::new(http::Method::GET, "/api/x?code=q%2Bk".parse().unwrap());
        assert_eq!(presented_key(&req), Some("q+k"));
        req.headers.insert(KEY_HEADER, "h".parse().unwrap());
        assert_eq!(presented_key(&req), Some("h"));
    }

    #[test]
    fn the_secrets_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("secrets.json");
        let first = HostKeys::load_or_create(&path).unwrap();
        let again = HostKeys::load_or_create(&path).unwrap();
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["secrets.json"]);
    }

    #[test]
    fn a_corrupt_secrets_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "not json").unwrap();
        let err = HostKeys::load_or_create(&path).unwrap_err();
        assert!(matches!(err, KeyError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
    }
}
