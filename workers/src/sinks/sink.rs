//! The one trait every sink implements.

use std::future::Future;
use std::pin::Pin;

use model::Metric;

pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// Where a batch of metrics goes. A sink sees each batch once per attempt; `Ok` is its
/// acknowledgement (the data is as safe as that sink can make it), after which the batch's
/// offsets are committed. A sink may see a batch again after a crash (at-least-once).
pub trait Sink: Send {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a>;
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
