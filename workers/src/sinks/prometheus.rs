//! `type = "prometheus"`: the latest value of every series, served with the worker's own
//! metrics at `metrics_listen` (127.0.0.1:9274 by default) `/metrics`, the way Telegraf's
//! `prometheus_client` output serves them:
//!
//! - one gauge per numeric field, named `<measurement>_<field>` (`cpu_usage_idle`,
//!   `mem_available_percent`); booleans are 1 or 0, string fields are not exported;
//! - the tags are the labels (`cpu="cpu-total",host="web-1"`);
//! - characters Prometheus does not allow in names become `_`;
//! - a series not refreshed within `expiration_interval` is dropped, so a host that stopped
//!   sending disappears instead of showing its last value for ever.
//!
//! Every consumer instance of the sink writes into one shared table, registered once as a
//! collector of the worker's registry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::prometheus::core::{Collector, Desc};
use ::prometheus::proto::{Gauge, LabelPair, MetricFamily, MetricType};
use model::{FieldValue, Metric};
use serde::Deserialize;

use super::{Sink, SinkFuture};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    pub name: String,
    /// Drop a series this long after its last sample arrived (Telegraf's default: 60s).
    #[serde(default = "default_expiration", deserialize_with = "kafka_client::duration")]
    pub expiration_interval: Duration,
}

fn default_expiration() -> Duration {
    Duration::from_secs(60)
}

/// One series: metric name and sorted label pairs.
type SeriesKey = (String, Vec<(String, String)>);

struct Sample {
    value: f64,
    /// The sample's own time (ns): a redelivered older sample does not overwrite a newer one.
    sample_ns: i64,
    arrived: Instant,
}

/// The latest value of every series, shared by the sink's consumers and read by scrapes.
pub struct LatestValues {
    series: Mutex<HashMap<SeriesKey, Sample>>,
    expiration: Duration,
    /// Measurement and field of each metric name, for HELP.
    origin: Mutex<HashMap<String, String>>,
}

impl LatestValues {
    pub fn new(expiration: Duration) -> Arc<Self> {
        Arc::new(LatestValues {
            series: Mutex::new(HashMap::new()),
            expiration,
            origin: Mutex::new(HashMap::new()),
        })
    }

    fn record(&self, batch: &[Metric]) {
        let now = Instant::now();
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut origin = self.origin.lock().unwrap_or_else(|p| p.into_inner());
        for m in batch {
            let labels = labels(m);
            for (name, field, value) in gauges(m) {
                if !origin.contains_key(&name) {
                    origin.insert(name.clone(), format!("{}.{field}", m.name));
                }
                let key = (name, labels.clone());
                match series.get_mut(&key) {
                    Some(s) if s.sample_ns > m.timestamp => s.arrived = now,
                    Some(s) => {
                        *s = Sample {
                            value,
                            sample_ns: m.timestamp,
                            arrived: now,
                        }
                    }
                    None => {
                        series.insert(
                            key,
                            Sample {
                                value,
                                sample_ns: m.timestamp,
                                arrived: now,
                            },
                        );
                    }
                }
            }
        }
    }

    /// Drops expired series and returns the rest as gauge families, sorted by name.
    fn families(&self) -> Vec<MetricFamily> {
        let now = Instant::now();
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series.retain(|_, s| now.duration_since(s.arrived) < self.expiration);
        let origin = self.origin.lock().unwrap_or_else(|p| p.into_inner());
        let mut by_name: BTreeMap<&str, MetricFamily> = BTreeMap::new();
        for ((name, labels), sample) in series.iter() {
            let family = by_name.entry(name).or_insert_with(|| {
                let mut f = MetricFamily::default();
                f.set_name(name.clone());
                let from = origin.get(name).map(String::as_str).unwrap_or(name);
                f.set_help(format!("Latest {from} from the metric topic (sluice prometheus sink)"));
                f.set_field_type(MetricType::GAUGE);
                f
            });
            let mut gauge = Gauge::default();
            gauge.set_value(sample.value);
            let mut metric = ::prometheus::proto::Metric::default();
            metric.set_label(
                labels
                    .iter()
                    .map(|(k, v)| {
                        let mut pair = LabelPair::default();
                        pair.set_name(k.clone());
                        pair.set_value(v.clone());
                        pair
                    })
                    .collect(),
            );
            metric.set_gauge(gauge);
            family.mut_metric().push(metric);
        }
        by_name.into_values().collect()
    }

    /// Series currently held (after dropping expired ones).
    pub fn len(&self) -> usize {
        self.families().iter().map(|f| f.get_metric().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Registered in the worker's registry: scrapes see the table as it is at that moment.
pub struct LatestValuesCollector(pub Arc<LatestValues>);

impl Collector for LatestValuesCollector {
    /// The series are not known in advance, so nothing is declared; the registry accepts one
    /// such collector, and a worker has at most one prometheus sink.
    fn desc(&self) -> Vec<&Desc> {
        Vec::new()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0.families()
    }
}

pub struct PrometheusSink {
    values: Arc<LatestValues>,
}

impl PrometheusSink {
    pub fn new(values: Arc<LatestValues>) -> Self {
        PrometheusSink { values }
    }
}

impl Sink for PrometheusSink {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a> {
        self.values.record(batch);
        Box::pin(async { Ok(()) })
    }
}

/// The labels of `m`'s series: its tags, names made valid, sorted by name. Shared with the
/// remote_write sink, so that a series has one name whichever sink carries it.
pub(super) fn labels(m: &Metric) -> Vec<(String, String)> {
    // Tags are sorted by key; sanitizing can reorder or merge them, so sort again.
    let mut l: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &m.tags {
        l.insert(label_name(k), v.clone());
    }
    l.into_iter().collect()
}

/// Every numeric field of `m` as (metric name `<measurement>_<field>`, field, value): booleans
/// are 1 or 0, string fields are left out. Shared with the remote_write sink.
pub(super) fn gauges(m: &Metric) -> impl Iterator<Item = (String, &str, f64)> + '_ {
    m.fields.iter().filter_map(|(field, value)| {
        let value = match value {
            FieldValue::Float(f) => *f,
            FieldValue::Int(i) => *i as f64,
            FieldValue::UInt(u) => *u as f64,
            FieldValue::Bool(b) => f64::from(u8::from(*b)),
            FieldValue::String(_) => return None,
        };
        Some((metric_name(&format!("{}_{field}", m.name)), field.as_str(), value))
    })
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: anything else becomes `_`.
fn metric_name(raw: &str) -> String {
    sanitize(raw, |c, first| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
    })
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: anything else becomes `_`.
fn label_name(raw: &str) -> String {
    sanitize(raw, |c, first| {
        c.is_ascii_alphabetic() || c == '_' || (!first && c.is_ascii_digit())
    })
}

fn sanitize(raw: &str, allowed: impl Fn(char, bool) -> bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for (i, c) in raw.chars().enumerate() {
        if allowed(c, i == 0) {
            out.push(c);
        } else if i == 0 && c.is_ascii_digit() {
            out.push('_');
            out.push(c);
        } else {
            out.push('_');
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &LatestValues) -> String {
        let mut out = String::new();
        ::prometheus::TextEncoder::new()
            .encode_utf8(&values.families(), &mut out)
            .unwrap();
        out
    }

    #[test]
    fn fields_become_gauges_named_measurement_field_with_tags_as_labels() {
        let v = LatestValues::new(Duration::from_secs(60));
        v.record(&[Metric::new("cpu", 10)
            .tag("host", "web-1")
            .tag("cpu", "cpu-total")
            .field("usage_idle", 97.5)
            .field("usage_user", 1i64)
            .field("ok", true)
            .field("note", "text")]);
        let t = text(&v);
        assert!(t.contains("# TYPE cpu_usage_idle gauge\n"), "{t}");
        assert!(
            t.contains("cpu_usage_idle{cpu=\"cpu-total\",host=\"web-1\"} 97.5\n"),
            "{t}"
        );
        assert!(
            t.contains("cpu_usage_user{cpu=\"cpu-total\",host=\"web-1\"} 1\n"),
            "{t}"
        );
        assert!(t.contains("cpu_ok{cpu=\"cpu-total\",host=\"web-1\"} 1\n"), "{t}");
        assert!(!t.contains("note"), "string fields are not exported: {t}");
    }

    #[test]
    fn the_newest_sample_wins_even_when_an_older_one_is_redelivered() {
        let v = LatestValues::new(Duration::from_secs(60));
        v.record(&[Metric::new("mem", 20).tag("host", "a").field("used", 2.0)]);
        v.record(&[Metric::new("mem", 10).tag("host", "a").field("used", 1.0)]);
        assert!(text(&v).contains("mem_used{host=\"a\"} 2\n"));
        v.record(&[Metric::new("mem", 30).tag("host", "a").field("used", 3.0)]);
        assert!(text(&v).contains("mem_used{host=\"a\"} 3\n"));
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn series_not_refreshed_within_the_expiration_interval_are_dropped() {
        let v = LatestValues::new(Duration::from_millis(50));
        v.record(&[Metric::new("mem", 1).tag("host", "gone").field("used", 1.0)]);
        assert_eq!(v.len(), 1);
        std::thread::sleep(Duration::from_millis(80));
        v.record(&[Metric::new("mem", 2).tag("host", "alive").field("used", 1.0)]);
        let t = text(&v);
        assert!(t.contains("host=\"alive\""), "{t}");
        assert!(!t.contains("host=\"gone\""), "{t}");
    }

    #[test]
    fn names_and_label_names_are_made_valid_and_label_values_escaped() {
        assert_eq!(metric_name("disk.io_read-bytes"), "disk_io_read_bytes");
        assert_eq!(metric_name("9p_x"), "_9p_x");
        assert_eq!(label_name("a:b"), "a_b");
        assert_eq!(label_name(""), "_");
        let v = LatestValues::new(Duration::from_secs(60));
        v.record(&[Metric::new("m", 1).tag("path", "C:\\x \"q\"\n").field("f", 1.0)]);
        assert!(text(&v).contains(r#"m_f{path="C:\\x \"q\"\n"} 1"#), "{}", text(&v));
    }
}
