//! The deploy recipes in `deploy/` agree with the schemas of their platforms and with the image
//! and the host: the Kubernetes manifests pass strict schema validation (`kubernetes-validate`,
//! pinned in tests/python/requirements.txt); their probes name the host's health endpoints;
//! the grace periods of Kubernetes and compose exceed the drain delay plus the shutdown
//! deadline they set; ports, user and secret names match the `Dockerfile` and each other.
//! The image itself is exercised by `containers.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every YAML document in `file`, as JSON (read by PyYAML).
fn yaml_documents(python: &Path, file: &Path) -> Vec<Value> {
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(file)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// `value` as seconds: a number, or a number followed by `s` (compose's durations).
fn seconds(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s
            .trim_end_matches('s')
            .parse()
            .unwrap_or_else(|_| panic!("{s}")),
        other => panic!("not a duration: {other}"),
    }
}

/// Checks Kubernetes manifests against the schemas, unknown fields included
/// (`kubernetes-validate --strict`, installed beside `python`).
fn validate_strictly(python: &Path, files: &[PathBuf]) {
    let validator = python.with_file_name("kubernetes-validate");
    let out = Command::new(&validator)
        .args(["--strict", "--no-warn"])
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", validator.display()));
    assert!(
        out.status.success(),
        "strict schema validation failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the environment variable `name` in a Kubernetes container's `env` list.
fn env_of(container: &Value, name: &str) -> Value {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not set"))["value"]
        .clone()
}

#[test]
fn kubernetes_manifests_are_valid_and_agree_with_the_host() {
    let python = tests::python::set_up();
    let dir = workspace().join("deploy/kubernetes");
    let files = ["secret.yaml", "deployment.yaml", "service.yaml"].map(|f| dir.join(f));
    validate_strictly(&python, &files);
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    for file in ["secret.yaml", "deployment.yaml", "service.yaml"] {
        assert!(kustomization.contains(file), "kustomization lists {file}");
    }

    let [secret, deployment, service] = files.map(|f| yaml_documents(&python, &f).remove(0));
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"],
        "/admin/host/ping"
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"],
        "/admin/host/ready"
    );
    assert_eq!(container["ports"][0]["containerPort"], 7071);
    assert_eq!(pod["securityContext"]["runAsUser"], 10001);
    let drain = seconds(&env_of(container, "DurableDrainDelay"));
    let deadline = seconds(&env_of(container, "DurableShutdownDeadline"));
    let grace = seconds(&pod["terminationGracePeriodSeconds"]);
    assert!(
        grace > drain + deadline,
        "grace period {grace} s must exceed drain {drain} s + deadline {deadline} s"
    );
    // The secret holds the storage connection and all three keys, under the names the host
    // reads, and the pod takes it whole.
    for key in [
        "AzureWebJobsStorage",
        "DurableMasterKey",
        "DurableFunctionKey",
        "DurableSystemKey",
    ] {
        assert!(
            secret["stringData"][key].is_string(),
            "the secret has {key}"
        );
    }
    assert_eq!(
        container["envFrom"][0]["secretRef"]["name"],
        secret["metadata"]["name"]
    );
    // The service selects the pods and targets the named port.
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&labels[k], v, "service selector {k}");
    }
    assert_eq!(
        service["spec"]["ports"][0]["targetPort"],
        container["ports"][0]["name"]
    );
}

#[test]
fn keda_scaled_object_reads_the_scale_endpoint_with_the_master_key() {
    let python = tests::python::set_up();
    let dir = workspace().join("deploy/kubernetes");
    let docs = yaml_documents(&python, &dir.join("keda-scaledobject.yaml"));
    let scaled = docs.iter().find(|d| d["kind"] == "ScaledObject").unwrap();
    let auth = docs
        .iter()
        .find(|d| d["kind"] == "TriggerAuthentication")
        .unwrap();
    let deployment = yaml_documents(&python, &dir.join("deployment.yaml")).remove(0);
    let service = yaml_documents(&python, &dir.join("service.yaml")).remove(0);
    let secret = yaml_documents(&python, &dir.join("secret.yaml")).remove(0);
    assert_eq!(
        scaled["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    let trigger = &scaled["spec"]["triggers"][0];
    assert_eq!(trigger["type"], "metrics-api");
    let meta = &trigger["metadata"];
    let url = meta["url"].as_str().unwrap();
    let service_host = format!("http://{}.", service["metadata"]["name"].as_str().unwrap());
    assert!(url.starts_with(&service_host), "{url}");
    assert!(url.ends_with(durable::host::scale::SCALE_PATH), "{url}");
    // The field the JSON answer carries, and one replica per recommended worker.
    assert_eq!(meta["valueLocation"], "recommendedWorkers");
    assert_eq!(meta["targetValue"], "1");
    assert_eq!(meta["authMode"], "apiKey");
    assert_eq!(meta["keyParamName"], "x-functions-key");
    assert_eq!(
        trigger["authenticationRef"]["name"],
        auth["metadata"]["name"]
    );
    let source = &auth["spec"]["secretTargetRef"][0];
    assert_eq!(source["parameter"], "apiKey");
    assert_eq!(source["name"], secret["metadata"]["name"]);
    assert_eq!(source["key"], "DurableMasterKey");
    assert!(scaled["spec"]["minReplicaCount"].as_u64() >= Some(1));
}

#[test]
fn compose_file_agrees_with_the_image_and_the_host() {
    let python = tests::python::set_up();
    let compose = yaml_documents(&python, &workspace().join("deploy/compose.yaml")).remove(0);
    let app = &compose["services"]["functions"];
    // Two replicas, as two services with the same settings on host ports 7071 and 7072.
    for (service, port) in [("functions", 7071), ("functions-2", 7072)] {
        let replica = &compose["services"][service];
        assert_eq!(
            replica["build"]["args"]["FEATURES"], "azure",
            "replicas need the azure feature"
        );
        assert_eq!(
            replica["ports"][0],
            format!("127.0.0.1:{port}:7071"),
            "{service}"
        );
        assert_eq!(replica["environment"], app["environment"], "{service}");
        assert_eq!(replica["image"], app["image"], "{service}");
    }
    let env = &app["environment"];
    let drain = seconds(&env["DurableDrainDelay"]);
    let deadline = seconds(&env["DurableShutdownDeadline"]);
    let grace = seconds(&app["stop_grace_period"]);
    assert!(grace > drain + deadline, "stop_grace_period {grace} s");
    for key in ["DurableMasterKey", "DurableFunctionKey", "DurableSystemKey"] {
        assert!(
            env[key].as_str().unwrap().contains(":?"),
            "{key} must come from deploy/.env, never a default"
        );
    }
    let storage = env["AzureWebJobsStorage"].as_str().unwrap();
    for port in [10000, 10001, 10002] {
        assert!(
            storage.contains(&format!("http://azurite:{port}/")),
            "{storage}"
        );
    }
    let example = std::fs::read_to_string(workspace().join("deploy/example.env")).unwrap();
    for name in [
        "DURABLE_MASTER_KEY",
        "DURABLE_FUNCTION_KEY",
        "DURABLE_SYSTEM_KEY",
    ] {
        assert!(
            example.contains(&format!("{name}=")),
            "example.env has {name}"
        );
    }

    let dockerfile = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap();
    for line in [
        "EXPOSE 7071",
        "USER 10001:10001",
        "FUNCTIONS_HTTP_PORT=7071",
    ] {
        assert!(dockerfile.contains(line), "the Dockerfile has {line:?}");
    }
}

#[test]
fn the_workload_identity_overlay_is_valid_and_the_host_reads_it_as_workload_identity() {
    let python = tests::python::set_up();
    let dir = workspace().join("deploy/kubernetes/workload-identity");
    validate_strictly(&python, &[dir.join("service-account.yaml")]);
    let kustomization = yaml_documents(&python, &dir.join("kustomization.yaml")).remove(0);
    assert_eq!(kustomization["resources"][0], "../");
    assert_eq!(kustomization["resources"][1], "service-account.yaml");
    assert_eq!(kustomization["patches"][0]["path"], "deployment-patch.yaml");

    let account = yaml_documents(&python, &dir.join("service-account.yaml")).remove(0);
    let patch = yaml_documents(&python, &dir.join("deployment-patch.yaml")).remove(0);
    let base = yaml_documents(
        &python,
        &workspace().join("deploy/kubernetes/deployment.yaml"),
    );
    let base = &base[0];
    // The patch names the base's deployment and container, and the pods run as the
    // annotated service account with the label the webhook looks for.
    assert_eq!(patch["metadata"]["name"], base["metadata"]["name"]);
    let pod = &patch["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    assert_eq!(
        pod["spec"]["serviceAccountName"],
        account["metadata"]["name"]
    );
    assert!(account["metadata"]["annotations"]["azure.workload.identity/client-id"].is_string());
    let container = &pod["spec"]["containers"][0];
    assert_eq!(
        container["name"],
        base["spec"]["template"]["spec"]["containers"][0]["name"]
    );

    // The host reads these settings as a workload identity connection: started without the
    // webhook's variables, it stops saying so.
    let env: Vec<(String, String)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let value = e["value"].as_str().unwrap().replace("REPLACE", "mystorage");
            (e["name"].as_str().unwrap().to_owned(), value)
        })
        .collect();
    assert!(env.contains(&("AzureWebJobsStorage".into(), String::new())));
    let app = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_empty-app"))
        .args(["--port", "0"])
        .current_dir(app.path())
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .envs(env)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("AzureWebJobsStorage__credential: workload identity: no tenant ID"),
        "{text}"
    );
}
