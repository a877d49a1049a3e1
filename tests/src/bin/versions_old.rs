//! The old binary of the rolling-deploy test (`tests/tests/versioning.rs`): `order` version 1
//! and its activity, nothing else.

#[path = "versions/order_v1.rs"]
mod order_v1;

fn main() -> std::process::ExitCode {
    durable::host::main()
}
