//! What the gatherer and the flusher share: the queue, the self-metrics, and the drop log.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::queue::{DropReason, Dropped, Queue, SpoolError};
use crate::record::Record;
use crate::self_metrics::SelfMetrics;

pub struct Shared {
    /// A std mutex: held only for a push, take or ack (a few µs, one spool write at most),
    /// never across an `.await`.
    queue: Mutex<Queue>,
    /// Wakes the flusher early when a full batch is waiting.
    pub batch_ready: Notify,
    pub metrics: SelfMetrics,
    batch_size: usize,
    /// Records dropped in the current burst, by reason: logged once when a burst starts, once
    /// when it ends (the next successful delivery).
    burst: Mutex<HashMap<DropReason, u64>>,
}

impl Shared {
    pub fn new(queue: Queue, metrics: SelfMetrics, batch_size: usize) -> Self {
        Shared {
            queue: Mutex::new(queue),
            batch_ready: Notify::new(),
            metrics,
            batch_size,
            burst: Mutex::new(HashMap::new()),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic while holding the lock would be a bug in the queue; the data is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, records: Vec<Record>, now_ns: i64) -> Result<(), SpoolError> {
        let (dropped, len, bytes) = {
            let mut q = self.queue();
            let dropped = q.push(records, now_ns)?;
            (dropped, q.len(), q.bytes())
        };
        self.count_dropped(&dropped);
        self.set_depth(len, bytes);
        if len >= self.batch_size {
            self.batch_ready.notify_one();
        }
        Ok(())
    }

    pub fn take(&self, n: usize) -> Result<Vec<Record>, SpoolError> {
        self.queue().take(n)
    }

    pub fn ack(&self, seq: u64) -> Result<(), SpoolError> {
        let (len, bytes) = {
            let mut q = self.queue();
            q.ack(seq)?;
            (q.len(), q.bytes())
        };
        self.set_depth(len, bytes);
        self.end_burst();
        Ok(())
    }

    /// Records of a batch that will not be sent in this run. The spool still has them (they
    /// are not acknowledged, so the next start sends them); from memory they are lost.
    pub fn unsent(&self, records: Vec<Record>) {
        if matches!(*self.queue(), Queue::Memory(_)) {
            self.count_dropped(&vec![(DropReason::Shutdown, records.len() as u64)]);
        }
    }

    /// At shutdown: counts what only memory held as dropped; returns how many records were
    /// left unsent.
    pub fn abandon(&self) -> usize {
        let (left, memory) = {
            let q = self.queue();
            (q.len(), matches!(*q, Queue::Memory(_)))
        };
        if memory && left > 0 {
            self.count_dropped(&vec![(DropReason::Shutdown, left as u64)]);
        }
        left
    }

    fn set_depth(&self, len: usize, bytes: u64) {
        self.metrics.buffer_records.set(len as i64);
        self.metrics.spool_bytes.set(bytes as i64);
    }

    pub fn count_dropped(&self, dropped: &Dropped) {
        if dropped.is_empty() {
            return;
        }
        let mut burst = self.burst.lock().unwrap_or_else(|p| p.into_inner());
        for &(reason, n) in dropped {
            self.metrics
                .records_dropped
                .with_label_values(&[reason.label()])
                .inc_by(n);
            let total = burst.entry(reason).or_default();
            if *total == 0 {
                tracing::warn!(
                    reason = reason.label(),
                    "dropping the oldest samples while the broker is unreachable; counted in {}",
                    crate::self_metrics::RECORDS_DROPPED
                );
            }
            *total += n;
        }
    }

    fn end_burst(&self) {
        let mut burst = self.burst.lock().unwrap_or_else(|p| p.into_inner());
        for (reason, n) in burst.drain() {
            tracing::warn!(
                reason = reason.label(),
                dropped = n,
                "samples were dropped during the outage"
            );
        }
    }
}
