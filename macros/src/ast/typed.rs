//! The model shared by orchestrators and activities: a function with a typed input and a
//! typed output, which becomes a unit struct implementing `Orchestration` or `Activity`.

use syn::{ItemFn, LitStr, Type};

use crate::names::RegisteredName;

/// Which trait the function implements.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TypedKind {
    /// `#[orchestration_trigger]` -> `durable::Orchestration`.
    Orchestration,
    /// `#[activity_trigger]` -> `durable::Activity`.
    Activity,
}

/// `max_concurrent` and `max_per_second` of `#[activity_trigger]`.
#[derive(Default)]
pub struct Limits {
    /// Runs at once.
    pub max_concurrent: Option<u32>,
    /// Runs started per second.
    pub max_per_second: Option<f64>,
}

/// A parsed `#[orchestration_trigger]` or `#[activity_trigger]` function.
pub struct TypedFn {
    /// Which trait.
    pub kind: TypedKind,
    /// The user's function, unchanged.
    pub func: ItemFn,
    /// The registered name.
    pub name: RegisteredName,
    /// The instance version an orchestrator is registered for (`version = "..."`).
    pub version: Option<LitStr>,
    /// An activity's limits on each host (`max_concurrent = 5, max_per_second = 100`).
    pub limits: Limits,
    /// Whether the function takes the context parameter (always, for orchestrators).
    pub takes_context: bool,
    /// The context parameter's type as written, checked to be the context by a trait bound.
    pub context_type: Option<Type>,
    /// An activity's only parameter, bound by its type (`ActivityParam`): the context, or
    /// else the input.
    pub bound: Option<Type>,
    /// The input type; `None` when the function takes no input (the input is then `()`).
    pub input: Option<Type>,
    /// The `T` of the returned `Result<T, E>`.
    pub output: Type,
}
