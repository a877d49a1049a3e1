//! Durable entities end to end, over HTTP against the sample app on the embedded store: the
//! counter in both styles through the entity endpoints and through an orchestration, the
//! endpoints' shapes and errors, and the bank: 100 concurrent transfers among 10 accounts.

#[path = "entities_support/mod.rs"]
mod scenarios;

use serde_json::json;
use tests::app_host::{AppDir, TestHost};
use tests::sample_app::{functions_binary, SampleApp};

#[test]
fn the_counter_in_both_styles_over_the_entity_endpoints() {
    scenarios::counter_over_the_endpoints(&SampleApp::start(json!({})));
}

#[test]
fn the_counter_in_both_styles_through_an_orchestration() {
    scenarios::counter_through_an_orchestration(&SampleApp::start(json!({})));
}

#[test]
fn entity_endpoints_shapes_and_bad_input() {
    scenarios::endpoint_shapes_and_bad_input(&SampleApp::start(json!({})));
}

#[test]
fn one_hundred_concurrent_transfers_conserve_the_total_and_apply_once() {
    scenarios::concurrent_transfers(&SampleApp::start(json!({})));
}

#[test]
fn terminated_and_purged_lock_holders_leave_no_locked_entities() {
    scenarios::locks_of_finished_holders(&SampleApp::start(json!({})));
}

#[test]
fn capped_entity_batches_continue_in_order() {
    let dir = AppDir::new(
        functions_binary(),
        json!({"TaskHubName": "SampleHub"}),
        Some(scenarios::capped_host_json()),
    );
    let host = TestHost::start(&dir, &[]);
    scenarios::capped_batches_run_in_order(&SampleApp { host, dir });
}
