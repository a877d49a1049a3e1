//! Identity-based connections, as Azure Functions has them: a connection named `NAME` given by
//! the settings `NAME__accountName` (or `NAME__blobServiceUri`, `NAME__queueServiceUri`,
//! `NAME__tableServiceUri`, with `NAME__serviceUri` for the blob service) and authorized by a
//! Microsoft Entra ID identity instead of an account key:
//!
//! - `NAME__credential = managedidentity`: the managed identity of the App Service, Container
//!   Apps or Functions instance (its `IDENTITY_ENDPOINT`), else of the virtual machine (IMDS);
//!   `NAME__clientId` or `NAME__managedIdentityResourceId` picks a user-assigned one.
//! - `NAME__credential = workloadidentity`: Kubernetes workload identity, from the
//!   `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and
//!   `AZURE_AUTHORITY_HOST` its webhook injects (`NAME__clientId` and `NAME__tenantId` win).
//! - No `NAME__credential`: a service principal when `NAME__clientSecret` (with
//!   `NAME__tenantId` and `NAME__clientId`) is set; else workload identity when the pod has
//!   it; else the managed identity.

use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use super::connection::StorageAccount;
use super::credential::{AccessTokens, Credential};

/// The storage services, for saying which ones a connection must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageService {
    /// Blobs.
    Blob,
    /// Queues.
    Queue,
    /// Tables.
    Table,
}

/// Why an identity-based connection cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityConnectionError {
    /// A service the caller needs has no endpoint.
    #[error(
        "{setting} is not set: an identity-based connection needs {prefix}__accountName or the \
         service URI of every service it uses"
    )]
    MissingEndpoint {
        /// The setting that would give it.
        setting: String,
        /// The connection's name.
        prefix: String,
    },
    /// A setting with a value that cannot be used.
    #[error("{setting} = {value:?}: {reason}")]
    Invalid {
        /// The setting.
        setting: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The identity cannot be set up (e.g. workload identity without its token file).
    #[error("{setting}: {identity}: {reason}")]
    Credential {
        /// The connection's credential setting.
        setting: String,
        /// Which identity.
        identity: String,
        /// Why not.
        reason: String,
    },
}

/// Whether any setting of an identity-based connection named `name` is present.
pub fn has_identity_connection(name: &str, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    ENDPOINT_SETTINGS
        .iter()
        .any(|s| given(lookup, &format!("{name}__{s}")).is_some())
}

/// The settings that locate the services, in the order they are looked at.
const ENDPOINT_SETTINGS: [&str; 5] = [
    "accountName",
    "serviceUri",
    "blobServiceUri",
    "queueServiceUri",
    "tableServiceUri",
];

fn given(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The account of the identity-based connection named `name`, or `None` when none of its
/// settings is present. `needs` are the services the caller uses: each must have an endpoint
/// (an unused one may be missing).
pub fn identity_connection(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    needs: &[StorageService],
) -> Result<Option<StorageAccount>, IdentityConnectionError> {
    if !has_identity_connection(name, lookup) {
        return Ok(None);
    }
    let setting = |s: &str| format!("{name}__{s}");
    let account = given(lookup, &setting("accountName"));
    if let Some(a) = &account {
        let valid = (3..=24).contains(&a.len())
            && a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !valid {
            return Err(IdentityConnectionError::Invalid {
                setting: setting("accountName"),
                value: a.clone(),
                reason: "an account name is 3 to 24 lower-case letters and digits".into(),
            });
        }
    }
    let endpoint = |service: StorageService| -> Result<String, IdentityConnectionError> {
        let (key, host) = match service {
            StorageService::Blob => ("blobServiceUri", "blob"),
            StorageService::Queue => ("queueServiceUri", "queue"),
            StorageService::Table => ("tableServiceUri", "table"),
        };
        let explicit = given(lookup, &setting(key)).map(|v| (setting(key), v));
        let explicit = explicit.or_else(|| {
            (service == StorageService::Blob)
                .then(|| given(lookup, &setting("serviceUri")).map(|v| (setting("serviceUri"), v)))
                .flatten()
        });
        match (explicit, &account) {
            (Some((name, value)), _) => https_endpoint(&name, &value),
            (None, Some(account)) => Ok(format!("https://{account}.{host}.core.windows.net")),
            (None, None) if needs.contains(&service) => {
                Err(IdentityConnectionError::MissingEndpoint {
                    setting: setting(key),
                    prefix: name.to_owned(),
                })
            }
            // Not used by this caller: a request to it fails as an invalid URL.
            (None, None) => Ok(String::new()),
        }
    };
    let blob_endpoint = endpoint(StorageService::Blob)?;
    let queue_endpoint = endpoint(StorageService::Queue)?;
    let table_endpoint = endpoint(StorageService::Table)?;
    let account_name = account.unwrap_or_else(|| {
        let any = [&blob_endpoint, &queue_endpoint, &table_endpoint]
            .into_iter()
            .find(|e| !e.is_empty())
            .cloned()
            .unwrap_or_default();
        account_of(&any)
    });
    let tokens = access_tokens(name, lookup)?;
    Ok(Some(StorageAccount {
        name: account_name,
        credential: Credential::Identity(Arc::new(tokens)),
        blob_endpoint,
        queue_endpoint,
        table_endpoint,
    }))
}

/// A service URI, checked: bearer tokens are only ever sent over HTTPS.
fn https_endpoint(setting: &str, value: &str) -> Result<String, IdentityConnectionError> {
    let invalid = |reason: &str| IdentityConnectionError::Invalid {
        setting: setting.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(value).map_err(|e| invalid(&format!("not a URL ({e})")))?;
    if url.scheme() != "https" {
        return Err(invalid(
            "an identity-based connection sends bearer tokens, which storage accepts over \
             https only",
        ));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// The account an endpoint belongs to: the first label of `acct.blob.core.windows.net`, or
/// the first path segment of an emulator's `https://host:port/acct`.
fn account_of(endpoint: &str) -> String {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return String::new();
    };
    let in_path = url
        .path_segments()
        .and_then(|mut s| s.next())
        .filter(|s| !s.is_empty());
    match (in_path, url.domain()) {
        (Some(segment), _) => segment.to_owned(),
        (None, Some(domain)) => domain.split('.').next().unwrap_or_default().to_owned(),
        (None, None) => String::new(),
    }
}

/// The identity the connection's settings choose, with its token cache.
fn access_tokens(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<AccessTokens, IdentityConnectionError> {
    let setting = |s: &str| format!("{name}__{s}");
    let get = |s: &str| given(lookup, &setting(s));
    let credential_setting = setting("credential");
    let http =
        crate::transport::http_client().map_err(|e| IdentityConnectionError::Credential {
            setting: credential_setting.clone(),
            identity: "an HTTP client for token requests".into(),
            reason: e.to_string(),
        })?;
    let options = ClientOptions {
        transport: Some(azure_core::http::Transport::new(Arc::new(http))),
        // A few quick retries of a throttled or failing identity endpoint; the token cache
        // asks again later when that is not enough.
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            ..Default::default()
        }),
        ..Default::default()
    };
    let chosen = get("credential").map(|c| c.to_ascii_lowercase());
    let kind = match chosen.as_deref() {
        Some("managedidentity") => Kind::Managed,
        Some("workloadidentity") => Kind::Workload,
        Some(other) => {
            return Err(IdentityConnectionError::Invalid {
                setting: credential_setting,
                value: other.to_owned(),
                reason: "expected managedidentity or workloadidentity (or no setting)".into(),
            })
        }
        None if get("clientSecret").is_some() => Kind::ServicePrincipal,
        None if given(lookup, "AZURE_FEDERATED_TOKEN_FILE").is_some() => Kind::Workload,
        None => Kind::Managed,
    };
    let failed = |identity: &str, e: azure_core::Error| IdentityConnectionError::Credential {
        setting: credential_setting.clone(),
        identity: identity.to_owned(),
        reason: crate::transport::with_causes(&e).replace('\n', " "),
    };
    let (credential, identity): (Arc<dyn TokenCredential>, String) = match kind {
        Kind::Managed => {
            let user_assigned_id = match (get("clientId"), get("managedIdentityResourceId")) {
                (Some(_), Some(_)) => {
                    return Err(IdentityConnectionError::Invalid {
                        setting: setting("managedIdentityResourceId"),
                        value: get("managedIdentityResourceId").unwrap_or_default(),
                        reason: format!("set {} or this, not both", setting("clientId")),
                    })
                }
                (Some(id), None) => Some(UserAssignedId::ClientId(id)),
                (None, Some(id)) => Some(UserAssignedId::ResourceId(id)),
                (None, None) => None,
            };
            let identity = match &user_assigned_id {
                Some(UserAssignedId::ClientId(id)) => format!("managed identity (client id {id})"),
                Some(_) => "managed identity (resource id)".to_owned(),
                None => "managed identity (system-assigned)".to_owned(),
            };
            let credential =
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id,
                    client_options: options,
                }))
                .map_err(|e| failed(&identity, e))?;
            (credential, identity)
        }
        Kind::Workload => {
            let identity = "workload identity".to_owned();
            let credential =
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: options,
                    },
                    client_id: get("clientId"),
                    tenant_id: get("tenantId"),
                    token_file_path: None,
                }))
                .map_err(|e| failed(&identity, e))?;
            (credential, identity)
        }
        Kind::ServicePrincipal => {
            let client_id = get("clientId").unwrap_or_default();
            let identity = format!("service principal (client id {client_id})");
            let tenant = get("tenantId").unwrap_or_default();
            let secret = Secret::new(get("clientSecret").unwrap_or_default());
            let credential = ClientSecretCredential::new(
                &tenant,
                client_id,
                secret,
                Some(ClientSecretCredentialOptions {
                    client_options: options,
                }),
            )
            .map_err(|e| failed(&identity, e))?;
            (credential, identity)
        }
    };
    Ok(AccessTokens::new(
        credential,
        format!("the {identity} of connection {name}"),
    ))
}

enum Kind {
    Managed,
    Workload,
    ServicePrincipal,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve(
        settings: &[(&str, &str)],
        needs: &[StorageService],
    ) -> Result<Option<StorageAccount>, IdentityConnectionError> {
        let map: HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| map.get(k).cloned();
        identity_connection("Conn", &lookup, needs)
    }

    const ALL: &[StorageService] = &[
        StorageService::Blob,
        StorageService::Queue,
        StorageService::Table,
    ];

    #[test]
    fn no_settings_is_no_identity_connection() {
        assert!(resolve(&[("Conn", "x")], ALL).unwrap().is_none());
        assert!(resolve(&[("Conn__accountName", " ")], ALL)
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_account_name_gives_the_public_endpoints() {
        let account = resolve(&[("Conn__accountName", "acct1")], ALL)
            .unwrap()
            .unwrap();
        assert_eq!(account.name, "acct1");
        assert_eq!(account.blob_endpoint, "https://acct1.blob.core.windows.net");
        assert_eq!(
            account.queue_endpoint,
            "https://acct1.queue.core.windows.net"
        );
        assert_eq!(
            account.table_endpoint,
            "https://acct1.table.core.windows.net"
        );
        match &account.credential {
            Credential::Identity(t) => {
                assert_eq!(
                    t.identity(),
                    "the managed identity (system-assigned) of connection Conn"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn service_uris_win_and_only_needed_ones_are_required() {
        let account = resolve(
            &[
                (
                    "Conn__queueServiceUri",
                    "https://127.0.0.1:1/devstoreaccount1/",
                ),
                ("Conn__credential", "managedidentity"),
                ("Conn__clientId", "abc"),
            ],
            &[StorageService::Queue],
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            account.queue_endpoint,
            "https://127.0.0.1:1/devstoreaccount1"
        );
        assert_eq!(account.name, "devstoreaccount1");
        assert_eq!(account.table_endpoint, "");
        let err = resolve(&[("Conn__queueServiceUri", "https://q.example")], ALL).unwrap_err();
        assert!(
            matches!(&err, IdentityConnectionError::MissingEndpoint { setting, .. } if setting == "Conn__blobServiceUri"),
            "{err}"
        );
        let blob = resolve(
            &[("Conn__serviceUri", "https://b.example")],
            &[StorageService::Blob],
        )
        .unwrap()
        .unwrap();
        assert_eq!(blob.blob_endpoint, "https://b.example");
        assert_eq!(blob.name, "b");
    }

    #[test]
    fn bad_settings_say_which_and_why() {
        let err = resolve(&[("Conn__blobServiceUri", "http://127.0.0.1:1/a")], ALL).unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        let err = resolve(&[("Conn__accountName", "Bad_Name")], ALL).unwrap_err();
        assert!(err.to_string().contains("Conn__accountName"), "{err}");
        let err = resolve(
            &[
                ("Conn__accountName", "acct"),
                ("Conn__credential", "password"),
            ],
            ALL,
        )
        .unwrap_err();
        assert!(err.to_string().contains("Conn__credential"), "{err}");
        let err = resolve(
            &[
                ("Conn__accountName", "acct"),
                ("Conn__clientId", "a"),
                ("Conn__managedIdentityResourceId", "/subscriptions/x"),
            ],
            ALL,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn a_client_secret_means_a_service_principal() {
        let account = resolve(
            &[
                ("Conn__accountName", "acct"),
                ("Conn__tenantId", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
                ("Conn__clientId", "app"),
                ("Conn__clientSecret", "s3cret"),
            ],
            ALL,
        )
        .unwrap()
        .unwrap();
        let Credential::Identity(tokens) = &account.credential else {
            panic!("not an identity")
        };
        assert_eq!(
            tokens.identity(),
            "the service principal (client id app) of connection Conn"
        );
        let text = format!("{account:?}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
