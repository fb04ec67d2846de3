//! The librdkafka consumer context of one sink consumer: commits what was delivered before a
//! rebalance takes partitions away, and logs what librdkafka reports.

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::TopicPartitionList;

pub struct WorkerContext {
    pub sink: String,
}

impl ClientContext for WorkerContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        kafka_client::librdkafka_log::log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(target: "librdkafka", sink = %self.sink, "{error}: {reason}");
    }
}

impl ConsumerContext for WorkerContext {
    /// Offsets are stored only after the sink acknowledged, so committing the stored state
    /// here hands over exactly what was delivered. The commit is asynchronous because this
    /// runs inside `recv()` on a runtime thread that the bundled broker may share; it goes out
    /// on the coordinator connection ahead of the rejoin, so the coordinator applies it first.
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            commit_stored(consumer, &self.sink, CommitMode::Async);
        }
    }

    fn commit_callback(&self, result: Result<(), KafkaError>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => {
                tracing::warn!(sink = %self.sink, error = %e, "commit failed; the records since the last commit will be delivered again")
            }
        }
    }
}

/// Commits the stored offsets; "nothing to commit" is not an error. `Sync` blocks the calling
/// thread until the coordinator answers, so async code uses `Async` (failures are reported by
/// `commit_callback`) and keeps `Sync` for a blocking thread at shutdown.
pub fn commit_stored<C: Consumer<WorkerContext>>(consumer: &C, sink: &str, mode: CommitMode) {
    match consumer.commit_consumer_state(mode) {
        Ok(()) => {}
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => {
            tracing::warn!(sink, error = %e, "commit failed; the records since the last commit will be delivered again")
        }
    }
}
