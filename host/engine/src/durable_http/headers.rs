//! HTTP headers of durable requests and responses: a list of (name, value) pairs in the order
//! given, written in JSON as Durable Functions writes them, an object whose members are the
//! header names, each with one string or, for a header given several times, an array of them.
//! Names compare case-insensitively.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serializer};

/// The first value of header `name` (case-insensitive).
pub(crate) fn first<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of header `name` (case-insensitive), in order.
pub(crate) fn all<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Writes the headers as an object, one member per name (in the order names first appear).
pub(crate) fn serialize<S: Serializer>(
    headers: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in headers {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name);
        }
    }
    let mut map = s.serialize_map(Some(names.len()))?;
    for name in names {
        let values: Vec<&str> = all(headers, name).collect();
        match values.as_slice() {
            [one] => map.serialize_entry(name, one)?,
            many => map.serialize_entry(name, many)?,
        }
    }
    map.end()
}

/// Reads an object of names with a string or an array of strings each (`null` reads as no
/// headers, a `null` member as no value).
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, String)>, D::Error> {
    d.deserialize_option(OptionalHeaders)
}

struct OptionalHeaders;

impl<'de> Visitor<'de> for OptionalHeaders {
    type Value = Vec<(String, String)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of header names with a string or an array of strings each")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut headers = Vec::new();
        while let Some((name, values)) = map.next_entry::<String, Values>()? {
            match values {
                Values::One(v) => headers.push((name, v)),
                Values::Many(vs) => headers.extend(vs.into_iter().map(|v| (name.clone(), v))),
                Values::None => {}
            }
        }
        Ok(headers)
    }
}

/// The value of one member.
#[derive(Deserialize)]
#[serde(untagged)]
enum Values {
    One(String),
    Many(Vec<String>),
    None,
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(default, with = "super")]
        headers: Vec<(String, String)>,
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn one_value_is_a_string_and_several_an_array() {
        let h = Holder {
            headers: pairs(&[("Accept", "a"), ("X-Many", "1"), ("x-many", "2")]),
        };
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v, json!({"headers": {"Accept": "a", "X-Many": ["1", "2"]}}));
        let back: Holder = serde_json::from_value(v).unwrap();
        assert_eq!(
            back.headers,
            pairs(&[("Accept", "a"), ("X-Many", "1"), ("X-Many", "2")])
        );
    }

    #[test]
    fn null_and_absent_read_as_none() {
        for v in [
            json!({}),
            json!({"headers": null}),
            json!({"headers": {"a": null}}),
        ] {
            let h: Holder = serde_json::from_value(v).unwrap();
            assert!(h.headers.is_empty());
        }
        assert!(serde_json::from_value::<Holder>(json!({"headers": {"a": 1}})).is_err());
        assert!(serde_json::from_value::<Holder>(json!({"headers": ["a"]})).is_err());
    }
}
