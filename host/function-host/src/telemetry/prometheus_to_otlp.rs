//! The host's metrics, as `/admin/metrics` answers them in the Prometheus text format, turned
//! into OTLP metrics: counters into cumulative monotonic sums (named without `_total`),
//! gauges into gauges, histograms into cumulative explicit-bucket histograms. One source of
//! truth, so a scrape and an export always agree.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, Sum,
};

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

type Labels = Vec<(String, String)>;

/// One family as the text has it.
struct Family {
    name: String,
    help: String,
    kind: Kind,
    /// Sample name suffix (`_bucket`, `_sum`, `_count`, or empty), labels, value.
    samples: Vec<(String, Labels, f64)>,
}

/// The OTLP metrics of exposition `text`, sampled at `now` for a process started at `start`
/// (both Unix nanoseconds).
pub(super) fn convert(text: &str, start: u64, now: u64) -> Vec<Metric> {
    parse(text)
        .into_iter()
        .filter(|f| !f.samples.is_empty())
        .map(|f| metric(f, start, now))
        .collect()
}

fn parse(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    let mut help: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help.insert(name.to_owned(), text.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "gauge"));
            let kind = match kind.trim() {
                "counter" => Kind::Counter,
                "histogram" => Kind::Histogram,
                _ => Kind::Gauge,
            };
            families.push(Family {
                name: name.to_owned(),
                help: help.get(name).cloned().unwrap_or_default(),
                kind,
                samples: Vec::new(),
            });
        } else if !line.starts_with('#') {
            let Some((name, labels, value)) = sample(line) else {
                continue;
            };
            let family = match families.last_mut() {
                Some(f) if name.starts_with(&f.name) => f,
                _ => {
                    families.push(Family {
                        name: name.to_owned(),
                        help: String::new(),
                        kind: Kind::Gauge,
                        samples: Vec::new(),
                    });
                    families.last_mut().expect("just pushed")
                }
            };
            let suffix = name[family.name.len()..].to_owned();
            family.samples.push((suffix, labels, value));
        }
    }
    families
}

/// `name{label="value",...} value [timestamp]`.
fn sample(line: &str) -> Option<(&str, Labels, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        let mut key = String::new();
        loop {
            let (i, c) = chars.next()?;
            match c {
                '}' => {
                    rest = &inner[i + 1..];
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    if chars.next()?.1 != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next()?.1 {
                            '"' => break,
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            c => value.push(c),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                c => key.push(c),
            }
        }
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some((name, labels, value))
}

fn metric(f: Family, start: u64, now: u64) -> Metric {
    let unit = if f.name.contains("_seconds") { "s" } else { "" };
    let (name, data) = match f.kind {
        Kind::Counter => (
            f.name.strip_suffix("_total").unwrap_or(&f.name).to_owned(),
            metric::Data::Sum(Sum {
                data_points: numbers(&f.samples, start, now),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
        ),
        Kind::Gauge => (
            f.name.clone(),
            metric::Data::Gauge(Gauge {
                data_points: numbers(&f.samples, 0, now),
            }),
        ),
        Kind::Histogram => (
            f.name.clone(),
            metric::Data::Histogram(Histogram {
                data_points: histograms(&f.samples, start, now),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
        ),
    };
    Metric {
        name,
        description: f.help,
        unit: unit.to_owned(),
        data: Some(data),
        ..Metric::default()
    }
}

fn attributes(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.clone())),
            }),
            ..KeyValue::default()
        })
        .collect()
}

fn numbers(samples: &[(String, Labels, f64)], start: u64, now: u64) -> Vec<NumberDataPoint> {
    samples
        .iter()
        .map(|(_, labels, value)| NumberDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano: start,
            time_unix_nano: now,
            value: Some(number_data_point::Value::AsDouble(*value)),
            ..NumberDataPoint::default()
        })
        .collect()
}

/// A histogram's series: cumulative bucket counts by upper bound, its sum and count.
#[derive(Default)]
struct Series {
    buckets: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

fn histograms(samples: &[(String, Labels, f64)], start: u64, now: u64) -> Vec<HistogramDataPoint> {
    let mut series: BTreeMap<Labels, Series> = BTreeMap::new();
    for (suffix, labels, value) in samples {
        let le = labels
            .iter()
            .find(|(k, _)| k == "le")
            .map(|(_, v)| v.as_str());
        let key: Labels = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
        let s = series.entry(key).or_default();
        match (suffix.as_str(), le) {
            ("_bucket", Some(le)) => {
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap_or(f64::INFINITY)
                };
                s.buckets.push((bound, *value));
            }
            ("_sum", _) => s.sum = *value,
            ("_count", _) => s.count = *value,
            _ => {}
        }
    }
    series
        .into_iter()
        .map(|(labels, mut s)| {
            s.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            let explicit_bounds: Vec<f64> = s
                .buckets
                .iter()
                .map(|b| b.0)
                .filter(|b| b.is_finite())
                .collect();
            // Prometheus buckets are cumulative; OTLP's count each bucket alone, the last one
            // above the largest bound.
            let mut counts = Vec::with_capacity(explicit_bounds.len() + 1);
            let mut below = 0.0;
            for (bound, cumulative) in &s.buckets {
                if bound.is_finite() {
                    counts.push((cumulative - below).max(0.0) as u64);
                    below = *cumulative;
                }
            }
            counts.push((s.count - below).max(0.0) as u64);
            HistogramDataPoint {
                attributes: attributes(&labels),
                start_time_unix_nano: start,
                time_unix_nano: now,
                count: s.count as u64,
                sum: Some(s.sum),
                bucket_counts: counts,
                explicit_bounds,
                ..HistogramDataPoint::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP durable_orchestrations_started_total Orchestration instances started.
# TYPE durable_orchestrations_started_total counter
durable_orchestrations_started_total{orchestration="hello_cities"} 3
durable_orchestrations_started_total{orchestration="a \"quoted\", name"} 1
# HELP durable_activity_duration_seconds Activity executions.
# TYPE durable_activity_duration_seconds histogram
durable_activity_duration_seconds_bucket{activity="say_hello",outcome="Succeeded",le="0.001"} 1
durable_activity_duration_seconds_bucket{activity="say_hello",outcome="Succeeded",le="0.002"} 3
durable_activity_duration_seconds_bucket{activity="say_hello",outcome="Succeeded",le="+Inf"} 4
durable_activity_duration_seconds_sum{activity="say_hello",outcome="Succeeded"} 0.5
durable_activity_duration_seconds_count{activity="say_hello",outcome="Succeeded"} 4
# HELP durable_cache_executions Live executions held in the cache
# TYPE durable_cache_executions gauge
durable_cache_executions 7
# HELP durable_partition_leased 1 for each partition.
# TYPE durable_partition_leased gauge
"#;

    fn value(p: &NumberDataPoint) -> f64 {
        match p.value {
            Some(number_data_point::Value::AsDouble(v)) => v,
            _ => panic!("a double"),
        }
    }

    #[test]
    fn counters_gauges_and_histograms_convert() {
        let metrics = convert(TEXT, 1, 2);
        let names: Vec<_> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "durable_orchestrations_started",
                "durable_activity_duration_seconds",
                "durable_cache_executions"
            ],
            "an empty family is left out"
        );
        let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
            panic!("a sum")
        };
        assert!(sum.is_monotonic);
        assert_eq!(sum.data_points.len(), 2);
        assert_eq!(value(&sum.data_points[0]), 3.0);
        let quoted = &sum.data_points[1].attributes[0];
        assert_eq!(
            quoted.value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("a \"quoted\", name".into()))
        );
        assert_eq!(metrics[0].description, "Orchestration instances started.");

        let Some(metric::Data::Histogram(h)) = &metrics[1].data else {
            panic!("a histogram")
        };
        let p = &h.data_points[0];
        assert_eq!(p.explicit_bounds, vec![0.001, 0.002]);
        assert_eq!(p.bucket_counts, vec![1, 2, 1]);
        assert_eq!((p.count, p.sum), (4, Some(0.5)));
        assert_eq!(p.attributes.len(), 2, "le is not an attribute");
        assert_eq!(metrics[1].unit, "s");
        assert_eq!((p.start_time_unix_nano, p.time_unix_nano), (1, 2));

        let Some(metric::Data::Gauge(g)) = &metrics[2].data else {
            panic!("a gauge")
        };
        assert_eq!(value(&g.data_points[0]), 7.0);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let metrics = convert(
            "# TYPE x gauge\nx{a=\"unterminated} 1\nx 2\ny not-a-number\n",
            0,
            0,
        );
        let Some(metric::Data::Gauge(g)) = &metrics[0].data else {
            panic!("a gauge")
        };
        assert_eq!(g.data_points.len(), 1);
        assert_eq!(value(&g.data_points[0]), 2.0);
    }
}
