//! `EntityContext`: what an entity function sees while it runs one operation.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::id::EntityId;
use crate::failure::{serde_failure, Failure};

/// A type-erased entity function: runs one operation against the context.
pub type EntityFn = Arc<dyn Fn(&mut EntityContext) -> Result<(), Failure> + Send + Sync>;

/// Erases a closure entity `|ctx| { ... }`.
pub fn entity_fn<F>(f: F) -> EntityFn
where
    F: Fn(&mut EntityContext) -> Result<(), Failure> + Send + Sync + 'static,
{
    Arc::new(f)
}

/// A signal an operation sends to another entity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutgoingSignal {
    pub target: EntityId,
    pub operation: String,
    pub input: Option<String>,
}

/// One operation's view of its entity: the operation name and input, the state, the result.
///
/// State changes take effect only if the operation returns `Ok`; a failed operation leaves
/// the state as it was and sends no signals.
#[derive(Debug)]
pub struct EntityContext {
    id: EntityId,
    operation: String,
    input: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) result: Option<String>,
    pub(crate) signals: Vec<OutgoingSignal>,
}

impl EntityContext {
    /// A context for one operation on `id` with the current state.
    pub fn new(
        id: EntityId,
        operation: &str,
        input: Option<String>,
        state: Option<String>,
    ) -> Self {
        Self {
            id,
            operation: operation.to_string(),
            input,
            state,
            result: None,
            signals: Vec::new(),
        }
    }

    /// The entity's id.
    pub fn entity_id(&self) -> &EntityId {
        &self.id
    }

    /// The entity's key.
    pub fn key(&self) -> &str {
        &self.id.key
    }

    /// The operation name, as the caller sent it.
    pub fn operation_name(&self) -> &str {
        &self.operation
    }

    /// True if the operation came with an input.
    pub fn has_input(&self) -> bool {
        self.input.is_some()
    }

    /// The operation's input (`null` when there is none), read leniently
    /// ([`from_json`](crate::function::from_json)).
    pub fn get_input<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        let what = format!("input of entity operation {:?}", self.operation);
        crate::function::from_json(self.input.as_deref().unwrap_or("null"))
            .map_err(|e| serde_failure(&what, e))
    }

    /// The operation's input as JSON text, if any.
    pub fn raw_input(&self) -> Option<&str> {
        self.input.as_deref()
    }

    /// True if the entity has state.
    pub fn has_state(&self) -> bool {
        self.state.is_some()
    }

    /// The state, or `init()` if the entity has none yet.
    pub fn get_state<T: DeserializeOwned>(&self, init: impl FnOnce() -> T) -> Result<T, Failure> {
        match &self.state {
            None => Ok(init()),
            Some(json) => serde_json::from_str(json)
                .map_err(|e| serde_failure(&format!("state of entity {}", self.id), e)),
        }
    }

    /// Replaces the state.
    pub fn set_state<T: Serialize + ?Sized>(&mut self, state: &T) -> Result<(), Failure> {
        let json = serde_json::to_string(state)
            .map_err(|e| serde_failure(&format!("state of entity {}", self.id), e))?;
        self.state = Some(json);
        Ok(())
    }

    /// Deletes the state: the entity stops existing once nothing else refers to it.
    pub fn delete_state(&mut self) {
        self.state = None;
    }

    /// The value returned to a caller (`call_entity`); ignored for signals.
    pub fn set_result<T: Serialize + ?Sized>(&mut self, result: &T) -> Result<(), Failure> {
        let json = serde_json::to_string(result)
            .map_err(|e| serde_failure("result of entity operation", e))?;
        self.result = Some(json);
        Ok(())
    }

    /// Signals an operation on another (or the same) entity, sent when this operation succeeds.
    pub fn signal_entity<T: Serialize + ?Sized>(
        &mut self,
        target: &EntityId,
        operation: &str,
        input: &T,
    ) -> Result<(), Failure> {
        target
            .validate()
            .map_err(|e| Failure::new("InvalidEntityId", e.to_string()))?;
        let json = serde_json::to_string(input)
            .map_err(|e| serde_failure("input of an entity signal", e))?;
        self.signals.push(OutgoingSignal {
            target: target.clone(),
            operation: operation.to_string(),
            input: Some(json),
        });
        Ok(())
    }
}
