//! The agent's own metrics, served at `/metrics`. Every name is declared here, and only here.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::queue::DropReason;

pub const SAMPLES_GATHERED: &str = "sluice_agent_samples_gathered_total";
pub const GATHER_ERRORS: &str = "sluice_agent_gather_errors_total";
pub const RECORDS_SENT: &str = "sluice_agent_records_sent_total";
pub const DELIVERY_ERRORS: &str = "sluice_agent_delivery_errors_total";
pub const RECORDS_DROPPED: &str = "sluice_agent_records_dropped_total";
pub const BUFFER_RECORDS: &str = "sluice_agent_buffer_records";
pub const SPOOL_BYTES: &str = "sluice_agent_spool_bytes";
pub const DELIVERY_LATENCY: &str = "sluice_agent_delivery_latency_seconds";

#[derive(Clone)]
pub struct SelfMetrics {
    pub registry: Registry,
    /// Metrics produced by inputs, by `input`.
    pub samples_gathered: IntCounterVec,
    /// Failed reads of `/proc`, by `input`.
    pub gather_errors: IntCounterVec,
    /// Records the broker acknowledged.
    pub records_sent: IntCounter,
    /// Records librdkafka reported as not delivered (they are retried or, if too large, dropped).
    pub delivery_errors: IntCounter,
    /// Records given up, by `reason` (buffer_full, spool_full, spool_age, too_large, shutdown).
    pub records_dropped: IntCounterVec,
    /// Records waiting in the buffer or spool (not counting the batch in flight).
    pub buffer_records: IntGauge,
    pub spool_bytes: IntGauge,
    /// From sample time to the broker's acknowledgement.
    pub delivery_latency: Histogram,
}

impl SelfMetrics {
    // Registering fresh collectors with constant, distinct names into a new registry cannot
    // fail on anything but a bug that every test would show.
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        let registry = Registry::new();
        // Registering fresh collectors with distinct names into a new registry cannot fail.
        let counter_vec = |name: &str, help: &str, label: &str| {
            let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric name");
            registry.register(Box::new(c.clone())).expect("unique metric name");
            c
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric name");
            registry.register(Box::new(c.clone())).expect("unique metric name");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric name");
            registry.register(Box::new(g.clone())).expect("unique metric name");
            g
        };
        let samples_gathered = counter_vec(SAMPLES_GATHERED, "Metrics gathered by inputs.", "input");
        let gather_errors = counter_vec(GATHER_ERRORS, "Failed gathers.", "input");
        let records_sent = counter(RECORDS_SENT, "Records acknowledged by the broker.");
        let delivery_errors = counter(DELIVERY_ERRORS, "Records librdkafka reported as not delivered.");
        let records_dropped = counter_vec(RECORDS_DROPPED, "Records given up, oldest first.", "reason");
        for r in [
            DropReason::BufferFull,
            DropReason::SpoolFull,
            DropReason::SpoolAge,
            DropReason::TooLarge,
            DropReason::Shutdown,
        ] {
            records_dropped.with_label_values(&[r.label()]);
        }
        let buffer_records = gauge(BUFFER_RECORDS, "Records waiting for the broker (buffer or spool).");
        let spool_bytes = gauge(SPOOL_BYTES, "Bytes of the on-disk spool.");
        let delivery_latency = Histogram::with_opts(
            HistogramOpts::new(
                DELIVERY_LATENCY,
                "Seconds from sample time to the broker's acknowledgement.",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0]),
        )
        .expect("valid histogram");
        registry
            .register(Box::new(delivery_latency.clone()))
            .expect("unique metric name");
        SelfMetrics {
            registry,
            samples_gathered,
            gather_errors,
            records_sent,
            delivery_errors,
            records_dropped,
            buffer_records,
            spool_bytes,
            delivery_latency,
        }
    }
}

impl Default for SelfMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_name_is_exposed() {
        let m = SelfMetrics::new();
        m.samples_gathered.with_label_values(&["cpu"]).inc();
        m.gather_errors.with_label_values(&["cpu"]).inc();
        m.delivery_latency.observe(0.1);
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&m.registry.gather())
            .unwrap();
        for name in [
            SAMPLES_GATHERED,
            GATHER_ERRORS,
            RECORDS_SENT,
            DELIVERY_ERRORS,
            RECORDS_DROPPED,
            BUFFER_RECORDS,
            SPOOL_BYTES,
            DELIVERY_LATENCY,
        ] {
            assert!(text.contains(name), "{name} missing");
        }
        assert!(text.contains("reason=\"buffer_full\""));
    }
}
