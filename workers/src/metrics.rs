//! Every metric the workers publish, declared here and nowhere else.

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// `sluice_worker_records_delivered_total{sink}`: Kafka records a sink acknowledged.
    pub delivered: IntCounterVec,
    /// `sluice_worker_dead_letter_records_total{sink,reason}`: records sent to the dead-letter
    /// topic; reason is `decode` (never parses) or `rejected` (the sink refused it for good).
    pub dead_letter: IntCounterVec,
    /// `sluice_worker_records_lost_total{agent}`: gaps in an agent's `sluice-seq`.
    pub lost: IntCounterVec,
    /// `sluice_worker_records_duplicate_total{agent}`: sequence numbers seen again.
    pub duplicate: IntCounterVec,
    /// `sluice_worker_sink_retries_total{sink}`: transient sink failures, each followed by a retry.
    pub retries: IntCounterVec,
    /// `sluice_worker_sample_age_seconds{sink}`: sample time to sink acknowledgement.
    pub sample_age: HistogramVec,
    /// `sluice_worker_records_lag_max{sink}`: high watermark minus the position of the next
    /// record the worker will be handed, the maximum over this process's assigned partitions.
    pub records_lag_max: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric name");
            registry.register(Box::new(c.clone())).expect("registered once");
            c
        };
        let delivered = counter(
            "sluice_worker_records_delivered_total",
            "Kafka records a sink acknowledged",
            &["sink"],
        );
        let dead_letter = counter(
            "sluice_worker_dead_letter_records_total",
            "Records sent to the dead-letter topic",
            &["sink", "reason"],
        );
        let lost = counter(
            "sluice_worker_records_lost_total",
            "Records missing from an agent's sequence",
            &["agent"],
        );
        let duplicate = counter(
            "sluice_worker_records_duplicate_total",
            "Records whose sequence number was already seen",
            &["agent"],
        );
        let retries = counter(
            "sluice_worker_sink_retries_total",
            "Transient sink failures, each followed by a retry",
            &["sink"],
        );
        let sample_age = HistogramVec::new(
            HistogramOpts::new(
                "sluice_worker_sample_age_seconds",
                "Age of delivered samples at sink acknowledgement (sample time to ack)",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]),
            &["sink"],
        )
        .expect("valid metric name");
        registry
            .register(Box::new(sample_age.clone()))
            .expect("registered once");
        let records_lag_max = IntGaugeVec::new(
            Opts::new(
                "sluice_worker_records_lag_max",
                "Consumer records-lag-max (high watermark minus position, max over assigned partitions)",
            ),
            &["sink"],
        )
        .expect("valid metric name");
        registry
            .register(Box::new(records_lag_max.clone()))
            .expect("registered once");
        Metrics {
            registry,
            delivered,
            dead_letter,
            lost,
            duplicate,
            retries,
            sample_age,
            records_lag_max,
        }
    }

    pub fn sample_age_of(&self, sink: &str) -> Histogram {
        self.sample_age.with_label_values(&[sink])
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
