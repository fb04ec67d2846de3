//! The librdkafka consumer context of one sink consumer: commits what was delivered before a
//! rebalance takes partitions away, starts assigned partitions where the sink's own stored
//! offsets say (exactly-once sinks), notes which partitions moved so that records fetched
//! before the move are not delivered, and logs what librdkafka reports.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

use crate::sinks::StoredOffsets;

pub struct WorkerContext {
    pub sink: String,
    pub group: String,
    /// The sink's own offsets, when it keeps them (exactly-once).
    pub stored: Option<Arc<dyn StoredOffsets>>,
    /// Partitions assigned or revoked since the consumer last looked ([`WorkerContext::take_moved`]).
    pub moved: Mutex<HashSet<(String, i32)>>,
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
    /// rdkafka's default rebalance (`assign`/`unassign` for the eager protocol,
    /// `incremental_assign`/`incremental_unassign` for the cooperative one and KIP-848), with
    /// two additions. Before partitions go: offsets are stored only after the sink acknowledged,
    /// so committing the stored state hands over exactly what was delivered; the commit is
    /// asynchronous because this runs inside `recv()` on a runtime thread that the bundled
    /// broker may share, and it goes out on the coordinator connection ahead of the rejoin, so
    /// the coordinator applies it first. As partitions come: they are assigned at the sink's
    /// stored offsets where it has them; librdkafka starts the others at the committed offset.
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
        self.note_moved(tpl);
        let done = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.start_at_stored_offsets(tpl);
                if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                commit_stored(consumer, &self.sink, CommitMode::Async);
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                let code: RDKafkaErrorCode = other.into();
                tracing::warn!(sink = %self.sink, error = %code, "rebalance failed; giving up the partitions");
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
        };
        if let Err(e) = done {
            tracing::warn!(sink = %self.sink, error = %e, "changing the assignment failed");
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

impl WorkerContext {
    /// The partitions that were assigned or revoked since the last call.
    pub fn take_moved(&self) -> HashSet<(String, i32)> {
        std::mem::take(&mut *self.moved.lock().expect("no panics while holding the set"))
    }

    fn note_moved(&self, tpl: &TopicPartitionList) {
        let mut moved = self.moved.lock().expect("no panics while holding the set");
        moved.extend(tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())));
    }

    /// Sets each partition of `tpl` to the sink's stored next offset, where it has one. Should
    /// the store be unreadable, the committed offsets are used: the sink still leaves out what it
    /// already holds, Kafka's committed offsets never being ahead of its own.
    fn start_at_stored_offsets(&self, tpl: &mut TopicPartitionList) {
        let Some(stored) = &self.stored else { return };
        let mut by_topic: std::collections::BTreeMap<String, Vec<i32>> = Default::default();
        for e in tpl.elements() {
            by_topic.entry(e.topic().to_string()).or_default().push(e.partition());
        }
        for (topic, partitions) in by_topic {
            match stored.next_offsets(&self.group, &topic, &partitions) {
                Ok(offsets) => {
                    for (partition, offset) in &offsets {
                        if let Err(e) = tpl.set_partition_offset(&topic, *partition, Offset::Offset(*offset)) {
                            tracing::warn!(sink = %self.sink, %topic, partition, error = %e, "cannot start at the stored offset");
                        }
                    }
                    tracing::info!(sink = %self.sink, %topic, ?partitions, stored = ?offsets, "assigned; starting at the sink's stored offsets");
                }
                Err(e) => {
                    tracing::warn!(sink = %self.sink, %topic, error = %e, "the sink's stored offsets are unreadable; starting at Kafka's committed offsets")
                }
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
