//! The protocol's messages, the server trait and a client, generated from
//! `proto/durable_task.proto` at build time.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/_.rs"));
