//! Log compaction (`cleanup.policy=compact`): keeping the latest record of each key, as Kafka's
//! log cleaner does ([design](https://kafka.apache.org/documentation/#compaction)).
//!
//! # What is cleaned
//!
//! Only sealed segments: the active one takes appends. Of those, the *cleanable* ones run from
//! the first up to the first segment holding a record younger than `min.compaction.lag.ms` or
//! reaching the last stable offset (an open transaction may still abort).
//! The cleaner remembers where it stopped last time (`first_dirty`, kept in
//! `<dir>/cleaner-offset`, like Kafka's `cleaner-offset-checkpoint`): below it the log is
//! *clean*, each key appearing once; from it on it is *dirty*. A log is cleaned when
//! - its dirty bytes are at least `min.cleanable.dirty.ratio` of its cleanable bytes, or
//! - its first dirty record is older than `max.compaction.lag.ms`, or
//! - a tombstone it kept has reached its delete horizon (below).
//!
//! # One cleaning
//!
//! 1. [`PartitionLog::clean_job`], under the caller's lock and cheap: picks the segments and takes
//!    their open files. Sealed segments never change, so the rest reads them without the lock.
//! 2. [`CleanJob::run`], without the lock: reads the dirty segments into a map from each key to
//!    its last offset (at most `map_bytes` of keys, in whole segments; at least one segment), then
//!    rewrites every cleanable segment the map covers, clean and dirty alike, into groups of
//!    consecutive segments that fit `segment.bytes` together (so small segments merge). A record
//!    stays when no later offset has its key, unless it is a tombstone past its horizon or has no
//!    key at all. The batches of aborted transactions go whole, and their keys supersede
//!    nothing; markers stay. Batches keep their offsets (`record::compact_batch`), so the log gets gaps:
//!    between batches, and between a segment's last batch and the next segment's base. A batch
//!    that keeps nothing goes, unless it is the last one of its producer here: its header stays,
//!    so the producer's sequence survives a restart, which rebuilds producers from headers.
//!    Each group is written to `<base>.log.cleaned` and fsynced.
//! 3. [`PartitionLog::install`], under the lock: if every segment the job read is still there
//!    (retention or DeleteRecords may have deleted some meanwhile; then the work is dropped), each
//!    group replaces its segments and the checkpoint moves to where the map ended.
//!
//! # Tombstones
//!
//! A record with a null value deletes its key. The first cleaning that keeps a tombstone gives
//! its batch a delete horizon of now + `delete.retention.ms` (KIP-534; `record::compact`); a
//! cleaning after the horizon removes the tombstone. Consumers that read the topic within
//! `delete.retention.ms` of that first cleaning therefore see the delete.
//!
//! # Crash safety
//!
//! Installing a group: rename `<base>.log.cleaned` to `<base>.log.swap` and fsync the directory
//! (from here the new segment wins); delete the group's other segments; delete the first
//! segment's indexes; rename the swap over `<base>.log`; write fresh indexes. Recovery
//! ([`finish_swaps`]) deletes leftover `.cleaned` files and completes a swap it finds: the
//! segments whose base lies inside the swap's offsets go, and it takes the base's name. A segment
//! that ended after the swap's last batch may stay: it holds only records the swap superseded,
//! which the next cleaning removes. Indexes are rebuilt by the usual recovery check.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cadence::IndexCadence;
use super::config::Compaction;
use super::error::LogError;
use super::index::OffsetEntry;
use super::partition::PartitionLog;
use super::recovery::write_atomically;
use super::segment::{file_name, Segment, LOG_SUFFIX};
use super::time_index::TimeEntry;
use rewrite::for_each_header;

/// Where the cleaner stopped, kept across restarts: `<first dirty offset> [<next horizon>]`.
pub const CHECKPOINT: &str = "cleaner-offset";
const CLEANED: &str = "cleaned";
const SWAP: &str = "swap";
/// What a key costs in the map besides its bytes: the offset, the hash table's slot and the
/// allocation's header, roughly.
const MAP_ENTRY_OVERHEAD: u64 = 48;

/// The cleaner's memory of a log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CleanerState {
    /// Below it every key appears once (unless a later key superseded it since).
    pub(crate) first_dirty: i64,
    /// The earliest delete horizon of a batch the last cleaning kept with one still ahead: the
    /// log needs cleaning again after it, dirty or not.
    pub(crate) next_horizon: Option<i64>,
}

impl CleanerState {
    pub(crate) fn read(dir: &Path) -> CleanerState {
        let Ok(text) = std::fs::read_to_string(dir.join(CHECKPOINT)) else {
            return CleanerState::default();
        };
        let mut fields = text.split_whitespace().map(str::parse::<i64>);
        match (fields.next(), fields.next()) {
            (Some(Ok(first_dirty)), horizon) => CleanerState {
                first_dirty,
                next_horizon: horizon.and_then(Result::ok),
            },
            _ => {
                tracing::warn!(file = %dir.join(CHECKPOINT).display(), "unreadable cleaner checkpoint: the whole log counts as dirty");
                CleanerState::default()
            }
        }
    }

    fn write(&self, dir: &Path) -> Result<(), LogError> {
        let text = match self.next_horizon {
            Some(h) => format!("{} {h}\n", self.first_dirty),
            None => format!("{}\n", self.first_dirty),
        };
        write_atomically(dir, CHECKPOINT, text.as_bytes())
    }
}

/// A sealed segment as the cleaner reads it, outside the log's lock.
#[derive(Debug)]
struct Source {
    base: i64,
    next_offset: i64,
    size: u64,
    file: Arc<File>,
    path: PathBuf,
}

/// One cleaning, chosen under the lock, run without it.
#[derive(Debug)]
pub struct CleanJob {
    dir: PathBuf,
    /// The cleanable segments, from the first.
    sources: Vec<Source>,
    first_dirty: i64,
    now_ms: i64,
    compaction: Compaction,
    segment_bytes: u64,
    index_interval: u32,
    map_bytes: u64,
    /// Transactions that ended in ABORT: their batches are dropped, and their keys never
    /// supersede anything.
    aborted: Vec<AbortedRange>,
    /// Why the log is cleaned now, for the log line.
    pub reason: String,
}

/// What the caller knows of transactions in the log (the log itself keeps no such state).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transactions {
    /// The last stable offset: nothing at or past it is cleaned, since an open transaction may
    /// still abort.
    pub first_unstable_offset: i64,
    pub aborted: Vec<AbortedRange>,
}

/// A transaction that ended in ABORT: `producer_id`'s transactional batches from
/// `first_offset` up to its marker at `last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedRange {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

impl AbortedRange {
    /// Whether `h` is one of this transaction's data batches.
    fn holds(&self, h: &crate::record::BatchHeader) -> bool {
        h.is_transactional()
            && !h.is_control()
            && h.producer_id == self.producer_id
            && (self.first_offset..self.last_offset).contains(&h.base_offset)
    }
}

/// A cleaning's output, waiting for [`PartitionLog::install`].
#[derive(Debug)]
pub struct Cleaned {
    groups: Vec<Group>,
    state: CleanerState,
    pub stats: CleanStats,
}

/// Segments rewritten as one.
#[derive(Debug)]
struct Group {
    base: i64,
    replaced: Vec<i64>,
    next_offset: i64,
    size: u64,
    offsets: Vec<OffsetEntry>,
    times: Vec<TimeEntry>,
    cadence: IndexCadence,
}

/// What a cleaning did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments_read: usize,
    pub segments_written: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_removed: u64,
    /// Distinct keys of the dirty part.
    pub keys: usize,
    /// The dirty part that was cleaned: `first_dirty..cleaned_to`.
    pub first_dirty: i64,
    pub cleaned_to: i64,
    /// The job's segments changed before it could be installed; nothing was replaced.
    pub abandoned: bool,
}

impl PartitionLog {
    /// A cleaning this log needs now, if it is compacted and one of the reasons in the module
    /// doc holds. `map_bytes` bounds the memory of the key map (`log.cleaner.dedupe.buffer.size`).
    pub fn clean_job(&self, now_ms: i64, map_bytes: u64, txns: Transactions) -> Option<CleanJob> {
        let compaction = self.config.compaction.clone()?;
        let young = |s: &&Segment| {
            compaction.min_compaction_lag_ms > 0
                && s.max_timestamp()
                    .is_some_and(|(ts, _)| ts > now_ms.saturating_sub(compaction.min_compaction_lag_ms))
        };
        let cleanable: Vec<&Segment> = self
            .sealed
            .iter()
            .take_while(|s| !young(s) && s.next_offset <= txns.first_unstable_offset)
            .collect();
        let first_dirty = self.cleaner.first_dirty.max(self.log_start_offset);
        let (mut clean, mut dirty) = (0u64, 0u64);
        for s in &cleanable {
            match s.next_offset <= first_dirty {
                true => clean += s.size,
                false => dirty += s.size,
            }
        }
        let ratio = match clean + dirty {
            0 => 0.0,
            total => dirty as f64 / total as f64,
        };
        let first_dirty_ts = cleanable
            .iter()
            .find(|s| s.next_offset > first_dirty && s.size > 0)
            .and_then(|s| s.header_at(0).ok())
            .map(|h| h.max_timestamp);
        let reason = if dirty > 0 && ratio >= compaction.min_cleanable_dirty_ratio {
            format!("dirty ratio {ratio:.2} >= min.cleanable.dirty.ratio")
        } else if dirty > 0
            && first_dirty_ts.is_some_and(|ts| ts >= 0 && now_ms.saturating_sub(ts) > compaction.max_compaction_lag_ms)
        {
            "first dirty record older than max.compaction.lag.ms".to_string()
        } else if clean > 0 && self.cleaner.next_horizon.is_some_and(|h| now_ms > h) {
            "tombstones reached their delete horizon".to_string()
        } else {
            return None;
        };
        Some(CleanJob {
            dir: self.dir.clone(),
            sources: cleanable
                .iter()
                .map(|s| Source {
                    base: s.base_offset,
                    next_offset: s.next_offset,
                    size: s.size,
                    file: Arc::clone(&s.file),
                    path: s.log_path.clone(),
                })
                .collect(),
            first_dirty,
            now_ms,
            compaction,
            segment_bytes: self.config.segment_bytes,
            index_interval: self.config.index_interval_bytes,
            map_bytes,
            aborted: txns.aborted,
            reason,
        })
    }
}

fn cleaned_name(base: i64) -> String {
    format!("{}.{CLEANED}", file_name(base, LOG_SUFFIX))
}

pub(crate) use swap::{finish_swaps, was_compacted};

mod rewrite;
mod swap;
#[cfg(test)]
mod tests;
