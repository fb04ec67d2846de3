//! A batch of metrics as one remote write request: the series the prometheus sink would serve,
//! each with every sample the batch holds for it, at the agent's own sample times.

use std::collections::BTreeMap;

use model::Metric;

use super::wire::{Label, Sample, TimeSeries, WriteRequest};
use crate::sinks::prometheus::{gauges, labels};

/// The label that carries a series' metric name.
const NAME: &str = "__name__";

/// One time series per metric name and label set. The spec asks for labels sorted by name
/// and unique, no empty label values, and each series' samples in time order (Prometheus
/// refuses a sample older than the last one it holds for the series).
pub(super) fn write_request(batch: &[Metric]) -> WriteRequest {
    let mut series: BTreeMap<Vec<(String, String)>, Vec<Sample>> = BTreeMap::new();
    for m in batch {
        // A line-protocol timestamp is nanoseconds; remote write's is milliseconds.
        let timestamp = m.timestamp.div_euclid(1_000_000);
        // The metric name wins over a tag that sanitizes to `__name__`; an empty tag value is
        // no label at all in Prometheus.
        let tags: Vec<(String, String)> = labels(m)
            .into_iter()
            .filter(|(k, v)| k != NAME && !v.is_empty())
            .collect();
        for (name, _field, value) in gauges(m) {
            let mut key = Vec::with_capacity(tags.len() + 1);
            key.push((NAME.to_string(), name));
            key.extend(tags.iter().cloned());
            // `__name__` sorts after upper-case tag names and before lower-case ones.
            key.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            series.entry(key).or_default().push(Sample { value, timestamp });
        }
    }
    let timeseries = series
        .into_iter()
        .map(|(key, mut samples)| {
            // Stable: samples of one partition keep their order when their times are equal.
            samples.sort_by_key(|s| s.timestamp);
            TimeSeries {
                labels: key.into_iter().map(|(name, value)| Label { name, value }).collect(),
                samples,
            }
        })
        .collect();
    WriteRequest { timeseries }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (labels as `k=v,…`, [(ms, value)]) of every series, for short assertions.
    fn flat(r: &WriteRequest) -> Vec<(String, Vec<(i64, f64)>)> {
        r.timeseries
            .iter()
            .map(|ts| {
                let labels: Vec<String> = ts.labels.iter().map(|l| format!("{}={}", l.name, l.value)).collect();
                let samples = ts.samples.iter().map(|s| (s.timestamp, s.value)).collect();
                (labels.join(","), samples)
            })
            .collect()
    }

    #[test]
    fn series_are_named_as_the_prometheus_sink_names_them_at_the_sample_time_in_ms() {
        let t = 1_765_000_000_123_456_789;
        let r = write_request(&[Metric::new("cpu", t)
            .tag("host", "web-1")
            .tag("cpu", "cpu-total")
            .field("usage_idle", 97.5)
            .field("ok", true)
            .field("note", "text")]);
        assert_eq!(
            flat(&r),
            vec![
                (
                    "__name__=cpu_ok,cpu=cpu-total,host=web-1".to_string(),
                    vec![(1_765_000_000_123, 1.0)]
                ),
                (
                    "__name__=cpu_usage_idle,cpu=cpu-total,host=web-1".to_string(),
                    vec![(1_765_000_000_123, 97.5)]
                ),
            ],
            "string fields are left out"
        );
    }

    #[test]
    fn samples_of_one_series_are_gathered_in_time_order() {
        let r = write_request(&[
            Metric::new("mem", 3_000_000).tag("host", "a").field("used", 3i64),
            Metric::new("mem", 1_000_000).tag("host", "a").field("used", 1i64),
            Metric::new("mem", 2_000_000).tag("host", "b").field("used", 2u64),
        ]);
        assert_eq!(
            flat(&r),
            vec![
                ("__name__=mem_used,host=a".to_string(), vec![(1, 1.0), (3, 3.0)]),
                ("__name__=mem_used,host=b".to_string(), vec![(2, 2.0)]),
            ]
        );
    }

    #[test]
    fn labels_are_sorted_by_name_unique_and_never_empty() {
        let r = write_request(&[Metric::new("disk.io", 0)
            .tag("Zone", "z")
            .tag("__name__", "sneaky")
            .tag("empty", "")
            .tag("a-b", "1")
            .field("reads", 5.0)]);
        assert_eq!(
            flat(&r),
            vec![("Zone=z,__name__=disk_io_reads,a_b=1".to_string(), vec![(0, 5.0)])]
        );
    }

    #[test]
    fn a_batch_without_numeric_fields_makes_an_empty_request() {
        let r = write_request(&[Metric::new("log", 1).field("message", "hi")]);
        assert!(r.timeseries.is_empty());
    }
}
