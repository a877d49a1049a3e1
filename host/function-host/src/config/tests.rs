use std::collections::HashMap;

use super::*;

fn resolve_with(local: &str, host: &str, env: &[(&str, &str)]) -> Result<HostConfig, ConfigError> {
    let local = LocalSettings::from_json(
        Path::new(LOCAL_SETTINGS_FILE),
        &serde_json::from_str(local).unwrap(),
    )?;
    let host = HostJson::from_json(
        Path::new(HOST_JSON_FILE),
        &serde_json::from_str(host).unwrap(),
    )?;
    // The environment as the host sees it after exporting Values (explicit env wins).
    let mut vars: HashMap<String, String> = local.values.clone().into_iter().collect();
    for (k, v) in env {
        vars.insert(k.to_string(), v.to_string());
    }
    HostConfig::resolve(Path::new("/app"), &local, &host, &|n| vars.get(n).cloned())
}

#[test]
fn defaults_use_sqlite_under_the_app_directory() {
    let c = resolve_with("{}", "{}", &[]).unwrap();
    assert_eq!(c.hub_name, DEFAULT_HUB_NAME);
    assert_eq!(
        c.storage,
        StorageConfig::Sqlite {
            path: "/app/.durable/TestHubName.db".into()
        }
    );
    assert_eq!(c.port, DEFAULT_PORT);
    assert!(c.local_development);
    assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(c.max_request_body, DEFAULT_REQUEST_BODY_LIMIT);
    assert_eq!(c.route_prefix, "api");
    assert_eq!(c.function_timeout, None);
    assert_eq!(c.secrets_path, Path::new("/app/.durable/secrets.json"));
}

#[test]
fn values_and_host_section_are_read() {
    let c = resolve_with(
        r#"{"IsEncrypted": false,
            "Values": {"AzureWebJobsStorage": "", "TaskHubName": "SampleHub",
                       "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": 1024,
                       "DurableLocalDevelopment": false},
            "Host": {"LocalHttpPort": 7072}}"#,
        "{}",
        &[],
    )
    .unwrap();
    assert_eq!(c.hub_name, "SampleHub");
    assert_eq!(c.port, 7072);
    assert_eq!(c.max_request_body, 1024);
    assert!(!c.local_development);
    assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
}

#[test]
fn environment_overrides_the_files() {
    let c = resolve_with(
        r#"{"Values": {"TaskHubName": "FileHub", "DurableLocalDevelopment": "false"},
            "Host": {"LocalHttpPort": 7072}}"#,
        "{}",
        &[
            ("TaskHubName", "EnvHub"),
            ("FUNCTIONS_HTTP_PORT", "0"),
            ("DurableLocalDevelopment", "true"),
            ("DurableBindAddress", "0.0.0.0"),
        ],
    )
    .unwrap();
    assert_eq!(c.hub_name, "EnvHub");
    assert_eq!(c.port, 0);
    assert!(c.local_development);
    assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
}

#[test]
fn host_json_hub_name_wins_and_may_name_a_setting() {
    let host = r#"{"version": "2.0",
        "extensions": {"durableTask": {"hubName": "JsonHub",
            "maxConcurrentActivityFunctions": 7, "maxConcurrentOrchestratorFunctions": "3"}}}"#;
    let c = resolve_with(r#"{"Values": {"TaskHubName": "FileHub"}}"#, host, &[]).unwrap();
    assert_eq!(c.hub_name, "JsonHub");
    assert_eq!(c.max_concurrent_activities, Some(7));
    assert_eq!(c.max_concurrent_orchestrations, Some(3));

    let host = r#"{"Extensions": {"DurableTask": {"HubName": "%MyHub%"}}}"#;
    let c = resolve_with(r#"{"Values": {"MyHub": "Referenced"}}"#, host, &[]).unwrap();
    assert_eq!(c.hub_name, "Referenced");

    let c = resolve_with(
        "{}",
        r#"{"extensions": {"durableTask": {"hubName": "JsonHub"}}}"#,
        &[(HUB_NAME_OVERRIDE, "OverrideHub")],
    )
    .unwrap();
    assert_eq!(c.hub_name, "OverrideHub");
}

#[test]
fn identity_based_connections_are_recognized() {
    let c = resolve_with(
        r#"{"Values": {"AzureWebJobsStorage": "", "AzureWebJobsStorage__accountName": "acct"}}"#,
        "{}",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.storage,
        StorageConfig::AzureStorage {
            setting: AZURE_WEB_JOBS_STORAGE.into(),
            account: Some("acct (identity-based)".into())
        }
    );
    // A connection string wins over identity settings of the same name.
    let c = resolve_with(
        r#"{"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "AzureWebJobsStorage__queueServiceUri": "https://q.example"}}"#,
        "{}",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.storage,
        StorageConfig::AzureStorage {
            setting: AZURE_WEB_JOBS_STORAGE.into(),
            account: Some("devstoreaccount1 (Azurite)".into())
        }
    );
}

#[test]
fn azure_connection_strings_are_recognized() {
    let c = resolve_with(
        r#"{"Values": {"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=secret"}}"#,
        "{}",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.storage,
        StorageConfig::AzureStorage {
            setting: AZURE_WEB_JOBS_STORAGE.into(),
            account: Some("acct".into())
        }
    );
    let c = resolve_with(
        r#"{"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}}"#,
        "{}",
        &[],
    )
    .unwrap();
    assert!(matches!(c.storage, StorageConfig::AzureStorage { .. }));
    let c = resolve_with(
        r#"{"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}}"#,
        "{}",
        &[("AzureWebJobsStorage", "")],
    )
    .unwrap();
    assert!(matches!(c.storage, StorageConfig::Sqlite { .. }));
}

#[test]
fn bad_values_are_typed_errors() {
    let err = resolve_with(r#"{"Values": {"TaskHubName": "my-hub"}}"#, "{}", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::InvalidHubName { .. }), "{err}");
    let err = resolve_with(r#"{"Host": {"LocalHttpPort": 70000}}"#, "{}", &[]).unwrap_err();
    assert!(err.to_string().contains("Host.LocalHttpPort"), "{err}");
    let err = resolve_with("{}", "{}", &[("DurableLocalDevelopment", "maybe")]).unwrap_err();
    assert!(err.to_string().contains("DurableLocalDevelopment"), "{err}");
    let err = resolve_with(r#"{"Values": {"X": {"nested": 1}}}"#, "{}", &[]).unwrap_err();
    assert!(err.to_string().contains("Values.X"), "{err}");
    let err = resolve_with("{}", r#"{"functionTimeout": "five minutes"}"#, &[]).unwrap_err();
    assert!(err.to_string().contains("functionTimeout"), "{err}");
}

#[test]
fn bad_json_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LOCAL_SETTINGS_FILE);
    std::fs::write(&path, "{\n  \"Values\": {\n    \"A\": \"b\",\n  }\n}\n").unwrap();
    let err = LocalSettings::load(&path).unwrap_err();
    match &err {
        ConfigError::Json { path: p, line, .. } => {
            assert_eq!(p, &path);
            assert_eq!(*line, 4);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("local.settings.json"));
    assert!(err.to_string().contains("line 4"));
}

#[test]
fn missing_files_give_defaults() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        LocalSettings::load(&dir.path().join(LOCAL_SETTINGS_FILE)).unwrap(),
        LocalSettings::default()
    );
    assert_eq!(
        HostJson::load(&dir.path().join(HOST_JSON_FILE)).unwrap(),
        HostJson::default()
    );
}

#[test]
fn settings_override_host_json_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(HOST_JSON_FILE);
    std::fs::write(
        &path,
        r#"{"version": "2.0", "extensions": {"durableTask": {"maxConcurrentActivityFunctions": 4}}}"#,
    )
    .unwrap();
    let settings = [
        (
            "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions",
            "7",
        ),
        ("azurefunctionsjobhost__Extensions__HTTP__routePrefix", "v1"),
        (
            "AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount",
            "2",
        ),
        ("AzureFunctionsJobHost__", "ignored"),
        ("Unrelated__extensions__http__routePrefix", "ignored"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let host = HostJson::load_with(&path, settings).unwrap();
    assert_eq!(
        host.max_concurrent_activities,
        Some(7),
        "over the file's value"
    );
    assert_eq!(
        host.route_prefix.as_deref(),
        Some("v1"),
        "keys match in any case"
    );
    assert_eq!(
        host.storage_provider.partition_count,
        Some(2),
        "missing objects are made"
    );

    let bad = [(
        "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions",
        "many",
    )]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let err = HostJson::load_with(&path, bad).unwrap_err().to_string();
    assert!(err.contains("maxConcurrentActivityFunctions"), "{err}");
}

#[test]
fn timespans_parse_like_dotnet() {
    assert_eq!(parse_timespan("00:05:00"), Some(Duration::from_secs(300)));
    assert_eq!(parse_timespan("01:00"), Some(Duration::from_secs(3600)));
    assert_eq!(
        parse_timespan("1.02:03:04"),
        Some(Duration::from_secs(93_784))
    );
    assert_eq!(
        parse_timespan("00:00:01.5"),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(parse_timespan("5"), None);
    assert_eq!(parse_timespan("00:61:00"), None);
    assert_eq!(parse_timespan("a:b:c"), None);
    assert_eq!(parse_function_timeout("-1"), Some(None));
    assert_eq!(
        parse_seconds_or_timespan("2.5"),
        Some(Duration::from_millis(2500))
    );
    assert_eq!(
        parse_seconds_or_timespan("00:00:10"),
        Some(Duration::from_secs(10))
    );
}

#[test]
fn routes_prefix_and_connection_name_come_from_host_json() {
    let host = r#"{"extensions": {"http": {"routePrefix": "/fn/"},
        "durableTask": {"storageProvider": {"connectionStringName": "MyStorage"}}}}"#;
    let c = resolve_with(
        r#"{"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "MyStorage": ""}}"#,
        host,
        &[],
    )
    .unwrap();
    assert_eq!(c.route_prefix, "fn");
    assert!(matches!(c.storage, StorageConfig::Sqlite { .. }));
}

#[test]
fn storage_triggers_take_host_json_and_a_host_id() {
    let c = resolve_with(
        r#"{"Values": {"TaskHubName": "SampleHub"}}"#,
        r#"{"extensions": {"queues": {"maxDequeueCount": 2},
                           "blobs": {"maxPollingInterval": "00:00:02"}}}"#,
        &[],
    )
    .unwrap();
    let t = &c.storage_triggers;
    assert_eq!(t.host_id, "samplehub");
    assert_eq!(t.queues.max_dequeue_count, 2);
    assert_eq!(t.queues.batch_size, 16);
    assert_eq!(t.blobs.max_polling_interval, Duration::from_secs(2));

    let c = resolve_with("{}", "{}", &[(HOST_ID, " My-App ")]).unwrap();
    assert_eq!(c.storage_triggers.host_id, "my-app");
    let e = resolve_with("{}", r#"{"extensions": {"queues": {"batchSize": 0}}}"#, &[]);
    assert!(e.unwrap_err().to_string().contains("batchSize"));
}

#[test]
fn host_json_entity_settings_and_their_defaults() {
    let c = resolve_with("{}", "{}", &[]).unwrap();
    assert_eq!(c.entities, durable_engine::entity::EntityOptions::default());
    assert_eq!(c.entities.max_operation_batch_size, 5000);
    let host = r#"{"extensions": {"durableTask": {"maxEntityOperationBatchSize": 50,
        "entityMessageReorderWindowInMinutes": 5}}}"#;
    let c = resolve_with("{}", host, &[]).unwrap();
    assert_eq!(c.entities.max_operation_batch_size, 50);
    assert_eq!(c.entities.reorder_window, Duration::from_secs(300));
    let bad = r#"{"extensions": {"durableTask": {"maxEntityOperationBatchSize": 0}}}"#;
    assert!(resolve_with("{}", bad, &[]).is_err());
}

#[test]
fn body_timeout_and_connection_cap_are_read_and_checked() {
    let c = resolve_with("{}", "{}", &[]).unwrap();
    assert_eq!(c.request_body_timeout, DEFAULT_REQUEST_BODY_TIMEOUT);
    assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
    let c = resolve_with(
        r#"{"Values": {"DurableRequestBodyTimeout": "00:00:05", "DurableMaxConnections": "64"}}"#,
        "{}",
        &[],
    )
    .unwrap();
    assert_eq!(c.request_body_timeout, std::time::Duration::from_secs(5));
    assert_eq!(c.max_connections, 64);
    for (name, bad) in [
        ("DurableRequestBodyTimeout", "0"),
        ("DurableRequestBodyTimeout", "soon"),
        ("DurableMaxConnections", "0"),
        ("DurableMaxConnections", "-3"),
    ] {
        assert!(
            resolve_with("{}", "{}", &[(name, bad)]).is_err(),
            "{name}={bad}"
        );
    }
}

#[test]
fn overridable_existing_instance_states() {
    let c = resolve_with("{}", "{}", &[]).unwrap();
    assert_eq!(c.overridable_states, durable_client::IfExists::ReplaceEnded);
    let any =
        r#"{"extensions": {"durableTask": {"overridableExistingInstanceStates": "anystate"}}}"#;
    let c = resolve_with("{}", any, &[]).unwrap();
    assert_eq!(c.overridable_states, durable_client::IfExists::ReplaceAny);
    let bad = r#"{"extensions": {"durableTask": {"overridableExistingInstanceStates": "Some"}}}"#;
    let e = HostJson::from_json(
        Path::new(HOST_JSON_FILE),
        &serde_json::from_str(bad).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("NonRunningStates or AnyState"), "{e}");
}

#[test]
fn durable_http_settings_come_from_host_json_or_a_setting() {
    let host = r#"{"extensions": {"durableTask": {"httpSettings":
        {"defaultAsyncRequestSleepTimeMilliseconds": 1500}}}}"#;
    let c = resolve_with("{}", host, &[]).unwrap();
    assert_eq!(
        c.http.default_async_request_sleep,
        Duration::from_millis(1500)
    );
    let c = resolve_with("{}", "{}", &[]).unwrap();
    assert_eq!(
        c.http.default_async_request_sleep,
        durable_engine::durable_http::DEFAULT_ASYNC_REQUEST_SLEEP
    );
    let dir = tempfile::tempdir().unwrap();
    let name = "AzureFunctionsJobHost__extensions__durableTask__httpSettings__defaultAsyncRequestSleepTimeMilliseconds";
    let settings = [(name.to_string(), "250".to_string())];
    let host = HostJson::load_with(&dir.path().join(HOST_JSON_FILE), settings).unwrap();
    assert_eq!(
        host.http.default_async_request_sleep,
        Duration::from_millis(250)
    );
}
