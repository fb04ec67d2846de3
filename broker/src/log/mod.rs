//! Partition storage: segments, offset and time indexes, recovery, retention.
//!
//! This module owns the bytes of every partition on disk and nothing else. It knows record
//! batches through `crate::record`: their fixed v2 header (lengths, offsets, timestamps, CRC),
//! for ListOffsets by time the first fields of a record, and for compaction each record's key
//! (`record::compact` reads and rewrites batches; this module decides and moves files). It must not know the Kafka
//! protocol: no requests, no error codes, no topics — the broker's handlers map [`LogError`]
//! and [`ReadResult`] onto responses. It has no clock and no locks: callers pass `now_ms` and
//! serialise access to a [`PartitionLog`].
//!
//! # Layout on disk (Kafka's)
//!
//! ```text
//! <dir>/00000000000000000000.log        batches back to back, as the producer sent them
//!       00000000000000000000.index      sparse offset index   (index.rs has the entry layout)
//!       00000000000000000000.timeindex  sparse time index     (time_index.rs)
//!       00000000000000004711.log        next segment: its name is its base offset
//! ```
//!
//! The `.log` is the truth; indexes are rebuilt from it whenever they look wrong, so they are
//! written without fsync except when a segment rolls.
//!
//! # Path of an append
//!
//! [`PartitionLog::append`] → roll if the active segment is full or old (`Segment::seal`
//! fsyncs it) → stamp base offset and leader epoch into the batch (outside the CRC) →
//! `Segment::append`: one positioned write, then in-memory index entries every
//! `index_interval_bytes`, written to the index files in chunks. Durability (`acks=all`) is the
//! caller's fsync of [`PartitionLog::sync_target`], outside its lock (group commit).
//!
//! # Path of a read
//!
//! [`PartitionLog::read`] → the segment holding the offset (binary search on base offsets) →
//! `OffsetIndex::lookup` (binary search) → header walk to the batch containing the offset →
//! one positioned read of as many whole batches as fit, continuing into the next segment.
//!
//! # Dropping a prefix
//!
//! Besides retention (`retention`), a caller that rewrites its live state at the log end can
//! [`PartitionLog::roll_active`] before the rewrite and [`PartitionLog::delete_segments_before`]
//! its first offset once it is durable (`prefix`).
//!
//! # Deleting records
//!
//! [`PartitionLog::delete_records_before`] (`start`) moves the log start offset into a segment
//! on a client's request, keeps it in a checkpoint file, and deletes the segments wholly below.
//!
//! # Compaction
//!
//! For a log whose [`LogConfig::compaction`] is set, [`PartitionLog::clean_job`] picks what needs
//! cleaning, [`CleanJob::run`] rewrites it without the caller's lock, and
//! [`PartitionLog::install`] swaps the result in (`clean` has the rules and the crash safety).
//!
//! # Start-up
//!
//! [`PartitionLog::open`] runs `recovery`: a cheap check of rolled segments, a full check (CRC
//! and offsets) of the last one, truncation of a torn tail, index rebuilds; see
//! [`RecoveryReport`].

mod cadence;
mod clean;
mod config;
mod error;
mod index;
mod partition;
mod prefix;
mod recovery;
mod retention;
mod scan;
mod segment;
mod start;
mod time_index;
mod timestamp;

#[cfg(test)]
pub(crate) mod test_log;

pub use clean::{AbortedRange, CleanJob, CleanStats, Cleaned, Transactions as CleanerTransactions};
pub use config::{
    Compaction, LogConfig, DEFAULT_INDEX_INTERVAL_BYTES, DEFAULT_RETENTION_MS, DEFAULT_SEGMENT_BYTES,
    DEFAULT_SEGMENT_MS,
};
pub use error::LogError;
pub use partition::{AppendInfo, PartitionLog, ReadResult};
pub use recovery::{write_atomically, RecoveryReport};

/// The partition leader epoch stamped into every stored batch: one node has led every partition
/// since it was created, which is Kafka's first epoch, 0 (docs/kafka-protocol.md#leader-epochs).
pub const LEADER_EPOCH: i32 = 0;
