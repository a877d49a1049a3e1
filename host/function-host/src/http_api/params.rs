//! Parsing of paths and query parameters: names compare case-insensitively, booleans like
//! .NET `bool.TryParse`, times like `DateTime.TryParse` (read as UTC), durations as seconds.
//! A parameter that is given must be valid: a value of the wrong type or out of range is a
//! message for a 400, never silently the default.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use durable_engine::history::{OrchestrationStatus, Tags};
use durable_http::HttpRequest;

/// Splits a path into percent-decoded segments; empty segments (leading, trailing or doubled
/// slashes) are dropped and a query string, if any, is ignored. Invalid escapes stay as they
/// are, and `+` stays a plus sign. A segment that does not decode to UTF-8 is an error (never
/// a lossy U+FFFD, which would make different ids or names the same).
pub fn segments(path: &str) -> Result<Vec<String>, String> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| format!("the path segment {s:?} is not valid UTF-8"))
        })
        .collect()
}

/// The tags in `tag.<key>=<value>` parameters (the key as written after `tag.`, any case of
/// `tag.`); a message for an empty key, a key given twice, or more than
/// [`MAX_TAGS`] tags.
pub fn tags_param(req: &HttpRequest) -> Result<Tags, String> {
    let mut tags = Tags::new();
    for (name, value) in &req.query {
        let Some(key) = name
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("tag."))
            .map(|_| &name[4..])
        else {
            continue;
        };
        if key.is_empty() {
            return Err("a tag parameter needs a key: tag.<key>=<value>".into());
        }
        if tags.insert(key.to_string(), value.clone()).is_some() {
            return Err(format!("the tag {key:?} is given twice"));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags, not {}", tags.len()));
    }
    Ok(tags)
}

/// The most tags one start or query may carry.
pub const MAX_TAGS: usize = 64;

/// A boolean parameter: `true`/`false` in any case (surrounding blanks ignored); `default`
/// when absent; a message for anything else.
pub fn bool_param(req: &HttpRequest, name: &str, default: bool) -> Result<bool, String> {
    match req.query_param(name).map(str::trim) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!("{name} must be true or false, not {v:?}")),
    }
}

/// The largest page a listing may ask for (`top`).
pub const MAX_PAGE_SIZE: usize = 10_000;

/// A page size (`top`): `None` when absent; a message unless it is a whole number from 1 to
/// [`MAX_PAGE_SIZE`].
pub fn page_size_param(req: &HttpRequest, name: &str) -> Result<Option<usize>, String> {
    let Some(text) = req.query_param(name) else {
        return Ok(None);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{name} must be a whole number from 1 to {MAX_PAGE_SIZE}, not {text:?}"
        )),
    }
}

/// The longest wait a request may ask for (a day): longer ones are refused, not cut.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// A duration in (possibly fractional) seconds that must be valid when given: `Ok(None)` when
/// absent, an error message when it is not a number, negative, or over [`MAX_WAIT`].
pub fn checked_seconds(req: &HttpRequest, name: &str) -> Result<Option<Duration>, String> {
    let Some(text) = req.query_param(name) else {
        return Ok(None);
    };
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{name} must be a number of seconds, not {text:?}"))?;
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if d <= MAX_WAIT => Ok(Some(d)),
        _ => Err(format!(
            "{name} must be between 0 and {} seconds, not {text:?}",
            MAX_WAIT.as_secs()
        )),
    }
}

/// A time parameter: `None` when absent; a message when it is not a time.
pub fn time_param(req: &HttpRequest, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    match req.query_param(name) {
        None => Ok(None),
        Some(text) => parse_time(text).map(Some).ok_or_else(|| {
            format!("{name} must be a date and time such as 2024-01-31T12:00:00Z, not {text:?}")
        }),
    }
}

/// The start and end of a time range, each optional.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A time range from two parameters; a message when either is not a time or the range ends
/// before it starts.
pub fn time_range(req: &HttpRequest, from: &str, to: &str) -> Result<TimeRange, String> {
    let (start, end) = (time_param(req, from)?, time_param(req, to)?);
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            return Err(format!("{to} must not be earlier than {from}"));
        }
    }
    Ok((start, end))
}

/// Parses a timestamp leniently: RFC 3339 with any offset, or a date and time without an
/// offset (read as UTC), or a bare date. A `+` that query decoding turned into a space is put
/// back.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Some(t) = text.rfind(' ').filter(|&i| i > 10).and_then(|i| {
        DateTime::parse_from_rfc3339(&format!("{}+{}", &text[..i], &text[i + 1..])).ok()
    }) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = text.trim_end_matches(['Z', 'z']);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `runtimeStatus`: comma-separated names and/or repeated parameters, case-insensitive.
/// Returns the unknown name on error.
pub fn statuses_param(req: &HttpRequest) -> Result<Vec<OrchestrationStatus>, String> {
    let mut out = Vec::new();
    for value in req.query_values("runtimeStatus") {
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let status = OrchestrationStatus::from_name(name).ok_or_else(|| name.to_string())?;
            if !out.contains(&status) {
                out.push(status);
            }
        }
    }
    Ok(out)
}

/// True when the request's `Content-Type` media type is `application/json`.
pub fn is_json_content(req: &HttpRequest) -> bool {
    req.header("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    fn req(query: &str) -> HttpRequest {
        HttpRequest::new(Method::GET, format!("/x?{query}").parse().unwrap())
    }

    #[test]
    fn segments_are_decoded_leniently() {
        assert_eq!(segments("/instances/a%20b/").unwrap(), ["instances", "a b"]);
        assert_eq!(
            segments("instances//a+b%zz?x=1").unwrap(),
            ["instances", "a+b%zz"]
        );
        assert!(segments("/").unwrap().is_empty());
        assert!(segments("/instances/ab%FFcd").is_err());
        assert!(segments("/instances/x/raiseEvent/%C0%AF").is_err());
    }

    #[test]
    fn booleans_ints_and_durations() {
        let r = req("ShowHistory=True&showinput=FALSE&bad=yes&top=5&timeout=1.5&neg=-1");
        assert_eq!(bool_param(&r, "showHistory", false), Ok(true));
        assert_eq!(bool_param(&r, "showInput", true), Ok(false));
        assert_eq!(bool_param(&r, "absent", true), Ok(true));
        assert!(bool_param(&r, "bad", true).unwrap_err().contains("\"yes\""));
        assert_eq!(page_size_param(&r, "TOP"), Ok(Some(5)));
        assert_eq!(page_size_param(&r, "absent"), Ok(None));
        for top in ["top=-5", "top=0", "top=abc", "top=10001", "top="] {
            assert!(page_size_param(&req(top), "top").is_err(), "{top}");
        }
        assert_eq!(
            checked_seconds(&r, "timeout"),
            Ok(Some(Duration::from_millis(1500)))
        );
        assert_eq!(checked_seconds(&r, "absent"), Ok(None));
        assert!(checked_seconds(&r, "neg").is_err());
        assert!(checked_seconds(&r, "bad").is_err());
        let huge = req("timeout=1e19&nan=NaN&day=86400");
        assert!(checked_seconds(&huge, "timeout").is_err());
        assert!(checked_seconds(&huge, "nan").is_err());
        assert_eq!(checked_seconds(&huge, "day"), Ok(Some(MAX_WAIT)));
    }

    #[test]
    fn times_in_the_forms_clients_send() {
        let t = parse_time("2024-03-04T05:06:07Z").unwrap();
        for text in [
            "2024-03-04T05:06:07.000000Z",
            "2024-03-04T07:06:07+02:00",
            "2024-03-04T07:06:07 02:00",
            "2024-03-04T05:06:07",
            "2024-03-04 05:06:07",
        ] {
            assert_eq!(parse_time(text), Some(t), "{text}");
        }
        assert!(parse_time("2024-03-04").is_some());
        assert!(parse_time("yesterday").is_none());
        let r = req("from=2024-03-04&to=2024-03-03&bad=yesterday");
        assert!(time_param(&r, "bad").unwrap_err().contains("yesterday"));
        assert_eq!(time_param(&r, "absent"), Ok(None));
        assert!(time_range(&r, "from", "to")
            .unwrap_err()
            .contains("earlier"));
        assert!(time_range(&r, "to", "from").is_ok());
    }

    #[test]
    fn statuses_as_lists_and_repeats() {
        let r = req("runtimeStatus=Running,completed&RUNTIMESTATUS=Failed&runtimeStatus=");
        assert_eq!(
            statuses_param(&r).unwrap(),
            [
                OrchestrationStatus::Running,
                OrchestrationStatus::Completed,
                OrchestrationStatus::Failed
            ]
        );
        assert_eq!(
            statuses_param(&req("runtimeStatus=Nope")).unwrap_err(),
            "Nope"
        );
    }
}
