//! Support for the end-to-end tests: workloads shared between test processes and the tests
//! that drive them.

pub mod app_host;
pub mod browser;
pub mod containers;
pub mod crash;
pub mod faults;
pub mod python;
pub mod sample_app;
