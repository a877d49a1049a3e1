//! Parsing: attribute arguments and function signatures into checked models, with errors
//! that point at the user's code.

pub mod activity;
pub mod bindings;
pub mod blob;
pub mod entity;
pub mod http;
pub mod openapi;
pub mod orchestration;
pub mod params;
pub mod queue;
pub mod signature;
pub mod storage;
pub mod timer;
pub mod typed;
