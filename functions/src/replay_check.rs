//! The replay check of the sample app: the recorded history of every sample orchestration
//! (`functions/histories/`, made by `functions/histories/record.sh`) must replay against the
//! code of this build. This is the test a team keeps in its own app, fed with histories
//! exported from production (`<app> export-history --output histories/`), and runs in CI
//! before every deploy: a change to an orchestrator that would break the instances in flight
//! fails it, naming the event and the call that no longer match.

use durable::app::FunctionApp;

#[test]
fn every_sample_orchestration_replays_its_recorded_history() {
    let replayed = durable::testing::assert_histories_replay(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/histories"
    ));
    let app = FunctionApp::collect().expect("the sample app's functions");
    let orchestrations = app.names_by_trigger()["orchestrationTrigger"].clone();
    for name in orchestrations {
        assert!(
            replayed.iter().any(|r| r.name == name),
            "no recorded history of the orchestration {name:?}: run functions/histories/record.sh"
        );
    }
}
