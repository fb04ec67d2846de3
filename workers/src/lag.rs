//! `records-lag-max` as Kafka's consumer defines it: high watermark minus the consumer's
//! position, the maximum over its assigned partitions.
//!
//! librdkafka's statistics are no use here: its `consumer_lag` counts from the committed offset
//! (and is -1 until a group first commits), and statistics are only emitted while the consumer
//! is polled, which is exactly what stops while a sink is failing. So every second this reads
//! librdkafka's local state instead: the position is the offset of the next record the worker
//! will be handed, the high watermark the one cached from the latest fetch response. Neither
//! sends a request.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_client::native::cached_watermarks;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::Offset;

use crate::metrics::Metrics;

/// The largest lag over the assigned partitions whose position and high watermark are known.
pub fn records_lag_max<C: ConsumerContext>(consumer: &StreamConsumer<C>) -> i64 {
    let Ok(positions) = consumer.position() else {
        return 0;
    };
    let mut max = 0;
    for p in positions.elements() {
        let Offset::Offset(position) = p.offset() else {
            continue; // nothing handed to the worker yet
        };
        if let Some((_, high)) = cached_watermarks(consumer.client(), p.topic(), p.partition()) {
            max = max.max(high - position);
        }
    }
    max.max(0)
}

/// Publishes this consumer's lag every second into the gauge of its sink, as the maximum over
/// the sink's consumers in this process (`lags` holds one slot per instance).
pub async fn report<C: ConsumerContext>(
    consumer: Arc<StreamConsumer<C>>,
    metrics: Metrics,
    sink: String,
    lags: Arc<[AtomicI64]>,
    instance: usize,
) {
    let gauge = metrics.records_lag_max.with_label_values(&[sink.as_str()]);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        lags[instance].store(records_lag_max(&consumer), Ordering::Relaxed);
        gauge.set(lags.iter().map(|l| l.load(Ordering::Relaxed)).max().unwrap_or(0));
    }
}
