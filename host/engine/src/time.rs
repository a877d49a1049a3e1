//! Timestamps as DTFx keeps them: UTC with 100 ns precision, written with seven fractional digits.
//! (The engine reads no clock: the time of an episode is handed to it.)

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer};

/// Truncates a timestamp to 100 ns ticks.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % 100).unwrap_or(t)
}

/// `yyyy-MM-ddTHH:mm:ss.fffffffZ`, the .NET round-trip ("o") format of a UTC time.
pub fn format(t: &DateTime<Utc>) -> String {
    // chrono prints nine digits; .NET keeps seven.
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let (head, _) = s.split_at(s.len() - 3); // drops "xxZ"
    format!("{head}Z")
}

/// Parses an RFC 3339 / ISO 8601 timestamp with any number of fractional digits.
pub fn parse(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

/// Serde helper for optional timestamps in DTFx JSON.
pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| parse(&s).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seven_fractional_digits() {
        let t = parse("2024-01-01T00:00:00.1234567Z").unwrap();
        assert_eq!(format(&t), "2024-01-01T00:00:00.1234567Z");
        let t = parse("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(format(&t), "2024-01-01T00:00:00.0000000Z");
    }
}
