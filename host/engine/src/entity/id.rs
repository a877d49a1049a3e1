//! Entity identity: a lower-cased name and a case-preserving key; the instance id of an
//! entity is its scheduler id `@{name}@{key}`.

use serde::{Deserialize, Serialize};

/// Why a name or key cannot identify an entity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntityIdError {
    /// The name is empty.
    #[error("an entity name cannot be empty")]
    EmptyName,
    /// The name or key contains a character entity ids may not contain.
    #[error(
        "an entity {what} cannot contain '@', '/', '\\', '#', '?' or control characters: {value:?}"
    )]
    BadCharacter {
        /// `name` or `key`.
        what: &'static str,
        /// The offending text.
        value: String,
    },
    /// The instance id is not a scheduler id (`@name@key`).
    #[error("{0:?} is not an entity instance id (expected @name@key)")]
    NotAnEntity(String),
}

/// Identifies one entity: `name` (lower-cased) and `key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityId {
    /// The entity (function) name, lower-cased.
    pub name: String,
    /// The key within that entity; may be empty.
    pub key: String,
}

impl EntityId {
    /// An entity id; the name is lower-cased. Fails on an empty name or a forbidden character.
    pub fn new(name: &str, key: &str) -> Result<Self, EntityIdError> {
        if name.is_empty() {
            return Err(EntityIdError::EmptyName);
        }
        check("name", name, true)?;
        check("key", key, false)?;
        Ok(Self {
            name: name.to_lowercase(),
            key: key.to_string(),
        })
    }

    /// Checks that the name and key can identify an entity (what [`EntityId::new`] checks).
    /// Ids built field by field (as a typed entity's `entity_id(key)` does) are checked where
    /// they are used: a call, signal or lock on an invalid id fails with this error.
    pub fn validate(&self) -> Result<(), EntityIdError> {
        if self.name.is_empty() {
            return Err(EntityIdError::EmptyName);
        }
        check("name", &self.name, true)?;
        check("key", &self.key, false)
    }

    /// Parses a scheduler id `@name@key`.
    pub fn from_scheduler_id(instance_id: &str) -> Result<Self, EntityIdError> {
        let rest = instance_id
            .strip_prefix('@')
            .ok_or_else(|| EntityIdError::NotAnEntity(instance_id.to_string()))?;
        let (name, key) = rest
            .split_once('@')
            .ok_or_else(|| EntityIdError::NotAnEntity(instance_id.to_string()))?;
        Ok(Self {
            name: name.to_lowercase(),
            key: key.to_string(),
        })
    }

    /// The instance id of this entity: `@name@key`.
    pub fn scheduler_id(&self) -> String {
        format!("@{}@{}", self.name, self.key)
    }
}

impl std::fmt::Display for EntityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.scheduler_id())
    }
}

/// True for the instance ids of entities (they start with `@`).
pub fn is_entity_instance(instance_id: &str) -> bool {
    instance_id.starts_with('@')
}

fn check(what: &'static str, value: &str, no_at: bool) -> Result<(), EntityIdError> {
    let bad = value
        .chars()
        .any(|c| matches!(c, '/' | '\\' | '#' | '?') || c.is_control() || (no_at && c == '@'));
    if bad {
        return Err(EntityIdError::BadCharacter {
            what,
            value: value.to_string(),
        });
    }
    Ok(())
}
