//! The one trait every sink implements, and what an exactly-once sink adds to it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use model::Metric;

pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// Where a batch of metrics goes. A sink sees each batch once per attempt; `Ok` is its
/// acknowledgement (the data is as safe as that sink can make it), after which the batch's
/// offsets are committed. A sink may see a batch again after a crash (at-least-once), unless it
/// keeps the offsets itself ([`Sink::deliver_from`] and [`StoredOffsets`]).
pub trait Sink: Send {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a>;

    /// Delivers a batch knowing which record each metric came from. The worker calls this one;
    /// a sink that stores each partition's next offset in the same transaction as the data
    /// (exactly-once) overrides it, the others deliver as [`Sink::deliver`] does.
    fn deliver_from<'a>(&'a mut self, batch: &'a [Metric], _origin: Origin<'a>) -> SinkFuture<'a> {
        self.deliver(batch)
    }
}

/// Where the metrics of a batch came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The sink's consumer group (`<group>-<sink name>`).
    pub group: &'a str,
    pub topic: &'a str,
    /// The partition and offset of each metric's record, one per metric of the batch.
    pub records: &'a [(i32, i64)],
}

/// A sink's own record of where each partition's consumption stands, read when partitions are
/// assigned so that the consumer starts there rather than at Kafka's committed offset.
///
/// It is called from librdkafka's rebalance callback, which is synchronous: it blocks the
/// calling thread until it has an answer.
pub trait StoredOffsets: Send + Sync {
    /// The next offset to consume of each of `partitions` that has one stored; partitions
    /// missing from the answer start at Kafka's committed offset. `Err` says why the store could
    /// not be read.
    fn next_offsets(&self, group: &str, topic: &str, partitions: &[i32]) -> Result<HashMap<i32, i64>, String>;
}

/// Why a sink did not acknowledge a batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying (connection refused, 5xx, disk full for a moment): retried with capped
    /// exponential backoff until it succeeds or the worker stops.
    #[error("transient: {0}")]
    Transient(String),
    /// The sink will never take this batch (4xx): its records go to the dead-letter topic.
    #[error("rejected: {0}")]
    Rejected(String),
}
