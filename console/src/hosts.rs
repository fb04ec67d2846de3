//! Hosts, read back from the metric topic: every host that reported within the window, its CPU
//! usage and memory as series for the charts, and its latest figures.
//!
//! A reader thread assigns itself every partition of the topic from the offsets of `window`
//! ago (ListOffsets by timestamp), so a console started late still draws the last hour, then
//! follows the topic. It joins no group and commits nothing: it is invisible to the groups it
//! shows. Records are decoded as the workers decode them (`model::record`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_client::librdkafka_log::QuietContext;
use model::{FieldValue, Metric};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

/// One point of a chart: (ms since the Unix epoch, value).
pub type Point = (i64, f64);

/// What every host reported within the window.
#[derive(Debug, Default)]
pub struct Hosts {
    by_name: BTreeMap<String, Host>,
    /// Records the reader could not decode (they are the workers' dead letters too).
    pub undecodable: u64,
}

/// One host's figures, as the page and `/api/console` show them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Host {
    pub host: String,
    /// Timestamp of its latest sample (ms).
    pub last_seen_ms: i64,
    /// `100 - usage_idle` of `cpu=cpu-total`, in percent.
    pub cpu_usage_percent: Option<f64>,
    /// `mem` `used_percent`.
    pub mem_used_percent: Option<f64>,
    pub mem_used_bytes: Option<f64>,
    pub mem_total_bytes: Option<f64>,
    /// Whether the charts show this host (the busiest [`CHARTED`]); the series of the others
    /// are left out of snapshots.
    pub charted: bool,
    /// The last `window` of CPU usage (percent), oldest first.
    pub cpu_series: VecDeque<Point>,
    /// The last `window` of memory used (percent), oldest first.
    pub mem_series: VecDeque<Point>,
}

impl Hosts {
    /// Takes one sample; those without a `host` tag, or of other measurements, are not a host's.
    pub fn add(&mut self, m: &Metric) {
        let Some(name) = m.tags.get("host") else { return };
        let ts = m.timestamp / 1_000_000;
        let field = |key: &str| match m.fields.get(key) {
            Some(FieldValue::Float(v)) => Some(*v),
            Some(FieldValue::Int(v)) => Some(*v as f64),
            Some(FieldValue::UInt(v)) => Some(*v as f64),
            _ => None,
        };
        let host = match (m.name.as_str(), m.tags.get("cpu").map(String::as_str)) {
            ("cpu", Some("cpu-total")) | ("mem", _) => self.by_name.entry(name.clone()).or_insert_with(|| Host {
                host: name.clone(),
                ..Host::default()
            }),
            _ => return,
        };
        let latest = ts >= host.last_seen_ms;
        if m.name == "cpu" {
            if let Some(idle) = field("usage_idle") {
                let usage = (100.0 - idle).clamp(0.0, 100.0);
                insert(&mut host.cpu_series, (ts, usage));
                if latest {
                    host.cpu_usage_percent = Some(usage);
                }
            }
        } else {
            if let Some(pct) = field("used_percent") {
                insert(&mut host.mem_series, (ts, pct));
            }
            if latest {
                host.mem_used_percent = field("used_percent").or(host.mem_used_percent);
                host.mem_used_bytes = field("used").or(host.mem_used_bytes);
                host.mem_total_bytes = field("total").or(host.mem_total_bytes);
            }
        }
        host.last_seen_ms = host.last_seen_ms.max(ts);
    }

    /// Drops points older than `since_ms`, and hosts with none left.
    pub fn prune(&mut self, since_ms: i64) {
        for h in self.by_name.values_mut() {
            while h.cpu_series.front().is_some_and(|p| p.0 < since_ms) {
                h.cpu_series.pop_front();
            }
            while h.mem_series.front().is_some_and(|p| p.0 < since_ms) {
                h.mem_series.pop_front();
            }
        }
        self.by_name.retain(|_, h| h.last_seen_ms >= since_ms);
    }

    /// Every host with its latest figures; the [`CHARTED`] busiest by CPU (then by name) also
    /// with their series, each thinned to at most [`CHART_POINTS`] points. A fleet of a
    /// thousand hosts is a table, not a thousand lines on a chart, and a snapshot is copied at
    /// every refresh.
    pub fn list(&self) -> Vec<Host> {
        let mut busiest: Vec<&Host> = self.by_name.values().collect();
        busiest.sort_by(|a, b| {
            let cpu = |h: &Host| h.cpu_usage_percent.unwrap_or(-1.0);
            cpu(b).total_cmp(&cpu(a)).then_with(|| a.host.cmp(&b.host))
        });
        busiest.truncate(CHARTED);
        self.by_name
            .values()
            .map(|h| {
                let charted = busiest.iter().any(|b| b.host == h.host);
                Host {
                    host: h.host.clone(),
                    last_seen_ms: h.last_seen_ms,
                    cpu_usage_percent: h.cpu_usage_percent,
                    mem_used_percent: h.mem_used_percent,
                    mem_used_bytes: h.mem_used_bytes,
                    mem_total_bytes: h.mem_total_bytes,
                    charted,
                    cpu_series: if charted { thin(&h.cpu_series) } else { VecDeque::new() },
                    mem_series: if charted { thin(&h.mem_series) } else { VecDeque::new() },
                }
            })
            .collect()
    }
}

/// How many hosts the charts show: the busiest by CPU.
pub const CHARTED: usize = 10;
/// The most points a charted series carries: more than a 640-pixel chart can show apart.
pub const CHART_POINTS: usize = 240;

/// Every n-th point of `series`, so that at most [`CHART_POINTS`] are left, the newest kept.
fn thin(series: &VecDeque<Point>) -> VecDeque<Point> {
    let step = series.len().div_ceil(CHART_POINTS).max(1);
    let last = series.len().saturating_sub(1);
    series
        .iter()
        .enumerate()
        .filter(|(i, _)| (last - i) % step == 0)
        .map(|(_, p)| *p)
        .collect()
}

/// Keeps `series` in time order with one point per timestamp: an agent's retry or a record read
/// twice replaces its point instead of adding one.
fn insert(series: &mut VecDeque<Point>, point: Point) {
    match series.back() {
        Some(last) if last.0 < point.0 => series.push_back(point),
        None => series.push_back(point),
        Some(_) => match series.binary_search_by_key(&point.0, |p| p.0) {
            Ok(i) => series[i] = point,
            Err(i) => series.insert(i, point),
        },
    }
}

/// Reads the metric topic into `hosts` until `stop`.
pub struct Reader {
    pub bootstrap: String,
    pub topic: String,
    pub window: Duration,
    pub hosts: Arc<Mutex<Hosts>>,
    pub stop: Arc<AtomicBool>,
}

impl Reader {
    /// Runs on the calling thread (librdkafka's calls block).
    pub fn run(self) {
        let mut warned = false;
        while !self.stop.load(Ordering::Relaxed) {
            match self.follow() {
                Ok(()) => return,
                Err(e) => {
                    if !warned {
                        tracing::warn!(topic = %self.topic, error = %e, "console: cannot read the metric topic; retrying");
                        warned = true;
                    }
                    let until = Instant::now() + Duration::from_secs(2);
                    while Instant::now() < until && !self.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }
    }

    /// Assigns every partition from `window` ago and reads until `stop`.
    fn follow(&self) -> Result<(), rdkafka::error::KafkaError> {
        let consumer: BaseConsumer<QuietContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("client.id", "sluice-console")
            .set("group.id", "sluice-console")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("log_level", "3")
            .create_with_context(QuietContext)?;
        let timeout = Duration::from_secs(5);
        let md = consumer.fetch_metadata(Some(&self.topic), timeout)?;
        let partitions: Vec<i32> = md
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let since_ms = crate::unix_now_ms() - self.window.as_millis() as i64;
        let mut wanted = TopicPartitionList::new();
        for p in &partitions {
            wanted.add_partition_offset(&self.topic, *p, Offset::Offset(since_ms))?;
        }
        // Offsets for a timestamp; a partition with nothing that recent answers its end.
        let start = consumer.offsets_for_times(wanted, timeout)?;
        consumer.assign(&start)?;
        tracing::debug!(topic = %self.topic, partitions = partitions.len(), "console: reading the metric topic");
        let mut last_prune = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            let Some(polled) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let Ok(msg) = polled else { continue };
            let decoded = msg.payload().map(model::record::decode);
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            match decoded {
                Some(Ok(metrics)) => metrics.iter().for_each(|m| hosts.add(m)),
                _ => hosts.undecodable += 1,
            }
            if last_prune.elapsed() > Duration::from_secs(10) {
                hosts.prune(crate::unix_now_ms() - self.window.as_millis() as i64);
                last_prune = Instant::now();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(host: &str, ts_ms: i64, idle: f64) -> Metric {
        Metric::new("cpu", ts_ms * 1_000_000)
            .tag("cpu", "cpu-total")
            .tag("host", host)
            .field("usage_idle", idle)
    }

    #[test]
    fn only_the_busiest_hosts_carry_series_thinned_to_what_a_chart_shows() {
        let mut hosts = Hosts::default();
        for h in 0..(CHARTED + 5) {
            for t in 0..(CHART_POINTS as i64 * 3 + 1) {
                hosts.add(&cpu(&format!("h{h:02}"), 1_000 * t, 100.0 - h as f64));
            }
        }
        let list = hosts.list();
        assert_eq!(list.len(), CHARTED + 5);
        let charted: Vec<&str> = list.iter().filter(|h| h.charted).map(|h| h.host.as_str()).collect();
        assert_eq!(charted.len(), CHARTED);
        assert!(
            charted.iter().all(|h| h[1..].parse::<usize>().unwrap() >= 5),
            "{charted:?}"
        );
        let busy = list.iter().find(|h| h.host == "h14").unwrap();
        assert!(busy.cpu_series.len() <= CHART_POINTS && busy.cpu_series.len() > CHART_POINTS / 2);
        assert_eq!(
            busy.cpu_series.back().unwrap().0,
            1_000 * CHART_POINTS as i64 * 3,
            "the newest kept"
        );
        assert!(list.iter().find(|h| h.host == "h00").unwrap().cpu_series.is_empty());
    }

    #[test]
    fn cpu_usage_is_what_is_not_idle_and_series_stay_ordered_without_duplicates() {
        let mut hosts = Hosts::default();
        hosts.add(&cpu("a", 2_000, 90.0));
        hosts.add(&cpu("a", 1_000, 80.0));
        hosts.add(&cpu("a", 2_000, 70.0)); // a retry of the 2 s sample
        hosts.add(
            &Metric::new("cpu", 3_000_000_000)
                .tag("cpu", "cpu0")
                .tag("host", "a")
                .field("usage_idle", 1.0),
        );
        hosts.add(
            &Metric::new("mem", 2_500_000_000)
                .tag("host", "a")
                .field("used_percent", 41.5)
                .field("used", 4_150_i64)
                .field("total", 10_000_u64),
        );
        hosts.add(&Metric::new("disk", 1).tag("host", "b").field("free", 1.0));
        let list = hosts.list();
        assert_eq!(list.len(), 1, "only cpu-total and mem make a host");
        let a = &list[0];
        assert_eq!(a.cpu_series, VecDeque::from([(1_000, 20.0), (2_000, 30.0)]));
        assert_eq!(a.cpu_usage_percent, Some(30.0));
        assert_eq!(a.mem_series, VecDeque::from([(2_500, 41.5)]));
        assert_eq!((a.mem_used_bytes, a.mem_total_bytes), (Some(4_150.0), Some(10_000.0)));
        assert_eq!(a.last_seen_ms, 2_500);

        hosts.prune(1_500);
        assert_eq!(hosts.list()[0].cpu_series, VecDeque::from([(2_000, 30.0)]));
        hosts.prune(3_000);
        assert!(hosts.list().is_empty());
    }
}
