//! Durations in the .NET `TimeSpan` text form `[d.]hh:mm:ss[.fffffff]`, as Durable Functions
//! writes a durable HTTP request's `timeout`, so a recorded request reads the same in its tools.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// 100-nanosecond ticks per second, the resolution of a `TimeSpan`.
const TICKS_PER_SECOND: u128 = 10_000_000;

/// `d` as `[d.]hh:mm:ss[.fffffff]`.
pub(crate) fn format(d: Duration) -> String {
    let ticks = d.as_nanos() / 100;
    let fraction = ticks % TICKS_PER_SECOND;
    let secs = ticks / TICKS_PER_SECOND;
    let (days, hours) = (secs / 86_400, secs / 3_600 % 24);
    let (minutes, seconds) = (secs / 60 % 60, secs % 60);
    let mut text = String::new();
    if days > 0 {
        text.push_str(&format!("{days}."));
    }
    text.push_str(&format!("{hours:02}:{minutes:02}:{seconds:02}"));
    if fraction > 0 {
        text.push_str(&format!(".{fraction:07}"));
    }
    text
}

/// Reads `[d.]hh:mm:ss[.fffffff]`; `None` if `text` is not of that form.
pub(crate) fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (days, rest) = match text.split_once('.') {
        // A dot before the first colon separates days; after it, fractions of a second.
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, text),
    };
    let mut parts = rest.split(':');
    let (hours, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let number = |s: &str, max: u64| {
        let n: u64 = s
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())??;
        (n <= max).then_some(n)
    };
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let (hours, minutes, whole) = (number(hours, 23)?, number(minutes, 59)?, number(whole, 59)?);
    let nanos = match fraction {
        "" => 0,
        f if f.len() <= 9 && f.chars().all(|c| c.is_ascii_digit()) => {
            format!("{f:0<9}").parse::<u32>().ok()?
        }
        _ => return None,
    };
    let secs = days
        .checked_mul(86_400)?
        .checked_add(hours * 3_600 + minutes * 60 + whole)?;
    Some(Duration::new(secs, nanos))
}

/// Serde for `Option<Duration>` as an optional `TimeSpan` string.
pub(crate) mod optional {
    use super::*;

    /// Writes the duration as a `TimeSpan` string (or `null`).
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads a `TimeSpan` string (or `null`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{text:?} is not a time span such as 00:00:30 or 1.00:00:00"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for d in [
            Duration::ZERO,
            Duration::from_secs(30),
            Duration::from_millis(1_500),
            Duration::from_secs(3 * 86_400 + 4 * 3_600 + 5 * 60 + 6),
        ] {
            assert_eq!(parse(&format(d)), Some(d), "{}", format(d));
        }
        assert_eq!(format(Duration::from_millis(1_500)), "00:00:01.5000000");
        assert_eq!(format(Duration::from_secs(90_000)), "1.01:00:00");
    }

    #[test]
    fn rejects_what_is_not_a_time_span() {
        for bad in [
            "",
            "30",
            "00:60:00",
            "24:00:00",
            "a:b:c",
            "00:00:00:00",
            "-1:00:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(parse("00:00:00.25"), Some(Duration::from_millis(250)));
    }
}
