//! Blob trigger paths: `container/pattern`, where the pattern's `{param}`s bind parts of a
//! blob's name (`weather-results/{requestId}.txt` binds `requestId`).

use std::collections::HashMap;

/// A parsed `container/pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPath {
    container: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param(String),
}

/// Why a path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid blob path {path:?}: {reason}")]
pub struct BadBlobPath {
    /// The path as written.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl BlobPath {
    /// Parses `container/pattern`. The container is literal (3–63 lower-case letters,
    /// digits and dashes); parameters are `{name}` and must be separated by literal text.
    pub fn parse(path: &str) -> Result<Self, BadBlobPath> {
        let bad = |reason: &str| BadBlobPath {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        let (container, pattern) = path
            .split_once('/')
            .ok_or_else(|| bad("expected `container/pattern`"))?;
        let container_ok = crate::triggers::storage::valid_storage_name(container);
        if !container_ok {
            return Err(bad(
                "the container must be 3-63 lower-case letters, digits and single dashes",
            ));
        }
        if pattern.is_empty() {
            return Err(bad("the blob name pattern is empty"));
        }
        let mut parts = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('{') {
                let end = inner.find('}').ok_or_else(|| bad("a `{` has no `}`"))?;
                let name = &inner[..end];
                let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return Err(bad("a parameter name is not letters, digits, `_` and `-`"));
                }
                if matches!(parts.last(), Some(Part::Param(_))) {
                    return Err(bad("two parameters need literal text between them"));
                }
                if parts.contains(&Part::Param(name.to_string())) {
                    return Err(bad("a parameter appears twice"));
                }
                parts.push(Part::Param(name.to_string()));
                rest = &inner[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                if rest[..end].contains('}') {
                    return Err(bad("a `}` has no `{`"));
                }
                parts.push(Part::Literal(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        Ok(BlobPath {
            container: container.to_string(),
            parts,
        })
    }

    /// The container.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The literal start of every matching blob name: what to list with.
    pub fn prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(l)) => l,
            _ => "",
        }
    }

    /// The parameters' values if `blob` (a name in the container) matches, else `None`.
    /// A parameter binds at least one character and may span `/`; when a name can be split
    /// in several ways, earlier parameters take as much as they can (`{name}.{ext}` on
    /// `a.b.txt` binds `a.b` and `txt`).
    pub fn bind(&self, blob: &str) -> Option<HashMap<String, String>> {
        let mut found = Vec::new();
        bind_parts(&self.parts, blob, &mut found).then(|| found.into_iter().collect())
    }
}

fn bind_parts(parts: &[Part], text: &str, found: &mut Vec<(String, String)>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return text.is_empty();
    };
    match first {
        Part::Literal(l) => text
            .strip_prefix(l.as_str())
            .is_some_and(|after| bind_parts(rest, after, found)),
        Part::Param(name) => {
            let mut ends: Vec<usize> = text.char_indices().map(|(i, _)| i).skip(1).collect();
            ends.push(text.len());
            for &end in ends.iter().rev() {
                if end == 0 {
                    continue;
                }
                found.push((name.clone(), text[..end].to_string()));
                if bind_parts(rest, &text[end..], found) {
                    return true;
                }
                found.pop();
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(path: &str, blob: &str) -> Option<Vec<(String, String)>> {
        let mut v: Vec<_> = BlobPath::parse(path)
            .unwrap()
            .bind(blob)?
            .into_iter()
            .collect();
        v.sort();
        Some(v)
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn binds_names_and_extensions() {
        assert_eq!(
            bound("weather-results/{requestId}.txt", "req-1.txt"),
            pairs(&[("requestId", "req-1")])
        );
        assert_eq!(bound("weather-results/{requestId}.txt", "req-1.json"), None);
        assert_eq!(bound("weather-results/{requestId}.txt", ".txt"), None);
        assert_eq!(
            bound("c-1/{name}.{ext}", "a.b.txt"),
            pairs(&[("ext", "txt"), ("name", "a.b")])
        );
        assert_eq!(bound("c-1/{name}", "dir/x"), pairs(&[("name", "dir/x")]));
        assert_eq!(bound("c-1/in/{name}", "out/x"), None);
        assert_eq!(bound("c-1/in/{name}", "in/x"), pairs(&[("name", "x")]));
        assert_eq!(bound("c-1/fixed.txt", "fixed.txt"), pairs(&[]));
        assert_eq!(bound("c-1/{n}é", "aé"), pairs(&[("n", "a")]));
    }

    #[test]
    fn prefixes_and_containers() {
        let p = BlobPath::parse("c-1/in/{name}.txt").unwrap();
        assert_eq!(p.container(), "c-1");
        assert_eq!(p.prefix(), "in/");
        assert_eq!(BlobPath::parse("c-1/{name}").unwrap().prefix(), "");
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in [
            "nocontainer",
            "c-1/",
            "C1x/{a}",
            "{c}/x",
            "c-1/{a}{b}",
            "c-1/{a",
            "c-1/a}",
            "c-1/{a}/{a}",
            "c-1/{1a}",
        ] {
            assert!(BlobPath::parse(bad).is_err(), "{bad}");
        }
    }
}
