//! One consumer of one sink: poll a batch, decode it, hand it to the sink, retry transient
//! failures with capped exponential backoff, dead-letter what can never be delivered, and only
//! then store and commit the batch's offsets.
//!
//! ```text
//! recv ─▶ batch (batch_size / batch_timeout) ─▶ decode ─┬─▶ sink.deliver_from ─ ok ─▶ store + commit
//!                                                       └─ undecodable ─▶ dead-letter topic
//! ```
//!
//! A rebalance runs inside `recv`. Records of a partition that was revoked or assigned while the
//! batch filled were fetched under the old assignment: they leave the batch, since the
//! partition now belongs to another member, or starts again where the offsets say.

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::record::decode;
use model::{headers, Metric};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message, OwnedMessage};
use tokio::sync::watch;

use crate::context::{commit_stored, WorkerContext};
use crate::dead_letter::DeadLetters;
use crate::metrics::Metrics;
use crate::sequence::{Seen, SequenceTracker};
use crate::sinks::{Origin, SinkError, SinkFactory, StoredOffsets};
use crate::Config;

/// What every consumer of the process shares.
pub struct Shared {
    pub config: Config,
    pub metrics: Metrics,
    pub dead_letters: DeadLetters,
    /// One tracker for the process: a partition that moves between instances keeps its history.
    pub sequences: Mutex<SequenceTracker>,
}

/// One consumer: which sink, which instance, and whether it does the sequence accounting
/// (the first sink's consumers do, so each record is counted once per process).
pub struct Instance {
    pub sink: String,
    pub factory: SinkFactory,
    /// The sink's own offsets, when it keeps them (exactly-once).
    pub stored: Option<Arc<dyn StoredOffsets>>,
    pub index: usize,
    pub lags: Arc<[AtomicI64]>,
    pub tracks_sequence: bool,
}

pub async fn run(shared: Arc<Shared>, me: Instance, mut stop: watch::Receiver<bool>) -> Result<(), KafkaError> {
    let name = me.sink.clone();
    let group = shared.config.group_of(&name);
    let consumer = Arc::new(create(&shared, &me)?);
    consumer.subscribe(&[shared.config.topic.as_str()])?;
    let lag = tokio::spawn(crate::lag::report(
        consumer.clone(),
        shared.metrics.clone(),
        name.clone(),
        me.lags.clone(),
        me.index,
    ));
    let mut sink = (me.factory)();
    tracing::info!(sink = %name, instance = me.index, group = %shared.config.group_of(&name), "consumer started");
    loop {
        let first = tokio::select! {
            m = consumer.recv() => m,
            _ = stop.changed() => break,
        };
        let first = match first {
            Ok(m) => m.detach(),
            Err(e) => {
                tracing::warn!(sink = %name, error = %e, "consume error");
                continue;
            }
        };
        consumer.context().take_moved();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + shared.config.batch_timeout;
        while batch.len() < shared.config.batch_size {
            let next = tokio::time::timeout_at(deadline, consumer.recv()).await;
            drop_moved(&mut batch, consumer.context(), &name);
            match next {
                Ok(Ok(m)) => batch.push(m.detach()),
                Ok(Err(e)) => tracing::warn!(sink = %name, error = %e, "consume error"),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let done = Batch {
            shared: &shared,
            sink_name: &name,
            group: &group,
            tracks_sequence: me.tracks_sequence,
        }
        .process(&batch, sink.as_mut(), &mut stop)
        .await;
        if !done {
            break; // stopped while the sink was failing: nothing of this batch is committed
        }
        for m in &batch {
            if let Err(e) = consumer.store_offset(m.topic(), m.partition(), m.offset()) {
                // The partition went to another member mid-batch; it will deliver it again.
                tracing::debug!(sink = %name, error = %e, "offset not stored");
            }
        }
        commit_stored(consumer.as_ref(), &name, CommitMode::Async);
    }
    // The last commit and the close (which leaves the group) wait for the broker, which may be
    // the bundled one on this very runtime: they run on a blocking thread, never a runtime one.
    lag.abort();
    let _ = lag.await;
    let stopped = name.clone();
    let closed = tokio::task::spawn_blocking(move || {
        commit_stored(consumer.as_ref(), &stopped, CommitMode::Sync);
        consumer.unsubscribe();
        drop(consumer);
    })
    .await;
    if closed.is_err() {
        tracing::warn!(sink = %name, "closing the consumer panicked");
    }
    tracing::info!(sink = %name, instance = me.index, "consumer stopped");
    Ok(())
}

fn create(shared: &Shared, me: &Instance) -> Result<StreamConsumer<WorkerContext>, KafkaError> {
    let name = me.sink.as_str();
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", shared.config.brokers.join(","))
        .set("group.id", shared.config.group_of(name))
        .set("group.protocol", shared.config.group_protocol.name())
        .set("client.id", format!("sluice-worker-{name}-{}", me.index))
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100");
    shared.config.security().apply(&mut config);
    shared.config.librdkafka.apply(&mut config);
    // At-least-once rests on these two: offsets are stored and committed only after delivery.
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    config.create_with_context(WorkerContext {
        sink: name.to_string(),
        group: shared.config.group_of(name),
        stored: me.stored.clone(),
        moved: Mutex::default(),
    })
}

/// Takes out of `batch` the records of partitions that moved since they were fetched.
fn drop_moved(batch: &mut Vec<OwnedMessage>, context: &WorkerContext, sink: &str) {
    let moved = context.take_moved();
    if moved.is_empty() {
        return;
    }
    let before = batch.len();
    batch.retain(|m| !moved.contains(&(m.topic().to_string(), m.partition())));
    if batch.len() < before {
        tracing::debug!(
            sink,
            records = before - batch.len(),
            "records of moved partitions left out of the batch"
        );
    }
}

struct Batch<'a> {
    shared: &'a Shared,
    sink_name: &'a str,
    group: &'a str,
    tracks_sequence: bool,
}

impl Batch<'_> {
    /// Delivers `records` (or dead-letters them). False when `stop` came first.
    async fn process(
        &self,
        records: &[OwnedMessage],
        sink: &mut dyn crate::sinks::Sink,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let mut metrics: Vec<Metric> = Vec::with_capacity(records.len());
        // The partition and offset of each metric's record, for a sink that stores offsets.
        let mut positions: Vec<(i32, i64)> = Vec::with_capacity(records.len());
        let mut good: Vec<(&OwnedMessage, i64)> = Vec::with_capacity(records.len());
        for r in records {
            if self.tracks_sequence {
                self.account_sequence(r);
            }
            match decode(r.payload().unwrap_or_default()) {
                Ok(ms) => {
                    let sample_ns = sample_time(r).unwrap_or(ms[0].timestamp);
                    positions.extend(std::iter::repeat_n((r.partition(), r.offset()), ms.len()));
                    metrics.extend(ms);
                    good.push((r, sample_ns));
                }
                Err(reason) => {
                    if !self.dead_letter(r, &format!("decode: {reason}"), "decode", stop).await {
                        return false;
                    }
                }
            }
        }
        if metrics.is_empty() {
            return true;
        }
        let config = &self.shared.config;
        let origin = Origin {
            group: self.group,
            topic: &config.topic,
            records: &positions,
        };
        let mut backoff = config.retry_initial_backoff;
        loop {
            match sink.deliver_from(&metrics, origin).await {
                Ok(()) => break,
                Err(SinkError::Transient(e)) => {
                    self.shared.metrics.retries.with_label_values(&[self.sink_name]).inc();
                    tracing::warn!(sink = %self.sink_name, error = %e, retry_in = ?backoff, "sink failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => return false,
                    }
                    backoff = (backoff * 2).min(config.retry_max_backoff);
                }
                Err(SinkError::Rejected(reason)) => {
                    tracing::warn!(sink = %self.sink_name, %reason, records = good.len(), "sink rejected a batch; dead-lettering it");
                    for (r, _) in &good {
                        if !self
                            .dead_letter(r, &format!("rejected: {reason}"), "rejected", stop)
                            .await
                        {
                            return false;
                        }
                    }
                    return true;
                }
            }
        }
        let m = &self.shared.metrics;
        m.delivered
            .with_label_values(&[self.sink_name])
            .inc_by(good.len() as u64);
        let age = m.sample_age_of(self.sink_name);
        let now = now_ns();
        for (_, sample_ns) in &good {
            age.observe(now.saturating_sub(*sample_ns).max(0) as f64 / 1e9);
        }
        true
    }

    /// Sends one record to the dead-letter topic, retrying until the broker takes it.
    async fn dead_letter(&self, r: &OwnedMessage, reason: &str, kind: &str, stop: &mut watch::Receiver<bool>) -> bool {
        let mut backoff = self.shared.config.retry_initial_backoff;
        loop {
            match self.shared.dead_letters.send(r, self.sink_name, reason).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(sink = %self.sink_name, error = %e, "dead-letter topic unreachable; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => return false,
                    }
                    backoff = (backoff * 2).min(self.shared.config.retry_max_backoff);
                }
            }
        }
        self.shared
            .metrics
            .dead_letter
            .with_label_values(&[self.sink_name, kind])
            .inc();
        true
    }

    fn account_sequence(&self, r: &OwnedMessage) {
        let (Some(agent), Some(seq)) = (header(r, headers::AGENT), header(r, headers::SEQ)) else {
            return;
        };
        let Ok(seq) = seq.parse::<u64>() else { return };
        let seen = self
            .shared
            .sequences
            .lock()
            .expect("no panics while holding the tracker")
            .observe(agent, seq);
        // Both series exist from an agent's first record, at 0, so `increase()` sees the first loss.
        let m = &self.shared.metrics;
        let (lost, duplicate) = (
            m.lost.with_label_values(&[agent]),
            m.duplicate.with_label_values(&[agent]),
        );
        match seen {
            Seen::InOrder => {}
            Seen::Lost(n) => lost.inc_by(n),
            Seen::Duplicate => duplicate.inc(),
        }
    }
}

fn header<'a>(r: &'a OwnedMessage, key: &str) -> Option<&'a str> {
    r.headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| std::str::from_utf8(h.value?).ok())
}

/// The agent's `sluice-time` header (ns), else the Kafka timestamp (ms).
fn sample_time(r: &OwnedMessage) -> Option<i64> {
    header(r, headers::TIME)
        .and_then(|t| t.parse().ok())
        .or_else(|| r.timestamp().to_millis().map(|ms| ms.saturating_mul(1_000_000)))
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos() as i64
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;

    use super::*;

    fn record(partition: i32, offset: i64) -> OwnedMessage {
        OwnedMessage::new(
            None,
            None,
            "metrics".into(),
            Timestamp::NotAvailable,
            partition,
            offset,
            None,
        )
    }

    #[test]
    fn records_of_partitions_that_moved_leave_the_batch() {
        let context = WorkerContext {
            sink: "pg".into(),
            group: "g-pg".into(),
            stored: None,
            moved: Mutex::default(),
        };
        let mut batch = vec![record(0, 7), record(1, 3), record(0, 8), record(2, 5)];
        drop_moved(&mut batch, &context, "pg");
        assert_eq!(batch.len(), 4, "nothing moved");
        context
            .moved
            .lock()
            .unwrap()
            .extend([("metrics".to_string(), 0), ("other".to_string(), 2)]);
        drop_moved(&mut batch, &context, "pg");
        let left: Vec<(i32, i64)> = batch.iter().map(|m| (m.partition(), m.offset())).collect();
        assert_eq!(left, [(1, 3), (2, 5)]);
        assert!(context.take_moved().is_empty(), "each move is acted on once");
    }
}
