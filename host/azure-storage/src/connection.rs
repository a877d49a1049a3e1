//! Storage connection strings: `UseDevelopmentStorage=true` (Azurite on its default ports) or
//! the full form (`AccountName`, `AccountKey`, `DefaultEndpointsProtocol`, `EndpointSuffix` or
//! explicit `BlobEndpoint`/`QueueEndpoint`/`TableEndpoint`).

use std::fmt;

use super::credential::Credential;

/// The account name every storage emulator uses.
pub const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";

/// The emulator's published, well-known account key (not a secret).
pub const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Why a connection string cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionStringError {
    /// A `key=value` pair without `=`.
    #[error("connection string segment {0:?} is not of the form key=value")]
    Malformed(String),
    /// A setting the account needs is absent.
    #[error("connection string has no {0}")]
    Missing(&'static str),
    /// A setting with a value that cannot be used.
    #[error("connection string setting {key} has an invalid value: {reason}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// An account and the three service endpoints the task hub uses.
#[derive(Clone, PartialEq, Eq)]
pub struct StorageAccount {
    /// The account name (signs every request).
    pub name: String,
    /// What requests are authorized with: the account key, or an identity.
    pub credential: Credential,
    /// Blob service endpoint, without a trailing `/`.
    pub blob_endpoint: String,
    /// Queue service endpoint, without a trailing `/`.
    pub queue_endpoint: String,
    /// Table service endpoint, without a trailing `/`.
    pub table_endpoint: String,
}

impl fmt::Debug for StorageAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs (the credential's Debug hides it).
        f.debug_struct("StorageAccount")
            .field("name", &self.name)
            .field("credential", &self.credential)
            .field("blob_endpoint", &self.blob_endpoint)
            .field("queue_endpoint", &self.queue_endpoint)
            .field("table_endpoint", &self.table_endpoint)
            .finish()
    }
}

impl StorageAccount {
    /// The emulator's account at `127.0.0.1` on the given blob, queue and table ports.
    pub fn development(blob_port: u16, queue_port: u16, table_port: u16) -> Self {
        let endpoint = |port: u16| format!("http://127.0.0.1:{port}/{DEVELOPMENT_ACCOUNT}");
        StorageAccount {
            name: DEVELOPMENT_ACCOUNT.to_owned(),
            credential: Credential::AccountKey(
                decode_key(DEVELOPMENT_KEY).expect("the well-known key is valid base64"),
            ),
            blob_endpoint: endpoint(blob_port),
            queue_endpoint: endpoint(queue_port),
            table_endpoint: endpoint(table_port),
        }
    }

    /// Parses either form of connection string.
    pub fn from_connection_string(s: &str) -> Result<Self, ConnectionStringError> {
        let mut settings = Settings::default();
        for segment in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = segment
                .split_once('=')
                .ok_or_else(|| ConnectionStringError::Malformed(segment.to_owned()))?;
            settings.set(key.trim(), value.trim());
        }
        if settings
            .development
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Ok(Self::development(10000, 10001, 10002));
        }
        let name = settings
            .account_name
            .ok_or(ConnectionStringError::Missing("AccountName"))?;
        let key = settings
            .account_key
            .ok_or(ConnectionStringError::Missing("AccountKey"))?;
        let key = decode_key(&key).map_err(|reason| ConnectionStringError::Invalid {
            key: "AccountKey",
            reason,
        })?;
        let protocol = settings
            .protocol
            .unwrap_or_else(|| "https".to_owned())
            .to_ascii_lowercase();
        if protocol != "http" && protocol != "https" {
            return Err(ConnectionStringError::Invalid {
                key: "DefaultEndpointsProtocol",
                reason: format!("{protocol:?} is neither http nor https"),
            });
        }
        let suffix = settings
            .suffix
            .unwrap_or_else(|| "core.windows.net".to_owned());
        let endpoint = |explicit: Option<String>, service: &str| -> String {
            match explicit {
                Some(e) => e.trim_end_matches('/').to_owned(),
                None => format!("{protocol}://{name}.{service}.{suffix}"),
            }
        };
        Ok(StorageAccount {
            blob_endpoint: endpoint(settings.blob, "blob"),
            queue_endpoint: endpoint(settings.queue, "queue"),
            table_endpoint: endpoint(settings.table, "table"),
            name,
            credential: Credential::AccountKey(key),
        })
    }
}

/// The settings of a connection string that the task hub reads; others are ignored.
#[derive(Default)]
struct Settings {
    development: Option<String>,
    account_name: Option<String>,
    account_key: Option<String>,
    protocol: Option<String>,
    suffix: Option<String>,
    blob: Option<String>,
    queue: Option<String>,
    table: Option<String>,
}

impl Settings {
    fn set(&mut self, key: &str, value: &str) {
        let slot = match key.to_ascii_lowercase().as_str() {
            "usedevelopmentstorage" => &mut self.development,
            "accountname" => &mut self.account_name,
            "accountkey" => &mut self.account_key,
            "defaultendpointsprotocol" => &mut self.protocol,
            "endpointsuffix" => &mut self.suffix,
            "blobendpoint" => &mut self.blob,
            "queueendpoint" => &mut self.queue,
            "tableendpoint" => &mut self.table,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }
}

fn decode_key(key: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|e| format!("not base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_storage_maps_to_azurite_defaults() {
        let account = StorageAccount::from_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(account.name, DEVELOPMENT_ACCOUNT);
        assert_eq!(
            account.blob_endpoint,
            "http://127.0.0.1:10000/devstoreaccount1"
        );
        assert_eq!(
            account.queue_endpoint,
            "http://127.0.0.1:10001/devstoreaccount1"
        );
        assert_eq!(
            account.table_endpoint,
            "http://127.0.0.1:10002/devstoreaccount1"
        );
        assert!(matches!(&account.credential, Credential::AccountKey(k) if k.len() == 64));
    }

    #[test]
    fn full_form_with_suffix() {
        let account = StorageAccount::from_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AAAA;EndpointSuffix=core.chinacloudapi.cn",
        )
        .unwrap();
        assert_eq!(
            account.queue_endpoint,
            "https://acct.queue.core.chinacloudapi.cn"
        );
        assert_eq!(account.credential, Credential::AccountKey(vec![0, 0, 0]));
    }

    #[test]
    fn full_form_with_explicit_endpoints_and_defaults() {
        let account = StorageAccount::from_connection_string(
            "AccountName=acct;AccountKey=AAAA;TableEndpoint=http://localhost:9/acct/;",
        )
        .unwrap();
        assert_eq!(account.table_endpoint, "http://localhost:9/acct");
        assert_eq!(account.blob_endpoint, "https://acct.blob.core.windows.net");
    }

    #[test]
    fn bad_strings_say_why() {
        let err = StorageAccount::from_connection_string("AccountName=a").unwrap_err();
        assert_eq!(err, ConnectionStringError::Missing("AccountKey"));
        let err =
            StorageAccount::from_connection_string("AccountName=a;AccountKey=!!").unwrap_err();
        assert!(matches!(
            err,
            ConnectionStringError::Invalid {
                key: "AccountKey",
                ..
            }
        ));
        let err = StorageAccount::from_connection_string("nonsense").unwrap_err();
        assert!(matches!(err, ConnectionStringError::Malformed(_)));
        let err = StorageAccount::from_connection_string(
            "DefaultEndpointsProtocol=ftp;AccountName=a;AccountKey=AAAA",
        )
        .unwrap_err();
        assert!(matches!(err, ConnectionStringError::Invalid { .. }));
    }
}
