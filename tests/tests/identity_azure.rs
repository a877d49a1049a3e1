//! Identity-based connections, end to end: a host process with no account key runs its task
//! hub on Azurite in OAuth mode over HTTPS (a certificate the test makes, trusted through
//! `SSL_CERT_FILE`), with bearer tokens from the test's identity provider speaking the real
//! protocols: the App Service managed identity endpoint, and the Entra token endpoint for
//! Kubernetes workload identity and for a service principal. Tokens are short-lived, so the
//! host must renew them (Azurite refuses an expired one); queue and blob triggers run on such
//! connections too; a refused or missing identity stops the start with an error that says
//! which setting and which identity.

#[path = "triggers_support/mod.rs"]
mod support;

use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use durable_azure_storage::connection::DEVELOPMENT_KEY;
use durable_azure_storage::StorageAccount;
use durable_testing::azurite::Azurite;
use durable_testing::identity_provider::{IdentityProvider, TENANT};
use durable_testing::tls::TestCertificate;
use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const USER_ASSIGNED: &str = "5a1e0f3c-2b7d-4c21-9f0e-8d6b3a9c4e77";

/// The certificate of every HTTPS server in this test binary. This process trusts it too
/// (for its own storage client): `SSL_CERT_FILE` is set while the other tests wait here,
/// before any of them has made a TLS client.
fn certificate() -> &'static TestCertificate {
    static CERTIFICATE: OnceLock<(tempfile::TempDir, TestCertificate)> = OnceLock::new();
    let (_, certificate) = CERTIFICATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let certificate = TestCertificate::generate(dir.path()).expect("a test certificate");
        std::env::set_var("SSL_CERT_FILE", certificate.ca_file());
        (dir, certificate)
    });
    certificate
}

/// Azurite in OAuth mode over HTTPS.
fn oauth_azurite() -> Azurite {
    Azurite::start_with_oauth(certificate()).unwrap_or_else(|e| panic!("Azurite is required: {e}"))
}

/// The CA file, for a host's `SSL_CERT_FILE`.
fn ca() -> String {
    certificate().ca_file().to_string_lossy().into_owned()
}

/// The app settings of an identity-based task hub connection on `azurite`, plus `more`.
fn identity_values(azurite: &Azurite, hub: &str, more: &[(&str, &str)]) -> Value {
    let [blob, queue, table] = azurite.https_endpoints();
    let mut values = json!({
        "AzureWebJobsStorage": "",
        "AzureWebJobsStorage__blobServiceUri": blob,
        "AzureWebJobsStorage__queueServiceUri": queue,
        "AzureWebJobsStorage__tableServiceUri": table,
        "TaskHubName": hub,
    });
    for (k, v) in more {
        values[*k] = json!(v);
    }
    values
}

fn app(values: Value) -> AppDir {
    AppDir::new(env!("CARGO_BIN_EXE_scale-out-app"), values, None)
}

/// Runs one Hello cities to completion on `host`.
fn hello(host: &TestHost, id: &str) {
    let start = format!("/runtime/webhooks/durabletask/orchestrators/hello_cities/{id}");
    let started = host.call("POST", &start).send();
    assert_eq!(started.status, 202, "{:?}\n{}", started.body, host.log());
    let status = host.wait_for_status(id, "Completed", None);
    assert_eq!(
        status["output"],
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
}

/// The JSON event of a start that failed (the host prints only that).
fn start_error(output: &Output) -> String {
    assert!(!output.status.success(), "the host started: {output:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["level"] == "ERROR")
        .map(|v| v.to_string())
        .next()
        .unwrap_or_else(|| panic!("no JSON error event in:\n{text}"))
}

#[test]
fn a_managed_identity_runs_the_hub_on_bearer_tokens_and_renews_them() {
    let azurite = oauth_azurite();
    let provider = IdentityProvider::start(None).expect("the identity provider starts");
    // Renewed after half of 20 s; Azurite refuses a token once it has expired.
    let lifetime = Duration::from_secs(20);
    provider.grant(lifetime);
    let dir = app(identity_values(
        &azurite,
        &format!("Identity{}", rand::random::<u32>()),
        &[
            ("AzureWebJobsStorage__credential", "managedidentity"),
            ("AzureWebJobsStorage__clientId", USER_ASSIGNED),
        ],
    ));
    let ca = ca();
    let endpoint = provider.managed_identity_endpoint();
    let env = [
        ("IDENTITY_ENDPOINT", endpoint.as_str()),
        ("IDENTITY_HEADER", provider.identity_header()),
        ("SSL_CERT_FILE", ca.as_str()),
    ];
    let host = TestHost::start(&dir, &env);
    assert!(
        host.banner.contains("identity-based"),
        "the banner names the connection kind:\n{}",
        host.banner
    );

    // Work over two token lifetimes and more, so the hub runs on renewed tokens (without
    // renewal, requests fail once the first token expires).
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < lifetime * 2 + Duration::from_secs(4) {
        n += 1;
        hello(&host, &format!("mi-{n}"));
        std::thread::sleep(Duration::from_secs(2));
    }
    let requests = provider.requests();
    assert!(
        provider.issued() >= 3,
        "{} tokens issued in {:?}: {requests:#?}",
        provider.issued(),
        started.elapsed()
    );
    for request in &requests {
        assert!(request.granted, "{request:#?}");
        assert_eq!(request.query["api-version"], "2019-08-01");
        assert_eq!(request.query["resource"], "https://storage.azure.com");
        assert_eq!(request.query["client_id"], USER_ASSIGNED);
    }
    let log = host.log();
    assert!(!log.contains("could not"), "{log}");
    host.stop();
}

#[test]
fn workload_identity_and_a_service_principal_get_tokens_from_the_entra_endpoint() {
    let scratch = tempfile::tempdir().unwrap();
    let azurite = oauth_azurite();
    let authority = IdentityProvider::start(Some(certificate())).expect("the provider starts");
    let ca = ca();
    let hub = format!("Workload{}", rand::random::<u32>());

    // Workload identity as the AKS webhook sets it up: the projected service account token
    // and the AZURE_* variables, no credential setting.
    let token_file = scratch.path().join("azure-identity-token");
    std::fs::write(&token_file, "projected-service-account-token").unwrap();
    let token_path = token_file.to_string_lossy().into_owned();
    let authority_host = authority.authority_host();
    let dir = app(identity_values(&azurite, &hub, &[]));
    let host = TestHost::start(
        &dir,
        &[
            ("AZURE_AUTHORITY_HOST", authority_host.as_str()),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", "workload-client"),
            ("AZURE_FEDERATED_TOKEN_FILE", token_path.as_str()),
            ("SSL_CERT_FILE", ca.as_str()),
        ],
    );
    hello(&host, "workload-1");
    host.stop();
    let requests = authority.requests();
    let first = requests.first().expect("a token request");
    assert_eq!(first.path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(first.form["client_id"], "workload-client");
    assert_eq!(
        first.form["client_assertion"],
        "projected-service-account-token"
    );
    assert_eq!(
        first.form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(first.form["scope"], "https://storage.azure.com/.default");

    // A service principal, as for local development against a real account.
    let dir = app(identity_values(
        &azurite,
        &hub,
        &[
            ("AzureWebJobsStorage__tenantId", TENANT),
            ("AzureWebJobsStorage__clientId", "app-client"),
            ("AzureWebJobsStorage__clientSecret", "app-secret"),
        ],
    ));
    let host = TestHost::start(
        &dir,
        &[
            ("AZURE_AUTHORITY_HOST", authority_host.as_str()),
            ("SSL_CERT_FILE", ca.as_str()),
        ],
    );
    hello(&host, "principal-1");
    host.stop();
    let secret_request = authority
        .requests()
        .into_iter()
        .find(|r| r.form.get("client_id").map(String::as_str) == Some("app-client"))
        .expect("a client secret request");
    assert_eq!(secret_request.form["client_secret"], "app-secret");
    assert_eq!(secret_request.form["grant_type"], "client_credentials");
}

#[test]
fn a_refused_or_missing_identity_stops_the_start_with_a_clear_error() {
    let azurite = oauth_azurite();
    let provider = IdentityProvider::start(None).expect("the identity provider starts");
    let ca = ca();
    let endpoint = provider.managed_identity_endpoint();
    let hub = format!("Refused{}", rand::random::<u32>());

    // The platform refuses: this identity is not assigned to the app.
    provider.refuse(400, "Identity not found");
    let dir = app(identity_values(
        &azurite,
        &hub,
        &[
            ("AzureWebJobsStorage__credential", "managedidentity"),
            ("AzureWebJobsStorage__clientId", USER_ASSIGNED),
        ],
    ));
    let env = [
        ("IDENTITY_ENDPOINT", endpoint.as_str()),
        ("IDENTITY_HEADER", provider.identity_header()),
        ("SSL_CERT_FILE", ca.as_str()),
        ("DurableLogFormat", "json"),
    ];
    let error = start_error(&dir.run_to_exit(&["--port", "0"], &env));
    for expected in [
        "AzureWebJobsStorage",
        &format!("managed identity (client id {USER_ASSIGNED})"),
        "not been assigned",
    ] {
        assert!(
            error.contains(expected),
            "{expected:?} missing from {error}"
        );
    }
    assert!(!provider.requests().is_empty());

    // Workload identity chosen, but the pod has none.
    let dir = app(identity_values(
        &azurite,
        &hub,
        &[("AzureWebJobsStorage__credential", "workloadidentity")],
    ));
    let error = start_error(&dir.run_to_exit(&["--port", "0"], &[("DurableLogFormat", "json")]));
    for expected in [
        "AzureWebJobsStorage__credential",
        "workload identity",
        "tenant",
    ] {
        assert!(
            error.contains(expected),
            "{expected:?} missing from {error}"
        );
    }

    // A bearer token is never sent over plain HTTP.
    let dir = app(identity_values(
        &azurite,
        &hub,
        &[(
            "AzureWebJobsStorage__queueServiceUri",
            "http://127.0.0.1:1/devstoreaccount1",
        )],
    ));
    let error = start_error(&dir.run_to_exit(&["--port", "0"], &[("DurableLogFormat", "json")]));
    assert!(
        error.contains("AzureWebJobsStorage__queueServiceUri") && error.contains("https"),
        "{error}"
    );
}

#[test]
fn queue_and_blob_triggers_run_on_identity_based_connections() {
    let azurite = oauth_azurite();
    let provider = IdentityProvider::start(None).expect("the identity provider starts");
    let [blob, queue, table] = azurite.https_endpoints();
    // The functions record their runs with a key; the test, an outside system, uses one too.
    let keyed = format!(
        "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey={DEVELOPMENT_KEY};\
         BlobEndpoint={blob};QueueEndpoint={queue};TableEndpoint={table};"
    );
    let mut values = identity_values(
        &azurite,
        &format!("Triggers{}", rand::random::<u32>()),
        &[
            // `queue_json` reads its own connection: a queue service URI is all it needs.
            ("TriggerStorage__queueServiceUri", queue.as_str()),
            ("TriggerStorage__credential", "managedidentity"),
            ("TriggerResultsStorage", keyed.as_str()),
        ],
    );
    values["AzureWebJobsStorage__credential"] = json!("managedidentity");
    let dir = AppDir::new(support::APP, values, Some(support::fast_host_json()));
    let ca = ca();
    let endpoint = provider.managed_identity_endpoint();
    let host = TestHost::start(
        &dir,
        &[
            ("IDENTITY_ENDPOINT", endpoint.as_str()),
            ("IDENTITY_HEADER", provider.identity_header()),
            ("SSL_CERT_FILE", ca.as_str()),
        ],
    );

    let storage =
        support::Storage::on_account(StorageAccount::from_connection_string(&keyed).unwrap());
    storage.put_message("q-text", b"hello-identity");
    storage.put_message("q-json", br#"{"id": "o-identity", "amount": 3}"#);
    storage.put_blob("b-text", "greeting.txt", b"hi there");
    let log = || host.log();
    for (function, key) in [
        ("queue_text", "hello-identity"),
        ("queue_json", "o-identity"),
        ("blob_text", "greeting.txt"),
    ] {
        let records = support::wait_for(
            Duration::from_secs(30),
            &format!("{function} ran for {key}"),
            &log,
            || {
                let r = storage.records(function, key);
                (!r.is_empty()).then_some(r)
            },
        );
        assert_eq!(records.len(), 1, "{records:?}");
    }
    assert!(provider.issued() >= 1);
    host.stop();
}
