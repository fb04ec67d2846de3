//! The coordinator's log: the `__consumer_offsets` topic, written through the same
//! `Partition::append` path as client data, read back whole on start, and kept bounded by
//! snapshots.
//!
//! # Why snapshots and not compaction
//!
//! Every group lives in one partition (`abs(java hashCode(group)) % partitions`, Kafka's
//! `partitionFor`), and the coordinator holds all of a partition's live state in memory. So
//! instead of compacting segments, when a partition has taken more than
//! `max(offsets.topic.segment.bytes, size of its last snapshot)` bytes since its last snapshot,
//! the coordinator rolls it, appends the live state (the latest record per group and per
//! committed offset) as fresh records, fsyncs them, and deletes every segment below them. A
//! reader of the topic (a restart, Burrow) sees the same latest value per key as with
//! compaction; the partition stays below about twice the larger of the threshold and the live
//! state; and each byte of live state is rewritten at most once per threshold of new writes.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::batch::{self, StoredRecord};
use crate::cluster::partition::{AppendError, Appended, PartitionRef};
use crate::cluster::topics::{TopicError, Topics};
use crate::config::GroupConfig;
use crate::log::LogError;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Snapshot batches are cut at about this size (fetchers take any size, this keeps them usual).
const SNAPSHOT_BATCH_BYTES: usize = 1 << 20;
/// How much of a partition one read during start-up returns.
const LOAD_READ_BYTES: usize = 4 << 20;

/// A key and its value, or `None` for a tombstone.
pub type KeyValue = (Bytes, Option<Bytes>);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create {OFFSETS_TOPIC}: {0}")]
    Create(#[from] TopicError),
    #[error("{OFFSETS_TOPIC} partition {partition}: {source}")]
    Append { partition: usize, source: AppendError },
    #[error("{OFFSETS_TOPIC} partition {partition}: {source}")]
    Log { partition: usize, source: LogError },
}

pub struct OffsetsTopic {
    partitions: Vec<PartitionRef>,
    snapshot_threshold: u64,
    /// Per partition: bytes appended since the last snapshot, and that snapshot's size.
    since_snapshot: Vec<u64>,
    snapshot_size: Vec<u64>,
    due: BTreeSet<usize>,
}

impl OffsetsTopic {
    /// Opens `__consumer_offsets`, creating it when missing. It keeps data until snapshots
    /// drop it: time and size retention would lose live offsets.
    pub fn open(topics: &Topics, config: &GroupConfig) -> Result<OffsetsTopic, StoreError> {
        let topic = match topics.get(OFFSETS_TOPIC) {
            Some(t) => t,
            None => {
                let overrides = BTreeMap::from([
                    ("retention.ms".to_string(), "-1".to_string()),
                    ("retention.bytes".to_string(), "-1".to_string()),
                    (
                        "segment.bytes".to_string(),
                        config.offsets_topic_segment_bytes.to_string(),
                    ),
                ]);
                tracing::info!(partitions = config.offsets_topic_partitions, "creating {OFFSETS_TOPIC}");
                topics.create_internal(OFFSETS_TOPIC, config.offsets_topic_partitions, overrides)?
            }
        };
        if topic.config.retention_ms.is_some() || topic.config.retention_bytes.is_some() {
            tracing::warn!(
                "{OFFSETS_TOPIC} has time or size retention configured; it can delete live offsets \
                 (the coordinator bounds the topic with snapshots instead)"
            );
        }
        let n = topic.partitions.len();
        if n as i32 != config.offsets_topic_partitions {
            tracing::warn!(
                partitions = n,
                configured = config.offsets_topic_partitions,
                "{OFFSETS_TOPIC} exists with a different partition count; groups map onto the existing one"
            );
        }
        let since_snapshot = topic.partitions.iter().map(|p| p.size_bytes()).collect();
        Ok(OffsetsTopic {
            partitions: topic.partitions.clone(),
            snapshot_threshold: config.offsets_topic_segment_bytes,
            since_snapshot,
            snapshot_size: vec![0; n],
            due: BTreeSet::new(),
        })
    }

    /// Kafka's `partitionFor`: `Utils.abs(groupId.hashCode()) % partitions`.
    pub fn partition_for(&self, group: &str) -> usize {
        partition_for(group, self.partitions.len())
    }

    /// Appends `records` as one batch to the group's partition, as a transactional batch of
    /// `txn` (producer id, epoch) if given. The answer that depends on them must wait for the
    /// returned [`Durable`].
    pub fn append(
        &mut self,
        group: &str,
        records: &[KeyValue],
        txn: Option<(i64, i16)>,
        now_ms: i64,
    ) -> Result<Durable, StoreError> {
        let partition = self.partition_for(group);
        let end = self.append_to(partition, records, txn, now_ms)?;
        Ok(Durable(vec![(self.partitions[partition].clone(), end)]))
    }

    fn append_to(
        &mut self,
        partition: usize,
        records: &[KeyValue],
        txn: Option<(i64, i16)>,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut batch = batch::encode_for(records, now_ms, txn);
        let len = batch.len() as u64;
        // `encode` wrote a well-formed header, so parsing it back cannot fail.
        let header = crate::record::BatchHeader::parse(&batch).map_err(|e| StoreError::Log {
            partition,
            source: LogError::invalid_batch(batch.len(), e),
        })?;
        let end = match self.partitions[partition].append(&mut batch, &header, now_ms) {
            Ok(Appended::New(info)) => info.log_end_offset,
            // Only idempotent producers' batches can be duplicates; ours have no producer id.
            Ok(Appended::Duplicate { .. }) => self.partitions[partition].offsets().1,
            Err(source) => return Err(StoreError::Append { partition, source }),
        };
        self.since_snapshot[partition] += len;
        if self.since_snapshot[partition] > self.snapshot_threshold.max(self.snapshot_size[partition]) {
            self.due.insert(partition);
        }
        Ok(end)
    }

    /// Partitions that have grown enough since their last snapshot.
    pub fn take_due(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.due).into_iter().collect()
    }

    /// Rewrites `live` (the partition's whole live state) at the end of `partition`, makes it
    /// durable, and deletes the segments before it. On error the old segments stay: nothing is
    /// lost, the partition is just not smaller yet.
    pub fn snapshot(&mut self, partition: usize, live: &[KeyValue], now_ms: i64) -> Result<usize, StoreError> {
        let p = self.partitions[partition].clone();
        let log_err = |source| StoreError::Log { partition, source };
        p.roll().map_err(log_err)?;
        let start = p.offsets().1;
        let mut written = 0;
        let mut chunk_start = 0;
        let mut chunk_bytes = 0;
        for (i, (k, v)) in live.iter().enumerate() {
            chunk_bytes += k.len() + v.as_ref().map_or(0, Bytes::len) + 16;
            if chunk_bytes >= SNAPSHOT_BATCH_BYTES || i + 1 == live.len() {
                self.append_to(partition, &live[chunk_start..=i], None, now_ms)?;
                chunk_start = i + 1;
                chunk_bytes = 0;
            }
        }
        let end = p.offsets().1;
        p.flush().map_err(log_err)?;
        // Offsets of transactions still open live only in their transactional batches: keep
        // every segment from the oldest of them on (`txn_offsets`).
        let oldest_open = p.open_transactions().into_iter().map(|(_, first)| first).min();
        let keep_from = oldest_open.map_or(start, |first| first.min(start));
        let deleted = p.delete_segments_before(keep_from).map_err(log_err)?;
        written += (end - start) as usize;
        self.snapshot_size[partition] = p.size_bytes();
        self.since_snapshot[partition] = 0;
        self.due.remove(&partition);
        tracing::info!(
            partition,
            records = written,
            segments_deleted = deleted,
            log_start_offset = start,
            "snapshotted {OFFSETS_TOPIC}"
        );
        Ok(deleted)
    }

    /// Every batch of every partition, oldest first per partition (start-up replay):
    /// records, transactional records, and transaction markers.
    pub fn read_all(&self) -> Result<Vec<Loaded>, StoreError> {
        let mut out = Vec::new();
        for (partition, p) in self.partitions.iter().enumerate() {
            let (mut offset, end) = p.offsets();
            while offset < end {
                let read = p
                    .read(offset, LOAD_READ_BYTES, true)
                    .map_err(|source| StoreError::Log { partition, source })?;
                let batches = batch::split(&read.data);
                let Some((last, _)) = batches.last() else { break };
                offset = last.last_offset() + 1;
                for (header, bytes) in &batches {
                    if header.is_control() {
                        if let Some(kind) = crate::record::control_type(bytes, header) {
                            out.push(Loaded::Marker {
                                producer_id: header.producer_id,
                                commit: kind == crate::record::ControlType::Commit,
                            });
                        }
                        continue;
                    }
                    match batch::decode(header, bytes) {
                        Ok(records) if header.is_transactional() => out.push(Loaded::Pending {
                            producer_id: header.producer_id,
                            records,
                        }),
                        Ok(records) => out.push(Loaded::Records(records)),
                        Err(e) => tracing::warn!(partition, error = %e, "skipping a batch while loading groups"),
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn partition(&self, index: usize) -> &PartitionRef {
        &self.partitions[index]
    }
}

/// What a batch of the topic holds, for replay.
#[derive(Debug)]
pub enum Loaded {
    Records(Vec<StoredRecord>),
    /// A transactional batch (TxnOffsetCommit): its records wait for the producer's marker.
    Pending {
        producer_id: i64,
        records: Vec<StoredRecord>,
    },
    /// A transaction marker in this partition.
    Marker {
        producer_id: i64,
        commit: bool,
    },
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping), then Kafka's `Utils.abs`
/// (which maps `i32::MIN` to 0), modulo the partition count.
pub fn partition_for(group: &str, partitions: usize) -> usize {
    let hash = group
        .encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)));
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs as usize % partitions.max(1)
}

/// Where the records behind an answer were appended: the answer goes out once every listed
/// partition is fsynced up to its offset (`acks=all` for the coordinator's own writes).
#[derive(Debug, Clone, Default)]
pub struct Durable(pub Vec<(PartitionRef, i64)>);

impl Durable {
    pub fn add(&mut self, other: Durable) {
        self.0.extend(other.0);
    }

    /// Waits for the fsyncs; concurrent callers share them (`Partition::sync_to`).
    pub async fn wait(&self) -> Result<(), crate::log::LogError> {
        for (partition, end) in &self.0 {
            partition.sync_to(*end).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_to_partitions_as_in_kafka() {
        // Java: "my-group".hashCode() = -1906497762 → 12 of 50;
        // "console-consumer-12345".hashCode() = 158455506 → 6 of 50.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("console-consumer-12345", 50), 6);
        assert_eq!(partition_for("", 50), 0);
        // "polygenelubricants".hashCode() is Integer.MIN_VALUE, which Utils.abs maps to 0.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        // Non-ASCII hashes over UTF-16 units: "é".hashCode() = 233.
        assert_eq!(partition_for("é", 50), 233 % 50);
    }
}
