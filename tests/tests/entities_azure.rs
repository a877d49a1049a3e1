//! Durable entities end to end on the Azure Storage task hub: the sample app (built with
//! `azure`) on Azurite, started by `durable`'s harness (the test fails, never skips, when
//! Azurite cannot run). The same scenarios as `entities.rs`, each on a hub of its own.

#[path = "entities_support/mod.rs"]
mod scenarios;

use serde_json::json;
use tests::app_host::{AppDir, TestHost};
use tests::sample_app::{functions_azure_binary, SampleApp};

fn hub(name: &str) -> String {
    format!("{name}{}", rand::random::<u32>())
}

#[test]
fn the_counter_in_both_styles_on_azure_storage() {
    let app = SampleApp::start_on_azurite(&hub("EntityCounter"));
    scenarios::counter_over_the_endpoints(&app);
    scenarios::counter_through_an_orchestration(&app);
}

#[test]
fn entity_endpoints_on_azure_storage() {
    scenarios::endpoint_shapes_and_bad_input(&SampleApp::start_on_azurite(&hub("EntityApi")));
}

#[test]
fn one_hundred_concurrent_transfers_on_azure_storage() {
    scenarios::concurrent_transfers(&SampleApp::start_on_azurite(&hub("EntityBank")));
}

#[test]
fn terminated_and_purged_lock_holders_on_azure_storage() {
    scenarios::locks_of_finished_holders(&SampleApp::start_on_azurite(&hub("EntityLocks")));
}

#[test]
fn capped_entity_batches_on_azure_storage() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let values = json!({
        "AzureWebJobsStorage": azurite.connection_string(),
        "TaskHubName": hub("EntityCap"),
    });
    let dir = AppDir::new(
        functions_azure_binary(),
        values,
        Some(scenarios::capped_host_json()),
    );
    let host = TestHost::start(&dir, &[]);
    scenarios::capped_batches_run_in_order(&SampleApp { host, dir });
}
