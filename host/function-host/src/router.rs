//! Route templates of HTTP functions and matching of request paths against them.
//!
//! Templates follow Azure Functions (ASP.NET) routes: literal segments match
//! case-insensitively, `{name}` binds one segment, `{name?}` is optional (trailing only),
//! `{name:int}` adds a constraint, and a last `{*name}` binds the rest of the path. Parameters
//! are percent-decoded. When several templates match, literals beat parameters, constrained
//! parameters beat plain ones, and catch-alls come last.

use std::collections::HashMap;

use http::Method;

/// A route template that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("route template {template:?} is invalid: {reason}")]
pub struct RouteError {
    /// The template.
    pub template: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What a parameter must look like (`{id:int}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// `int`: a 32-bit signed integer.
    Int,
    /// `long`: a 64-bit signed integer.
    Long,
    /// `double` (also `float`, `decimal`): a finite number.
    Double,
    /// `bool`: `true` or `false`, in any case.
    Bool,
    /// `guid`: a UUID.
    Guid,
    /// `alpha`: one or more ASCII letters.
    Alpha,
}

impl Constraint {
    fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "int" => Self::Int,
            "long" => Self::Long,
            "double" | "float" | "decimal" => Self::Double,
            "bool" => Self::Bool,
            "guid" => Self::Guid,
            "alpha" => Self::Alpha,
            _ => return None,
        })
    }

    fn accepts(self, value: &str) -> bool {
        match self {
            Self::Int => value.parse::<i32>().is_ok(),
            Self::Long => value.parse::<i64>().is_ok(),
            Self::Double => value.parse::<f64>().is_ok_and(f64::is_finite),
            Self::Bool => value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"),
            Self::Guid => uuid::Uuid::parse_str(value).is_ok(),
            Self::Alpha => !value.is_empty() && value.chars().all(|c| c.is_ascii_alphabetic()),
        }
    }
}

/// One segment of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text that must be there (compared case-insensitively), percent-decoded.
    Literal(String),
    /// `{name}`, `{name?}` or `{name:constraint}`: binds one segment.
    Param {
        /// The parameter's name.
        name: String,
        /// `{name?}`: the segment may be missing.
        optional: bool,
        /// What the segment must look like.
        constraints: Vec<Constraint>,
    },
    /// `{*name}`: binds the rest of the path.
    CatchAll(String),
}

impl Segment {
    /// Lower is more specific.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Param {
                optional: false,
                constraints,
                ..
            } if !constraints.is_empty() => 1,
            Segment::Param {
                optional: false, ..
            } => 2,
            Segment::Param { .. } => 3,
            Segment::CatchAll(_) => 4,
        }
    }
}

/// One parsed route template.
#[derive(Debug, Clone)]
pub struct RouteTemplate {
    template: String,
    segments: Vec<Segment>,
}

impl RouteTemplate {
    /// Parses a template such as `orchestrators/{functionName}/{instanceId?}`.
    pub fn parse(template: &str) -> Result<Self, RouteError> {
        let err = |reason: String| RouteError {
            template: template.to_string(),
            reason,
        };
        let trimmed = template.trim_matches('/');
        let mut segments = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let parts: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let seg = if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
            {
                parse_param(inner, last).map_err(err)?
            } else if part.contains(['{', '}']) {
                return Err(err(format!(
                    "segment {part:?} mixes text and parameters; use one parameter per segment"
                )));
            } else if part.is_empty() {
                return Err(err("empty segment (`//`)".into()));
            } else {
                let decoded = percent_encoding::percent_decode_str(part)
                    .decode_utf8()
                    .map_err(|_| err(format!("segment {part:?} is not UTF-8")))?;
                Segment::Literal(decoded.into_owned())
            };
            if let Segment::Param { name, .. } | Segment::CatchAll(name) = &seg {
                if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    return Err(err(format!("parameter {name:?} appears twice")));
                }
                names.push(name.clone());
            }
            segments.push(seg);
        }
        // Optional parameters may only be followed by other optional parameters.
        let first_optional = segments
            .iter()
            .position(|s| matches!(s, Segment::Param { optional: true, .. }));
        if let Some(i) = first_optional {
            if !segments[i..]
                .iter()
                .all(|s| matches!(s, Segment::Param { optional: true, .. }))
            {
                return Err(err(
                    "an optional parameter may only be followed by optional parameters".into(),
                ));
            }
        }
        Ok(Self {
            template: template.to_string(),
            segments,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// Its segments, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Matches decoded path segments; returns the bound parameters.
    fn matches(&self, path: &[String]) -> Option<HashMap<String, String>> {
        let mut params = HashMap::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Literal(lit) => {
                    if !path.get(i)?.eq_ignore_ascii_case(lit) {
                        return None;
                    }
                }
                Segment::Param {
                    name,
                    optional,
                    constraints,
                } => match path.get(i) {
                    Some(v) if !v.is_empty() => {
                        if !constraints.iter().all(|c| c.accepts(v)) {
                            return None;
                        }
                        params.insert(name.clone(), v.clone());
                    }
                    Some(_) => return None,
                    None if *optional => {}
                    None => return None,
                },
                Segment::CatchAll(name) => {
                    params.insert(name.clone(), path.get(i..).unwrap_or(&[]).join("/"));
                    return Some(params);
                }
            }
        }
        (path.len() <= self.segments.len()).then_some(params)
    }

    fn ranks(&self) -> Vec<u8> {
        self.segments.iter().map(Segment::rank).collect()
    }
}

fn parse_param(inner: &str, last: bool) -> Result<Segment, String> {
    if let Some(name) = inner.strip_prefix('*') {
        let name = name.strip_suffix('?').unwrap_or(name);
        check_name(name)?;
        if !last {
            return Err(format!(
                "catch-all parameter {{*{name}}} must be the last segment"
            ));
        }
        return Ok(Segment::CatchAll(name.to_string()));
    }
    let (inner, optional) = match inner.strip_suffix('?') {
        Some(i) => (i, true),
        None => (inner, false),
    };
    let mut parts = inner.split(':');
    let name = parts.next().unwrap_or_default();
    check_name(name)?;
    let constraints = parts
        .map(|c| {
            Constraint::parse(c).ok_or_else(|| {
                format!(
                    "constraint {c:?} of {{{name}}} is not supported (int, long, double, bool, guid, alpha)"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Segment::Param {
        name: name.to_string(),
        optional,
        constraints,
    })
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a parameter has no name".into());
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "parameter name {name:?} may contain only letters, digits, `_` and `-`"
        ));
    }
    Ok(())
}

/// What a path and method resolve to.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// Route `index` (in the order given to [`Router::new`]) with its parameters.
    Found {
        /// Index of the route.
        index: usize,
        /// Bound parameters, percent-decoded.
        params: HashMap<String, String>,
    },
    /// Some routes match the path, none the method.
    MethodNotAllowed {
        /// The methods those routes accept.
        allow: Vec<Method>,
    },
    /// No route matches the path.
    NotFound,
    /// The path does not percent-decode to UTF-8.
    BadPath,
}

/// A set of routes with their accepted methods.
#[derive(Debug, Clone, Default)]
pub struct Router {
    /// (template, methods; empty accepts any, index into the caller's list).
    routes: Vec<(RouteTemplate, Vec<Method>, usize)>,
}

impl Router {
    /// Builds a router; route `i` is reported as index `i`.
    pub fn new<'a>(
        routes: impl IntoIterator<Item = (&'a str, &'a [Method])>,
    ) -> Result<Self, RouteError> {
        let mut parsed = Vec::new();
        for (i, (template, methods)) in routes.into_iter().enumerate() {
            parsed.push((RouteTemplate::parse(template)?, methods.to_vec(), i));
        }
        // Most specific first; a stable sort keeps registration order among equals.
        parsed.sort_by_key(|(t, _, _)| t.ranks());
        Ok(Self { routes: parsed })
    }

    /// Resolves a path (below the route prefix, without the query) and a method.
    pub fn resolve(&self, method: &Method, path: &str) -> RouteMatch {
        let Some(segments) = decode_path(path) else {
            return RouteMatch::BadPath;
        };
        let mut allow: Vec<Method> = Vec::new();
        for (template, methods, index) in &self.routes {
            let Some(params) = template.matches(&segments) else {
                continue;
            };
            if methods.is_empty() || methods.contains(method) {
                return RouteMatch::Found {
                    index: *index,
                    params,
                };
            }
            for m in methods {
                if !allow.contains(m) {
                    allow.push(m.clone());
                }
            }
        }
        if allow.is_empty() {
            RouteMatch::NotFound
        } else {
            allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            RouteMatch::MethodNotAllowed { allow }
        }
    }
}

/// Splits a path into percent-decoded segments; a single trailing slash is ignored.
fn decode_path(path: &str) -> Option<Vec<String>> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        return Some(Vec::new());
    }
    path.split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &[Method])]) -> Router {
        Router::new(routes.iter().copied()).unwrap()
    }

    fn found(m: RouteMatch) -> (usize, HashMap<String, String>) {
        match m {
            RouteMatch::Found { index, params } => (index, params),
            other => panic!("expected a match, got {other:?}"),
        }
    }

    #[test]
    fn parameters_bind_and_decode() {
        let r = router(&[("weather-results/{requestId}", &[Method::GET])]);
        let (i, p) = found(r.resolve(&Method::GET, "/Weather-Results/a%20b%2Fc"));
        assert_eq!(i, 0);
        assert_eq!(p["requestId"], "a b/c");
        assert_eq!(
            r.resolve(&Method::GET, "/weather-results"),
            RouteMatch::NotFound
        );
        assert_eq!(
            r.resolve(&Method::GET, "/weather-results/a/b"),
            RouteMatch::NotFound
        );
        assert_eq!(
            r.resolve(&Method::GET, "/weather-results/%FF"),
            RouteMatch::BadPath
        );
    }

    #[test]
    fn optional_trailing_parameters() {
        let r = router(&[("orchestrators/{functionName}/{instanceId?}", &[])]);
        let (_, p) = found(r.resolve(&Method::POST, "orchestrators/hello"));
        assert_eq!(p.len(), 1);
        let (_, p) = found(r.resolve(&Method::POST, "orchestrators/hello/id-1/"));
        assert_eq!(p["instanceId"], "id-1");
        assert!(RouteTemplate::parse("a/{b?}/c").is_err());
    }

    #[test]
    fn methods_are_filtered_with_an_allow_list() {
        let r = router(&[
            ("items/{id}", &[Method::GET]),
            ("items/{id}", &[Method::DELETE, Method::GET]),
        ]);
        assert_eq!(
            r.resolve(&Method::PUT, "/items/1"),
            RouteMatch::MethodNotAllowed {
                allow: vec![Method::DELETE, Method::GET]
            }
        );
        assert_eq!(found(r.resolve(&Method::DELETE, "/items/1")).0, 1);
    }

    #[test]
    fn literals_beat_parameters_and_constraints_filter() {
        let r = router(&[
            ("items/{*rest}", &[]),
            ("items/{id}", &[]),
            ("items/{id:int}", &[]),
            ("items/new", &[]),
        ]);
        assert_eq!(found(r.resolve(&Method::GET, "/items/NEW")).0, 3);
        assert_eq!(found(r.resolve(&Method::GET, "/items/42")).0, 2);
        assert_eq!(found(r.resolve(&Method::GET, "/items/x")).0, 1);
        let (i, p) = found(r.resolve(&Method::GET, "/items/x/y/z"));
        assert_eq!((i, p["rest"].as_str()), (0, "x/y/z"));
    }

    #[test]
    fn bad_templates_are_rejected() {
        for t in [
            "a/{}",
            "a/{x}-{y}",
            "{x}/{X}",
            "{*rest}/more",
            "a//b",
            "{id:regex(x)}",
        ] {
            assert!(RouteTemplate::parse(t).is_err(), "{t}");
        }
        assert!(RouteTemplate::parse("").is_ok());
    }
}
