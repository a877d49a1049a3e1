//! Generation: checked models into the items the host collects.

pub mod attrs;
pub mod bindings;
pub mod checks;
pub mod client_marker;
pub mod entity;
pub mod http;
pub mod openapi;
pub mod registration;
pub mod storage;
pub mod timer;
pub mod typed;
