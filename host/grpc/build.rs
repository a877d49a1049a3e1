//! Generates the protocol's messages, the server trait and a client from
//! `proto/durable_task.proto`, with no `protoc` binary: `protox` (a protobuf compiler written in
//! Rust) parses the file into descriptors and tonic's generator writes the Rust code.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/durable_task.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        // The client is for tests (a worker or client in Rust); it is generic over the
        // transport, so it needs no connection code here.
        .build_client(true)
        .build_transport(false)
        // Methods this host does not implement answer UNIMPLEMENTED.
        .generate_default_stubs(true)
        .skip_protoc_run()
        .compile_fds(descriptors)?;
    Ok(())
}
