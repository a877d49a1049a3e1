//! The sample function app: one module per Durable Functions pattern. `cargo run -p functions`
//! starts the host on port 7071 with the embedded task hub under `./.durable/`.

mod async_http_api;
mod chaining;
mod entities;
mod fan_out_fan_in;
mod human_interaction;
mod maintenance;
mod monitor;
#[cfg(test)]
mod replay_check;
mod starter;
mod sync_over_async;

fn main() -> std::process::ExitCode {
    durable::host::main()
}
