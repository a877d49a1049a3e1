//! The sample app's sync-over-async pattern with the reply as an S3 object, against moto:
//! the sample app (built with `s3`) answers `GET /api/weather` with the content of the
//! object `weather-results/{requestId}.txt` that an outside system (here the test, with a
//! plain S3 client) writes while the request waits; its task hub is the embedded one.

use std::time::{Duration, Instant};

use durable_testing::moto::Moto;
use serde_json::json;
use tests::app_host::{get, AppDir, TestHost};
use tests::s3::Outside;
use tests::sample_app::functions_s3_binary;

#[test]
fn the_weather_reply_arrives_as_an_s3_object() {
    let moto = Moto::start().unwrap_or_else(|e| panic!("moto is required: {e}"));
    let outside = Outside::of(&moto);
    outside.create_bucket("weather-results");
    let dir = AppDir::new(
        functions_s3_binary(),
        json!({ "WeatherResultsS3": moto.connection(None), "TaskHubName": "WeatherS3Hub" }),
        Some(json!({
            "version": "2.0",
            "extensions": { "blobs": { "maxPollingInterval": "00:00:00.5" } }
        })),
    );
    let host = TestHost::start(&dir, &[]);
    assert!(
        host.banner.contains("weather_result_s3: blobTrigger"),
        "{}",
        host.banner
    );
    let port = host.port;
    let request = std::thread::spawn(move || {
        get(port, "/api/weather?requestId=req-s3-1&city=Oslo&timeout=45")
    });
    // The outside system replies once it has the request: the orchestration is running.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = host.get("/runtime/webhooks/durabletask/instances/req-s3-1");
        if r.status == 202 && r.json()["runtimeStatus"] == "Running" {
            break;
        }
        assert!(Instant::now() < deadline, "not running:\n{}", host.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    outside.put("weather-results", "req-s3-1.txt", b"Oslo: rain, 9 C");
    let response = request.join().expect("the GET thread");
    assert_eq!(response.status, 200, "{response:?}\n{}", host.log());
    assert_eq!(response.json(), json!("Oslo: rain, 9 C"));
    host.stop();
}
