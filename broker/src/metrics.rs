//! The broker's metrics, served with `/health` at `sluice.http.listen` (port 9644 by default,
//! README.md#ports).
//!
//! Every name is declared here, with the `sluice_broker_` prefix and Prometheus conventions
//! (`_total` counters, base units). The Kafka JMX exporter equivalent is noted beside each where
//! one is well known, so a Kafka dashboard can be ported by renaming.
//!
//! Cost on the hot paths is a few relaxed atomic adds per request or per partition of a request,
//! never per record and never a lock or a map lookup: a request's counter is picked by its API
//! key from a table, and each partition carries its own [`PartitionStats`](crate::cluster::stats::PartitionStats). Everything per topic
//! or per partition (offsets, sizes, the sums of those stats) is computed only when Prometheus
//! scrapes, by [`TopicsCollector`]; group states are refreshed by a small task
//! ([`GROUP_REFRESH`]) because the coordinator answers only asynchronously.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::cluster::topics::Topic;

/// How often `sluice_broker_consumer_groups` is refreshed from the coordinator.
pub const GROUP_REFRESH: Duration = Duration::from_secs(5);

/// Kafka's group states (KIP-848 names aside), always exported so a state can read 0.
const GROUP_STATES: &[&str] = &["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"];

/// Why a connection was closed because of what the client sent.
#[derive(Debug, Clone, Copy)]
pub enum BadRequest {
    /// A frame size outside the limits, or a frame cut short.
    Frame,
    /// A request that could not be decoded, or an API this broker does not offer.
    Request,
    /// A TLS handshake that failed or never came.
    Tls,
    /// A failed SASL exchange, or a request before authentication.
    Authentication,
    /// A request (or part of one) the user's grants do not allow.
    Authorization,
}

/// The broker-wide metrics; per-topic ones come from [`TopicsCollector`].
pub struct Metrics {
    pub registry: Registry,
    /// Indexed by API key; None for keys the broker does not answer.
    requests: Vec<Option<IntCounter>>,
    bad_frames: IntCounter,
    bad_requests: IntCounter,
    bad_tls: IntCounter,
    bad_authentication: IntCounter,
    bad_authorization: IntCounter,
    connections: IntGauge,
    connections_accepted: IntCounter,
    connections_refused: IntCounter,
    groups: IntGaugeVec,
    /// Log cleanings installed, records they removed, bytes they read and wrote.
    cleanings: IntCounter,
    cleaned_records: IntCounter,
    cleaned_bytes: IntCounterVec,
    /// Transactions ended, by outcome.
    transactions: IntCounterVec,
    accepting: AtomicBool,
}

/// How a transaction ended, as `sluice_broker_transactions_total` labels it.
pub const TRANSACTION_OUTCOMES: [&str; 4] = ["commit", "abort", "timeout", "fenced"];

impl Metrics {
    pub fn new(handled: impl IntoIterator<Item = ApiKey>) -> Metrics {
        let registry = Registry::new();
        // Kafka: kafka_network_requestmetrics_requests_total{request}.
        let requests_vec = register(
            &registry,
            IntCounterVec::new(
                Opts::new("sluice_broker_requests_total", "Requests answered, by API"),
                &["api"],
            ),
        );
        let mut requests = Vec::new();
        for key in handled {
            let i = key as usize;
            if requests.len() <= i {
                requests.resize(i + 1, None);
            }
            requests[i] = Some(requests_vec.with_label_values(&[format!("{key:?}").as_str()]));
        }
        let bad = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "sluice_broker_bad_requests_total",
                    "Refused client input: connections closed for a frame outside the size limits or cut \
                     short (frame), a request that cannot be decoded or is not offered (request), a failed TLS \
                     handshake (tls), a failed SASL authentication or a request before it (authentication); \
                     and requests or parts of them answered with an authorization error (authorization)",
                ),
                &["reason"],
            ),
        );
        let groups = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "sluice_broker_consumer_groups",
                    "Consumer groups by state (refreshed every 5 s)",
                ),
                &["state"],
            ),
        );
        for state in GROUP_STATES {
            groups.with_label_values(&[state]).set(0);
        }
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help));
        let cleaned_bytes = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "sluice_broker_log_cleaner_bytes_total",
                    "Bytes of segments the log cleaner read and wrote (stage = read, written)",
                ),
                &["stage"],
            ),
        );
        let transactions = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "sluice_broker_transactions_total",
                    "Transactions ended: committed, aborted by the producer, aborted at their timeout, \
                     aborted because a new producer of the transactional id fenced the old one",
                ),
                &["outcome"],
            ),
        );
        for outcome in TRANSACTION_OUTCOMES {
            transactions.with_label_values(&[outcome]).reset();
        }
        Metrics {
            requests,
            bad_frames: bad.with_label_values(&["frame"]),
            bad_requests: bad.with_label_values(&["request"]),
            bad_tls: bad.with_label_values(&["tls"]),
            bad_authentication: bad.with_label_values(&["authentication"]),
            bad_authorization: bad.with_label_values(&["authorization"]),
            connections: register(
                &registry,
                IntGauge::new("sluice_broker_connections", "Open client connections"),
            ),
            connections_accepted: register(
                &registry,
                IntCounter::new(
                    "sluice_broker_connections_accepted_total",
                    "Client connections accepted",
                ),
            ),
            // Kafka: kafka_network_acceptor_... has no count; its log says "Rejected connection".
            connections_refused: register(
                &registry,
                IntCounter::new(
                    "sluice_broker_connections_refused_total",
                    "Connections closed at once because their address had max.connections.per.ip open",
                ),
            ),
            groups,
            cleanings: counter(
                "sluice_broker_log_cleaner_cleanings_total",
                "Cleanings of compacted partitions installed",
            ),
            cleaned_records: counter(
                "sluice_broker_log_cleaner_records_removed_total",
                "Records compaction removed: superseded, expired tombstones, aborted, keyless",
            ),
            cleaned_bytes,
            transactions,
            accepting: AtomicBool::new(false),
            registry,
        }
    }

    /// A cleaning was installed.
    pub fn cleaned(&self, stats: &crate::log::CleanStats) {
        self.cleanings.inc();
        self.cleaned_records.inc_by(stats.records_removed);
        self.cleaned_bytes.with_label_values(&["read"]).inc_by(stats.bytes_read);
        self.cleaned_bytes
            .with_label_values(&["written"])
            .inc_by(stats.bytes_written);
    }

    /// A transaction ended; `outcome` is one of [`TRANSACTION_OUTCOMES`].
    pub fn transaction_ended(&self, outcome: &str) {
        self.transactions.with_label_values(&[outcome]).inc();
    }

    /// Adds the per-topic and per-partition families, read from the topics `list` returns at
    /// scrape time.
    pub fn watch_topics(&self, list: impl Fn() -> Vec<Arc<Topic>> + Send + Sync + 'static) {
        let _ = self.registry.register(Box::new(TopicsCollector::new(Box::new(list))));
    }

    pub fn request(&self, api_key: i16) {
        if let Some(Some(c)) = usize::try_from(api_key).ok().and_then(|i| self.requests.get(i)) {
            c.inc();
        }
    }

    pub fn bad_request(&self, why: BadRequest) {
        match why {
            BadRequest::Frame => self.bad_frames.inc(),
            BadRequest::Request => self.bad_requests.inc(),
            BadRequest::Tls => self.bad_tls.inc(),
            BadRequest::Authentication => self.bad_authentication.inc(),
            BadRequest::Authorization => self.bad_authorization.inc(),
        }
    }

    /// Counts an accepted connection as open until the guard drops.
    pub fn connection_opened(&self) -> OpenConnection {
        self.connections_accepted.inc();
        self.connections.inc();
        OpenConnection(self.connections.clone())
    }

    /// A connection closed at once: its address was at `max.connections.per.ip`.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Whether the Kafka listener is accepting connections (what `/health` reports).
    pub fn set_accepting(&self, accepting: bool) {
        self.accepting.store(accepting, Ordering::Relaxed);
    }

    pub fn accepting(&self) -> bool {
        self.accepting.load(Ordering::Relaxed)
    }

    /// Sets the group-state gauges from the states of every group.
    pub fn set_group_states<'a>(&self, states: impl IntoIterator<Item = &'a str>) {
        let mut counts: Vec<(&str, i64)> = GROUP_STATES.iter().map(|s| (*s, 0)).collect();
        for state in states {
            match counts.iter_mut().find(|(s, _)| *s == state) {
                Some((_, n)) => *n += 1,
                None => counts.push((state, 1)),
            }
        }
        for (state, n) in counts {
            self.groups.with_label_values(&[state]).set(n);
        }
    }
}

/// Decrements `sluice_broker_connections` when the connection ends, however it ends.
pub struct OpenConnection(IntGauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

// Names and labels are constants of this file, and each is registered once in a new registry,
// so neither step can fail on anything but a bug that every test would show.
#[allow(clippy::expect_used)]
fn register<C: Collector + Clone + 'static>(registry: &Registry, c: prometheus::Result<C>) -> C {
    let c = c.expect("metric definitions are valid");
    registry.register(Box::new(c.clone())).expect("metric names are unique");
    c
}

/// What lists the topics at scrape time.
type TopicList = Box<dyn Fn() -> Vec<Arc<Topic>> + Send + Sync>;

/// Per-topic counters and per-partition gauges, computed from the topic registry at scrape time.
pub struct TopicsCollector {
    topics: TopicList,
    descs: Vec<Desc>,
}

/// (name, help, labels, is a counter).
const TOPIC_FAMILIES: &[(&str, &str, &[&str], bool)] = &[
    // Kafka: kafka_server_brokertopicmetrics_messagesin_total{topic}.
    (
        "sluice_broker_produced_records_total",
        "Records stored by Produce (producer retries of stored batches excluded)",
        &["topic"],
        true,
    ),
    // Kafka: kafka_server_brokertopicmetrics_bytesin_total{topic}.
    (
        "sluice_broker_produced_bytes_total",
        "Record-batch bytes stored by Produce",
        &["topic"],
        true,
    ),
    (
        "sluice_broker_fetched_records_total",
        "Records in the batches returned by Fetch",
        &["topic"],
        true,
    ),
    // Kafka: kafka_server_brokertopicmetrics_bytesout_total{topic}.
    (
        "sluice_broker_fetched_bytes_total",
        "Record-batch bytes returned by Fetch",
        &["topic"],
        true,
    ),
    // Kafka: kafka_log_logflushstats_logflushrateandtimems (a count of flushes).
    (
        "sluice_broker_log_fsyncs_total",
        "Fsyncs acks=all producers and offset commits waited for; each covers every batch appended before it (group commit)",
        &["topic"],
        true,
    ),
    ("sluice_broker_partitions", "Partitions per topic", &["topic"], false),
    // Kafka: kafka_log_log_logendoffset{topic,partition}.
    (
        "sluice_broker_log_end_offset",
        "Log end offset (high watermark) of each partition",
        &["topic", "partition"],
        false,
    ),
    // Kafka: kafka_log_log_logstartoffset{topic,partition}.
    (
        "sluice_broker_log_start_offset",
        "Log start offset of each partition",
        &["topic", "partition"],
        false,
    ),
    // Kafka: kafka_log_log_size{topic,partition}.
    (
        "sluice_broker_log_size_bytes",
        "Bytes of all segments of each partition",
        &["topic", "partition"],
        false,
    ),
];

impl TopicsCollector {
    fn new(topics: TopicList) -> TopicsCollector {
        // A family whose constant definition were invalid would simply not be described.
        let descs = TOPIC_FAMILIES
            .iter()
            .filter_map(|(name, help, labels, _)| {
                let labels = labels.iter().map(|l| l.to_string()).collect();
                Desc::new(name.to_string(), help.to_string(), labels, Default::default()).ok()
            })
            .collect();
        TopicsCollector { topics, descs }
    }
}

impl Collector for TopicsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        // Fresh vectors per scrape: topics come and go, and a deleted one must disappear.
        let counters: Result<Vec<IntCounterVec>, _> = TOPIC_FAMILIES[..5]
            .iter()
            .map(|(name, help, labels, _)| IntCounterVec::new(Opts::new(*name, *help), labels))
            .collect();
        let gauges: Result<Vec<IntGaugeVec>, _> = TOPIC_FAMILIES[5..]
            .iter()
            .map(|(name, help, labels, _)| IntGaugeVec::new(Opts::new(*name, *help), labels))
            .collect();
        // The definitions are constants (the unit tests scrape every family); a bad one would
        // leave these families out of the scrape, not stop it.
        let (Ok(counters), Ok(gauges)) = (counters, gauges) else {
            return Vec::new();
        };
        for topic in (self.topics)() {
            let t = topic.name.as_str();
            let mut sums = [0u64; 5];
            for p in &topic.partitions {
                let s = &p.stats;
                for (sum, v) in sums.iter_mut().zip([
                    &s.produced_records,
                    &s.produced_bytes,
                    &s.fetched_records,
                    &s.fetched_bytes,
                    &s.fsyncs,
                ]) {
                    *sum += v.load(Ordering::Relaxed);
                }
                let index = p.index.to_string();
                let (start, end) = p.offsets();
                gauges[1].with_label_values(&[t, index.as_str()]).set(end);
                gauges[2].with_label_values(&[t, index.as_str()]).set(start);
                gauges[3]
                    .with_label_values(&[t, index.as_str()])
                    .set(p.size_bytes().min(i64::MAX as u64) as i64);
            }
            for (family, sum) in counters.iter().zip(sums) {
                family.with_label_values(&[t]).inc_by(sum);
            }
            gauges[0].with_label_values(&[t]).set(topic.partitions.len() as i64);
        }
        counters
            .iter()
            .flat_map(|c| c.collect())
            .chain(gauges.iter().flat_map(|g| g.collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_api_name_and_unknown_keys_are_ignored() {
        let m = Metrics::new([ApiKey::Produce, ApiKey::Fetch]);
        m.request(ApiKey::Fetch as i16);
        m.request(ApiKey::Fetch as i16);
        m.request(-1);
        m.request(999);
        let text = gather(&m.registry);
        assert!(
            text.contains("sluice_broker_requests_total{api=\"Fetch\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("sluice_broker_requests_total{api=\"Produce\"} 0\n"),
            "{text}"
        );
    }

    #[test]
    fn connections_are_open_until_their_guard_drops() {
        let m = Metrics::new([]);
        let a = m.connection_opened();
        let _b = m.connection_opened();
        drop(a);
        let text = gather(&m.registry);
        assert!(text.contains("\nsluice_broker_connections 1\n"), "{text}");
        assert!(
            text.contains("\nsluice_broker_connections_accepted_total 2\n"),
            "{text}"
        );
    }

    #[test]
    fn every_group_state_is_exported_even_at_zero() {
        let m = Metrics::new([]);
        m.set_group_states(["Stable", "Stable", "Empty"]);
        m.set_group_states(["Stable"]);
        let text = gather(&m.registry);
        assert!(
            text.contains("sluice_broker_consumer_groups{state=\"Stable\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("sluice_broker_consumer_groups{state=\"Empty\"} 0\n"),
            "{text}"
        );
    }

    fn gather(registry: &Registry) -> String {
        use prometheus::Encoder;
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }
}
