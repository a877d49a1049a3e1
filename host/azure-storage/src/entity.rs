//! Table entities: typed property values and their OData JSON form.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::transport::{AzureError, AzureResult};

/// A typed table property value (the EDM types the task hub uses).
#[derive(Debug, Clone, PartialEq)]
pub enum EdmValue {
    /// `Edm.String`.
    String(String),
    /// `Edm.Int32`.
    Int32(i32),
    /// `Edm.Int64`.
    Int64(i64),
    /// `Edm.Double`.
    Double(f64),
    /// `Edm.Boolean`.
    Bool(bool),
    /// `Edm.DateTime`, 100 ns precise.
    DateTime(DateTime<Utc>),
    /// `Edm.Guid`, as text.
    Guid(String),
}

impl EdmValue {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            EdmValue::String(s) | EdmValue::Guid(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an Int32 or Int64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            EdmValue::Int32(v) => Some(i64::from(*v)),
            EdmValue::Int64(v) => Some(*v),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            EdmValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The time, if this is a DateTime.
    pub fn as_datetime(&self) -> Option<DateTime<Utc>> {
        match self {
            EdmValue::DateTime(t) => Some(*t),
            _ => None,
        }
    }
}

/// One table entity: its keys, its ETag when read, and its properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entity {
    /// `PartitionKey`.
    pub partition_key: String,
    /// `RowKey`.
    pub row_key: String,
    /// The ETag as read (`None` for entities built locally).
    pub etag: Option<String>,
    /// The properties other than the keys and `Timestamp`.
    pub properties: BTreeMap<String, EdmValue>,
}

impl Entity {
    /// An entity with the given keys and no properties.
    pub fn new(partition_key: impl Into<String>, row_key: impl Into<String>) -> Self {
        Entity {
            partition_key: partition_key.into(),
            row_key: row_key.into(),
            ..Entity::default()
        }
    }

    /// Sets a property (builder style).
    pub fn with(mut self, name: &str, value: EdmValue) -> Self {
        self.properties.insert(name.to_owned(), value);
        self
    }

    /// A property.
    pub fn get(&self, name: &str) -> Option<&EdmValue> {
        self.properties.get(name)
    }

    /// A string property (missing, null and non-string read as `None`).
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(EdmValue::as_str)
    }

    /// The OData JSON body for a write.
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("PartitionKey".into(), self.partition_key.clone().into());
        map.insert("RowKey".into(), self.row_key.clone().into());
        for (name, value) in &self.properties {
            let (json, edm) = match value {
                EdmValue::String(s) => (Value::from(s.as_str()), None),
                EdmValue::Int32(v) => (Value::from(*v), None),
                EdmValue::Int64(v) => (Value::from(v.to_string()), Some("Edm.Int64")),
                EdmValue::Double(v) => (Value::from(*v), Some("Edm.Double")),
                EdmValue::Bool(b) => (Value::from(*b), None),
                EdmValue::DateTime(t) => (Value::from(edm_date_time(t)), Some("Edm.DateTime")),
                EdmValue::Guid(g) => (Value::from(g.as_str()), Some("Edm.Guid")),
            };
            if let Some(edm) = edm {
                map.insert(format!("{name}@odata.type"), edm.into());
            }
            map.insert(name.clone(), json);
        }
        Value::Object(map)
    }

    /// Reads an entity from its OData JSON (minimal metadata) form.
    pub(crate) fn from_json(value: &Value) -> AzureResult<Entity> {
        let map = value
            .as_object()
            .ok_or_else(|| AzureError::Protocol("entity is not a JSON object".into()))?;
        let key = |name: &str| {
            map.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| AzureError::Protocol(format!("entity without {name}")))
        };
        let mut entity = Entity::new(key("PartitionKey")?, key("RowKey")?);
        entity.etag = map
            .get("odata.etag")
            .and_then(Value::as_str)
            .map(str::to_owned);
        for (name, json) in map {
            if name.contains('@')
                || name.starts_with("odata.")
                || matches!(name.as_str(), "PartitionKey" | "RowKey" | "Timestamp")
            {
                continue;
            }
            let edm = map
                .get(&format!("{name}@odata.type"))
                .and_then(Value::as_str);
            if let Some(v) = read_value(name, json, edm)? {
                entity.properties.insert(name.clone(), v);
            }
        }
        Ok(entity)
    }
}

fn read_value(name: &str, json: &Value, edm: Option<&str>) -> AzureResult<Option<EdmValue>> {
    let bad = || AzureError::Protocol(format!("property {name} has an unreadable value {json}"));
    Ok(Some(match (edm, json) {
        (_, Value::Null) => return Ok(None),
        (Some("Edm.Int64"), Value::String(s)) => EdmValue::Int64(s.parse().map_err(|_| bad())?),
        (Some("Edm.DateTime"), Value::String(s)) => EdmValue::DateTime(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
        ),
        (Some("Edm.Guid"), Value::String(s)) => EdmValue::Guid(s.clone()),
        (Some("Edm.Double"), Value::String(s)) => EdmValue::Double(s.parse().map_err(|_| bad())?),
        (Some("Edm.Double"), Value::Number(n)) => EdmValue::Double(n.as_f64().ok_or_else(bad)?),
        (Some("Edm.Binary"), Value::String(s)) => EdmValue::String(s.clone()),
        (_, Value::String(s)) => EdmValue::String(s.clone()),
        (_, Value::Bool(b)) => EdmValue::Bool(*b),
        (_, Value::Number(n)) => match n.as_i64().and_then(|v| i32::try_from(v).ok()) {
            Some(v) => EdmValue::Int32(v),
            None => EdmValue::Double(n.as_f64().ok_or_else(bad)?),
        },
        _ => return Err(bad()),
    }))
}

/// An `Edm.DateTime` as the Table service writes it: UTC with seven fractional digits (100 ns
/// ticks), as in .NET's round-trip format.
pub fn edm_date_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    let nanos = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    format!("{}Z", &nanos[..nanos.len() - 3]) // nine digits and "Z" less "xxZ"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_types() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T10:00:00.1234567Z")
            .unwrap()
            .with_timezone(&Utc);
        let entity = Entity::new("p", "r")
            .with("S", EdmValue::String("x".into()))
            .with("I", EdmValue::Int32(-3))
            .with("L", EdmValue::Int64(1 << 40))
            .with("D", EdmValue::Double(1.5))
            .with("B", EdmValue::Bool(true))
            .with("T", EdmValue::DateTime(t))
            .with(
                "G",
                EdmValue::Guid("00000000-0000-0000-0000-000000000001".into()),
            );
        let json = entity.to_json();
        assert_eq!(json["T"], "2026-11-21T10:00:00.1234567Z");
        assert_eq!(Entity::from_json(&json).unwrap(), entity);
    }
}
