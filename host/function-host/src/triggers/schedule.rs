//! Six-field NCRONTAB schedules, as Azure Functions timer triggers write them.
//!
//! `sec min hour day month day-of-week`, evaluated in UTC (no daylight-saving gaps or repeats):
//!
//! | field        | values | names                                   |
//! |--------------|--------|-----------------------------------------|
//! | second       | 0-59   |                                         |
//! | minute       | 0-59   |                                         |
//! | hour         | 0-23   |                                         |
//! | day of month | 1-31   |                                         |
//! | month        | 1-12   | `Jan`…`Dec`, `January`…`December`       |
//! | day of week  | 0-6    | `Sun`…`Sat`, `Sunday`…`Saturday`; 0 = Sunday |
//!
//! Each field is a comma-separated list of `*`, `n`, `a-b`, optionally followed by `/step`
//! (`*/5`, `10-40/10`, `5/15` = from 5 to the field's maximum every 15). Names are
//! case-insensitive and may be shortened to any prefix of three letters or more (`Mon`,
//! `Thurs`, `Sept`).
//!
//! As in NCrontab (the library Azure Functions uses), a time matches when *every* field
//! matches: when both the day of month and the day of week are restricted, a day must satisfy
//! both (`0 0 0 13 * Fri` is every Friday the 13th), unlike Vixie cron's either-or.
//!
//! Expressions NCrontab would read differently from what they seem to say are refused rather
//! than guessed at: reversed ranges (`Sat-Sun`; NCrontab swaps them, meaning every day), a step
//! of 0, one- or two-letter name prefixes, `7` for Sunday, and the Quartz extensions (`?`, `L`,
//! `W`, `#`). A schedule that never fires (`0 0 0 30 2 *`) is refused too.
//!
//! The occurrence search is the `cron` crate's; this module translates the NCRONTAB fields into
//! explicit value lists for it (its day-of-week numbers run 1-7 from Sunday).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Timelike, Utc};

/// Why an expression is not a valid six-field NCRONTAB schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid NCRONTAB schedule {expression:?}: {reason}")]
pub struct ScheduleError {
    /// The expression as given.
    pub expression: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed six-field NCRONTAB schedule, evaluated in UTC.
#[derive(Clone)]
pub struct Schedule {
    expression: String,
    inner: cron::Schedule,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Schedule").field(&self.expression).finish()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Schedule {
    /// Parses `sec min hour day month day-of-week`.
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let error = |reason: String| ScheduleError {
            expression: expression.to_string(),
            reason,
        };
        let translated = translate(expression).map_err(error)?;
        let inner = cron::Schedule::from_str(&translated).map_err(|e| {
            error(format!(
                "the cron library refused the translation {translated:?}: {e}"
            ))
        })?;
        let schedule = Self {
            expression: expression.trim().to_string(),
            inner,
        };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(error("the schedule never fires".to_string()));
        }
        Ok(schedule)
    }

    /// The expression, as given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first occurrence strictly after `t`; `None` past the year 2100.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Occurrences are whole seconds: strictly after `t` is strictly after its second.
        self.inner.after(&floor_second(t)).next()
    }

    /// The latest occurrence at or before `t`; `None` before 1970.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let second = floor_second(t);
        if self.inner.includes(second) {
            return Some(second);
        }
        self.inner.after(&second).next_back()
    }

    /// Whether `t` is an occurrence (a whole second matching every field).
    pub fn includes(&self, t: DateTime<Utc>) -> bool {
        t.nanosecond() == 0 && self.inner.includes(t)
    }

    /// The occurrences strictly after `t`, in order.
    pub fn occurrences_after(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.inner.after(&floor_second(t))
    }
}

/// `t` without its fraction of a second (a leap second stays in its second).
fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

/// One NCRONTAB field: its range and value names (index 0 names `min`).
struct Field {
    what: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const DAYS: &[&str] = &[
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const FIELDS: [Field; 6] = [
    Field {
        what: "second",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        what: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        what: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        what: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        what: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    Field {
        what: "day of week",
        min: 0,
        max: 6,
        names: DAYS,
    },
];

/// Index of the day-of-week field.
const DAY_OF_WEEK: usize = 5;

/// Rewrites an NCRONTAB expression as an equivalent `cron` crate expression: every field an
/// explicit list (or `*`), days of week renumbered from NCRONTAB's 0-6 to the crate's 1-7.
fn translate(expression: &str) -> Result<String, String> {
    let parts: Vec<&str> = expression.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        return Err(format!(
            "expected 6 fields (second minute hour day month day-of-week), found {}",
            parts.len()
        ));
    }
    let mut out = Vec::with_capacity(FIELDS.len());
    for (i, (part, field)) in parts.iter().zip(&FIELDS).enumerate() {
        let values =
            expand(part, field).map_err(|e| format!("{} field {part:?}: {e}", field.what))?;
        let everything = values.len() == (field.max - field.min + 1) as usize;
        let shift = u32::from(i == DAY_OF_WEEK);
        out.push(if everything {
            "*".to_string()
        } else {
            values
                .iter()
                .map(|v| (v + shift).to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
    }
    Ok(out.join(" "))
}

/// The values a field's text selects.
fn expand(text: &str, field: &Field) -> Result<BTreeSet<u32>, String> {
    let mut values = BTreeSet::new();
    for element in text.split(',') {
        if element.is_empty() {
            return Err("empty list element".to_string());
        }
        let (base, step) = match element.split_once('/') {
            Some((base, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("step {step:?} is not a number"))?;
                if step == 0 {
                    return Err("a step of 0 selects nothing".to_string());
                }
                (base, Some(step))
            }
            None => (element, None),
        };
        let (first, last) = if base == "*" {
            (field.min, field.max)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, b) = (value(a, field)?, value(b, field)?);
            if a > b {
                return Err(format!(
                    "range {base:?} is reversed; write it from low to high ({b}-{a})"
                ));
            }
            (a, b)
        } else {
            let a = value(base, field)?;
            // `n/step` runs from n to the field's maximum.
            (a, if step.is_some() { field.max } else { a })
        };
        values.extend((first..=last).step_by(step.unwrap_or(1) as usize));
    }
    Ok(values)
}

/// One value: a number in the field's range or, where the field has names, a name.
fn value(text: &str, field: &Field) -> Result<u32, String> {
    if text.is_empty() {
        return Err("missing value".to_string());
    }
    let v = if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u32>()
            .map_err(|_| format!("{text:?} is out of range"))?
    } else if !field.names.is_empty() && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        let lower = text.to_ascii_lowercase();
        let index = field
            .names
            .iter()
            .position(|name| lower.len() >= 3 && name.starts_with(&lower))
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a name (use at least three letters of {})",
                    field.names.join(", ")
                )
            })?;
        field.min + index as u32
    } else {
        return Err(format!("{text:?} is not a number"));
    };
    if v < field.min || v > field.max {
        let hint = if field.names == DAYS {
            " (0 = Sunday)"
        } else {
            ""
        };
        return Err(format!("{v} is outside {}-{}{hint}", field.min, field.max));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, Duration, TimeZone, Weekday};

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn next_n(expression: &str, from: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        Schedule::parse(expression)
            .unwrap()
            .occurrences_after(from)
            .take(n)
            .collect()
    }

    fn refused(expression: &str) -> String {
        Schedule::parse(expression).unwrap_err().reason
    }

    #[test]
    fn every_five_minutes() {
        let from = at(2024, 1, 1, 10, 2, 3);
        assert_eq!(
            next_n("0 */5 * * * *", from, 3),
            vec![
                at(2024, 1, 1, 10, 5, 0),
                at(2024, 1, 1, 10, 10, 0),
                at(2024, 1, 1, 10, 15, 0)
            ]
        );
    }

    #[test]
    fn every_ten_seconds() {
        let from = at(2024, 1, 1, 23, 59, 41);
        assert_eq!(
            next_n("*/10 * * * * *", from, 3),
            vec![
                at(2024, 1, 1, 23, 59, 50),
                at(2024, 1, 2, 0, 0, 0),
                at(2024, 1, 2, 0, 0, 10)
            ]
        );
    }

    #[test]
    fn weekdays_at_nine() {
        // 2024-01-05 is a Friday.
        let from = at(2024, 1, 5, 9, 0, 0);
        let got = next_n("0 0 9 * * Mon-Fri", from, 5);
        assert_eq!(
            got,
            vec![
                at(2024, 1, 8, 9, 0, 0),
                at(2024, 1, 9, 9, 0, 0),
                at(2024, 1, 10, 9, 0, 0),
                at(2024, 1, 11, 9, 0, 0),
                at(2024, 1, 12, 9, 0, 0)
            ]
        );
        // Numbers mean the same days: 1 = Monday ... 5 = Friday.
        assert_eq!(next_n("0 0 9 * * 1-5", from, 5), got);
        assert_eq!(next_n("0 0 9 * * monday-FRIDAY", from, 5), got);
    }

    #[test]
    fn day_of_week_numbering_starts_at_sunday_zero() {
        let from = at(2024, 1, 1, 0, 0, 0); // a Monday
        let weekday = |e: &str| next_n(e, from, 1)[0].weekday();
        assert_eq!(weekday("0 0 12 * * 0"), Weekday::Sun);
        assert_eq!(weekday("0 0 12 * * 1"), Weekday::Mon);
        assert_eq!(weekday("0 0 12 * * 6"), Weekday::Sat);
        assert_eq!(weekday("0 0 12 * * Sun"), Weekday::Sun);
        assert_eq!(weekday("0 0 12 * * sat"), Weekday::Sat);
        assert_eq!(weekday("0 0 12 * * Thurs"), Weekday::Thu);
        // Lists and steps keep NCRONTAB's numbering: */2 = Sun, Tue, Thu, Sat.
        let days: Vec<Weekday> = next_n("0 0 12 * * */2", from, 4)
            .iter()
            .map(|d| d.weekday())
            .collect();
        assert_eq!(
            days,
            vec![Weekday::Tue, Weekday::Thu, Weekday::Sat, Weekday::Sun]
        );
        let days: Vec<Weekday> = next_n("0 0 12 * * 1/2", from, 3)
            .iter()
            .map(|d| d.weekday())
            .collect();
        assert_eq!(days, vec![Weekday::Mon, Weekday::Wed, Weekday::Fri]);
        let days: Vec<Weekday> = next_n("0 0 12 * * Sat,0", from, 2)
            .iter()
            .map(|d| d.weekday())
            .collect();
        assert_eq!(days, vec![Weekday::Sat, Weekday::Sun]);
    }

    #[test]
    fn ranges_lists_and_steps() {
        let from = at(2024, 1, 1, 0, 0, 0);
        assert_eq!(
            next_n("0 15,45 8-9 * * *", from, 5),
            vec![
                at(2024, 1, 1, 8, 15, 0),
                at(2024, 1, 1, 8, 45, 0),
                at(2024, 1, 1, 9, 15, 0),
                at(2024, 1, 1, 9, 45, 0),
                at(2024, 1, 2, 8, 15, 0)
            ]
        );
        assert_eq!(
            next_n("5/20 0 0 * * *", from, 4),
            vec![
                at(2024, 1, 1, 0, 0, 5),
                at(2024, 1, 1, 0, 0, 25),
                at(2024, 1, 1, 0, 0, 45),
                at(2024, 1, 2, 0, 0, 5)
            ]
        );
        assert_eq!(
            next_n("0 10-40/15 0 1 * *", from, 3),
            vec![
                at(2024, 1, 1, 0, 10, 0),
                at(2024, 1, 1, 0, 25, 0),
                at(2024, 1, 1, 0, 40, 0)
            ]
        );
        assert_eq!(
            next_n("0 30 9 1 Jan-Mar,Sept *", from, 5),
            vec![
                at(2024, 1, 1, 9, 30, 0),
                at(2024, 2, 1, 9, 30, 0),
                at(2024, 3, 1, 9, 30, 0),
                at(2024, 9, 1, 9, 30, 0),
                at(2025, 1, 1, 9, 30, 0)
            ]
        );
    }

    #[test]
    fn day_of_month_and_day_of_week_must_both_match() {
        // Friday the 13th, not every Friday plus every 13th.
        let got = next_n("0 0 0 13 * Fri", at(2024, 1, 1, 0, 0, 0), 3);
        assert_eq!(
            got,
            vec![
                at(2024, 9, 13, 0, 0, 0),
                at(2024, 12, 13, 0, 0, 0),
                at(2025, 6, 13, 0, 0, 0)
            ]
        );
    }

    #[test]
    fn short_months_and_leap_days() {
        let from = at(2023, 1, 1, 0, 0, 0);
        assert_eq!(
            next_n("0 0 0 31 * *", from, 3),
            vec![
                at(2023, 1, 31, 0, 0, 0),
                at(2023, 3, 31, 0, 0, 0),
                at(2023, 5, 31, 0, 0, 0)
            ]
        );
        assert_eq!(
            next_n("0 0 0 29 Feb *", from, 2),
            vec![at(2024, 2, 29, 0, 0, 0), at(2028, 2, 29, 0, 0, 0)]
        );
    }

    #[test]
    fn utc_has_no_daylight_saving_gaps() {
        // Across the US (2024-03-10) and EU (2024-03-31, 2024-10-27) clock changes, an hourly
        // schedule stays exactly one hour apart and a daily one exactly a day apart.
        for day in [(3, 10), (3, 31), (10, 27), (11, 3)] {
            let from = at(2024, day.0, day.1, 0, 0, 0) - Duration::hours(1);
            let hourly = next_n("0 0 * * * *", from, 6);
            assert!(hourly.windows(2).all(|w| w[1] - w[0] == Duration::hours(1)));
            let daily = next_n("0 30 2 * * *", from, 3);
            assert!(daily.windows(2).all(|w| w[1] - w[0] == Duration::days(1)));
            assert!(daily.iter().all(|d| d.hour() == 2 && d.minute() == 30));
        }
    }

    #[test]
    fn next_is_strictly_after_and_ignores_fractions() {
        let s = Schedule::parse("* * * * * *").unwrap();
        let t = at(2024, 1, 1, 0, 0, 10);
        assert_eq!(s.next_after(t), Some(at(2024, 1, 1, 0, 0, 11)));
        let t_half = t + Duration::milliseconds(500);
        assert_eq!(s.next_after(t_half), Some(at(2024, 1, 1, 0, 0, 11)));
        let s = Schedule::parse("*/10 * * * * *").unwrap();
        assert_eq!(s.next_after(t), Some(at(2024, 1, 1, 0, 0, 20)));
        assert_eq!(
            s.next_after(t - Duration::milliseconds(1)),
            Some(at(2024, 1, 1, 0, 0, 10))
        );
    }

    #[test]
    fn latest_at_or_before() {
        let s = Schedule::parse("*/10 * * * * *").unwrap();
        let t = at(2024, 1, 1, 0, 0, 10);
        assert_eq!(s.latest_at_or_before(t), Some(t));
        assert_eq!(
            s.latest_at_or_before(t + Duration::milliseconds(999)),
            Some(t)
        );
        assert_eq!(
            s.latest_at_or_before(t - Duration::milliseconds(1)),
            Some(at(2024, 1, 1, 0, 0, 0))
        );
        let s = Schedule::parse("0 0 9 * * Mon-Fri").unwrap();
        // Sunday 2024-01-07 noon: the latest was Friday 09:00.
        assert_eq!(
            s.latest_at_or_before(at(2024, 1, 7, 12, 0, 0)),
            Some(at(2024, 1, 5, 9, 0, 0))
        );
    }

    #[test]
    fn includes_only_whole_second_occurrences() {
        let s = Schedule::parse("0 */5 * * * *").unwrap();
        assert!(s.includes(at(2024, 1, 1, 10, 5, 0)));
        assert!(!s.includes(at(2024, 1, 1, 10, 6, 0)));
        assert!(!s.includes(at(2024, 1, 1, 10, 5, 0) + Duration::milliseconds(1)));
    }

    #[test]
    fn whitespace_and_case_are_forgiven() {
        let s = Schedule::parse("  0  0   9 * *  mon-fri ").unwrap();
        assert_eq!(s.expression(), "0  0   9 * *  mon-fri");
        assert_eq!(s.to_string(), s.expression());
        let parsed: Schedule = "0 0 9 * * MON".parse().unwrap();
        assert_eq!(
            parsed.next_after(at(2024, 1, 1, 10, 0, 0)),
            Some(at(2024, 1, 8, 9, 0, 0))
        );
    }

    #[test]
    fn refuses_what_ncrontab_would_read_differently() {
        assert!(refused("0 */5 * * *").contains("expected 6 fields"));
        assert!(refused("0 0 0 * * * 2024").contains("expected 6 fields"));
        assert!(refused("@daily").contains("expected 6 fields"));
        assert!(refused("0 0 0 * * Sat-Sun").contains("reversed"));
        assert!(refused("0 0 0 * * 7").contains("0 = Sunday"));
        assert!(refused("*/0 * * * * *").contains("step of 0"));
        assert!(refused("0 0 0 * * Mo").contains("three letters"));
        assert!(refused("0 0 0 ? * Mon").contains("not a number"));
        assert!(refused("0 0 0 L * *").contains("not a number"));
        assert!(refused("0 0 0 * * 5#3").contains("not a number"));
        assert!(refused("0 0 Mon * * *").contains("not a number"));
        assert!(refused("60 * * * * *").contains("outside 0-59"));
        assert!(refused("0 0 24 * * *").contains("outside 0-23"));
        assert!(refused("0 0 0 0 * *").contains("outside 1-31"));
        assert!(refused("0 0 0 * 13 *").contains("outside 1-12"));
        assert!(refused("0,,5 * * * * *").contains("empty list element"));
        assert!(refused("0-5/x * * * * *").contains("not a number"));
        assert!(refused("-5 * * * * *").contains("missing value"));
        assert!(refused("0 0 0 30 Feb *").contains("never fires"));
        let e = Schedule::parse("0 0 0 * * Funday").unwrap_err();
        assert_eq!(e.expression, "0 0 0 * * Funday");
        assert!(e.to_string().contains("day of week field"), "{e}");
    }

    #[test]
    fn translation_renumbers_days_of_week() {
        assert_eq!(
            translate("0 0 9 * * Mon-Fri").unwrap(),
            "0 0 9 * * 2,3,4,5,6"
        );
        assert_eq!(translate("0 0 9 * * 0,6").unwrap(), "0 0 9 * * 1,7");
        assert_eq!(
            translate("*/15 * * * * 0-6").unwrap(),
            "0,15,30,45 * * * * *"
        );
        assert_eq!(translate("0 0 0 1 Jan-Dec *").unwrap(), "0 0 0 1 * *");
    }
}
