//! A trigger function that panics fails its run, with the panic's text, like any failure.

use std::any::Any;

use durable_engine::failure::Failure;

/// The failure of a run whose function panicked with `panic`.
pub fn panic_failure(panic: Box<dyn Any + Send>) -> Failure {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    Failure::new("Panic", format!("the function panicked: {text}"))
}
