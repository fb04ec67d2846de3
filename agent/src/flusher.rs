//! The flush loop: every `flush_interval` (plus jitter), or as soon as a full batch waits, send
//! the queue's records a batch at a time, oldest first, each batch acknowledged before the next.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::watch;

use rdkafka::error::KafkaError;

use crate::output::{KafkaOutput, Outcome};
use crate::queue::DropReason;
use crate::record::Record;
use crate::shared::Shared;

/// After purging at shutdown, how long to wait for librdkafka to report the purged records.
const PURGE_WAIT: Duration = Duration::from_secs(1);

pub struct Flusher {
    pub shared: Arc<Shared>,
    pub output: KafkaOutput,
    pub flush_interval: Duration,
    pub flush_jitter: Duration,
    pub batch_size: usize,
    /// How long to keep trying after the stop signal before giving up on what is left.
    pub shutdown_grace: Duration,
}

impl Flusher {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut deadline = None;
        while !*stop.borrow() {
            let wait = self.flush_interval + jitter(self.flush_jitter);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shared.batch_ready.notified() => {}
                _ = stop.changed() => break,
            }
            self.drain(&mut stop, &mut deadline).await;
        }
        // Stopping: one more drain, bounded by the grace period.
        let mut deadline = deadline.or(Some(Instant::now() + self.shutdown_grace));
        self.drain(&mut stop, &mut deadline).await;
        let left = self.shared.abandon();
        if left > 0 {
            tracing::warn!(records = left, "stopping with samples the broker has not acknowledged");
        }
    }

    /// Sends everything waiting, a batch at a time; stops early once past `deadline`.
    async fn drain(&self, stop: &mut watch::Receiver<bool>, deadline: &mut Option<Instant>) {
        loop {
            let batch = match self.shared.take(self.batch_size) {
                Ok(b) if b.is_empty() => return,
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the spool; retrying at the next flush");
                    return;
                }
            };
            match self.deliver(batch, stop, deadline).await {
                Ok(last) => {
                    if let Err(e) = self.shared.ack(last) {
                        tracing::error!(error = %e, "cannot record the acknowledgement in the spool");
                    }
                }
                Err(unsent) => {
                    self.shared.unsent(unsent);
                    return;
                }
            }
        }
    }

    /// Sends `batch` until every record is delivered or rejected and returns its last seq; or,
    /// when stopping and past the deadline, gives up and returns the records not delivered.
    ///
    /// A batch handed to librdkafka is never sent a second time while librdkafka may still be
    /// delivering it: only records whose delivery failed are sent again.
    async fn deliver(
        &self,
        mut batch: Vec<Record>,
        stop: &mut watch::Receiver<bool>,
        deadline: &mut Option<Instant>,
    ) -> Result<u64, Vec<Record>> {
        let last = batch.last().map_or(0, |r| r.seq);
        let mut backoff = Duration::from_millis(500);
        let mut warned = false;
        let warn_after = self.flush_interval.max(Duration::from_secs(5)) * 2;
        loop {
            let outcomes = {
                let send = self.output.send(&batch);
                tokio::pin!(send);
                let mut purged: Option<Instant> = None;
                loop {
                    let until = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
                    let given_up = purged.map_or(until, |at| at + PURGE_WAIT);
                    tokio::select! {
                        // Polled first: the records must be handed to librdkafka before any
                        // purge, or the purge would miss them.
                        biased;
                        o = &mut send => break o,
                        _ = tokio::time::sleep_until(given_up), if purged.is_some() => {
                            // librdkafka does not always report purged records promptly (seen
                            // with records queued while the broker was down); we are stopping,
                            // so treat the batch as not delivered. The spool keeps it.
                            break batch.iter().map(|_| Outcome::Failed(KafkaError::Canceled)).collect();
                        }
                        _ = tokio::time::sleep(warn_after), if !warned => {
                            warned = true;
                            tracing::warn!(records = batch.len(), "the broker has not acknowledged the last batch yet; still trying, still sampling");
                        }
                        _ = stop.changed(), if deadline.is_none() => {
                            *deadline = Some(Instant::now() + self.shutdown_grace);
                        }
                        _ = tokio::time::sleep_until(until), if deadline.is_some() && purged.is_none() => {
                            // librdkafka answers purged records with an error.
                            purged = Some(Instant::now());
                            self.output.purge();
                        }
                    }
                }
            };
            let mut retry = Vec::new();
            for (r, outcome) in batch.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Delivered => {
                        self.shared.metrics.records_sent.inc();
                        let age = (now_ns() - r.timestamp).max(0) as f64 / 1e9;
                        self.shared.metrics.delivery_latency.observe(age);
                    }
                    Outcome::Rejected(e) => {
                        self.shared.metrics.delivery_errors.inc();
                        tracing::warn!(seq = r.seq, bytes = r.value.len(), error = %e, "the broker refused a record; dropped");
                        self.shared.count_dropped(&vec![(DropReason::TooLarge, 1)]);
                    }
                    Outcome::Failed(e) => {
                        self.shared.metrics.delivery_errors.inc();
                        tracing::debug!(seq = r.seq, error = %e, "record not delivered; will retry");
                        retry.push(r);
                    }
                }
            }
            if retry.is_empty() {
                if warned {
                    tracing::info!("the broker is acknowledging again");
                }
                return Ok(last);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(retry);
            }
            if let Some(fatal) = self.output.fatal_error() {
                tracing::error!(error = %fatal, "the Kafka producer failed fatally; restart the agent to send again");
            }
            // The backoff gives way to a stop signal: shutting down must not wait up to 30 s.
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed(), if deadline.is_none() => {
                    *deadline = Some(Instant::now() + self.shutdown_grace);
                }
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
            batch = retry;
        }
    }
}

pub(crate) fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_nanos(fastrand::u64(0..max.as_nanos().min(u64::MAX as u128) as u64))
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}
