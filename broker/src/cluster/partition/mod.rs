//! One topic-partition as the request handlers see it: its log, its idempotent producers, its
//! open and aborted transactions, and group commit for `acks=all`. Appends, fsyncs and the log's
//! upkeep are here; reads (Fetch, offsets, what admin APIs describe) in `read`.
//!
//! Locks: `state` is a std `RwLock` because every use is a short, non-async critical section
//! (one write or a few positioned reads); it is never held across an `.await`. `synced` is a tokio
//! mutex on purpose: it serialises fsyncs, so producers that arrive while one fsync runs wait for
//! it and then find their data already covered by the next one — that is the group commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::cluster::partition_txns::PartitionTxns;
use crate::cluster::producer_state::{IdempotentBatch, ProducerStates, ProducerSummary, SequenceCheck, SequenceError};
use crate::cluster::topic_config::TopicConfig;
pub use crate::log::LEADER_EPOCH;
use crate::log::{
    AbortedRange, AppendInfo, CleanJob, CleanStats, Cleaned, CleanerTransactions, LogConfig, LogError, PartitionLog,
    RecoveryReport,
};
use crate::record::{control_type, BatchHeader};

/// Why an append was refused; each maps to a Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("producer sequence check failed: {0:?}")]
    Sequence(SequenceError),
    #[error(transparent)]
    Log(#[from] LogError),
}

/// The result of appending one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored at these offsets.
    New(AppendInfo),
    /// A producer retry of a batch already stored at `base_offset..end_offset`.
    Duplicate { base_offset: i64, end_offset: i64 },
}

impl Appended {
    pub fn base_offset(&self) -> i64 {
        match self {
            Appended::New(info) => info.base_offset,
            Appended::Duplicate { base_offset, .. } => *base_offset,
        }
    }

    /// The offset after the batch's last record: what must be on disk before acks=all answers.
    pub fn end_offset(&self) -> i64 {
        match self {
            Appended::New(info) => info.log_end_offset,
            Appended::Duplicate { end_offset, .. } => *end_offset,
        }
    }
}

mod read;

pub use read::Fetched;

struct State {
    log: PartitionLog,
    producers: ProducerStates,
    txns: PartitionTxns,
}

impl State {
    /// Follows a stored batch into the producer and transaction state.
    fn track(&mut self, header: &BatchHeader, batch: &[u8], base_offset: i64) {
        if header.producer_id >= 0 {
            self.producers.note_timestamp(header.producer_id, header.max_timestamp);
        }
        if !header.is_transactional() || header.producer_id < 0 {
            return;
        }
        if header.is_control() {
            if let Some(kind) = control_type(batch, header) {
                self.txns.on_marker(header.producer_id, base_offset, kind);
                let coordinator_epoch = crate::record::marker_coordinator_epoch(batch).unwrap_or(-1);
                self.producers
                    .fence(header.producer_id, header.producer_epoch, coordinator_epoch);
            }
        } else {
            self.txns.on_data(header.producer_id, base_offset);
        }
    }
}

pub struct Partition {
    pub index: i32,
    dir: PathBuf,
    state: RwLock<State>,
    /// The log end offset known to be on disk.
    synced: tokio::sync::Mutex<i64>,
    /// An fsync failed: what the page cache holds may never reach the disk (Linux can mark the
    /// pages clean after the error), so nothing more is acknowledged or appended until a restart
    /// recovers the log from what is on disk. Kafka takes the log directory offline likewise.
    failed: std::sync::atomic::AtomicBool,
    /// Records and bytes produced to and fetched from this partition, read at scrape time.
    pub stats: crate::cluster::stats::PartitionStats,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("dir", &self.dir)
            .field("index", &self.index)
            .finish()
    }
}

pub fn log_config(config: &TopicConfig) -> LogConfig {
    LogConfig {
        segment_bytes: config.segment_bytes,
        segment_ms: Some(config.segment_ms),
        // A compact-only topic keeps its segments however old or large (Kafka's rule).
        retention_ms: config.retention_ms.filter(|_| config.delete),
        retention_bytes: config.retention_bytes.filter(|_| config.delete),
        index_interval_bytes: config.index_interval_bytes,
        compaction: config.compact.then(|| config.compaction.clone()),
    }
}

impl Partition {
    /// Opens (and recovers) the log in `dir`, rebuilding idempotent producer state and open and
    /// aborted transactions from the batches the log still has (markers are read whole, the rest
    /// by header).
    pub fn open(dir: &Path, index: i32, config: LogConfig) -> Result<(Partition, RecoveryReport), LogError> {
        let (log, report) = PartitionLog::open(dir, config)?;
        let mut state = State {
            log,
            producers: ProducerStates::default(),
            txns: PartitionTxns::default(),
        };
        for h in state.log.batch_headers_from(state.log.log_start_offset())? {
            if h.producer_id >= 0 && h.base_sequence >= 0 && !h.is_control() {
                let b = IdempotentBatch::new(h.producer_id, h.producer_epoch, h.base_sequence, h.last_offset_delta);
                state.producers.record(&b, h.base_offset);
            }
            let batch = match h.is_control() {
                true => state.log.read(h.base_offset, h.total_len() as usize, true)?.data,
                false => Default::default(),
            };
            state.track(&h, &batch, h.base_offset);
        }
        let synced = state.log.log_end_offset();
        let state = RwLock::new(state);
        Ok((
            Partition {
                index,
                dir: dir.to_path_buf(),
                state,
                synced: tokio::sync::Mutex::new(synced),
                failed: Default::default(),
                stats: Default::default(),
            },
            report,
        ))
    }

    /// Appends one validated batch (offsets are stamped by the log).
    pub fn append(&self, batch: &mut [u8], header: &BatchHeader, now_ms: i64) -> Result<Appended, AppendError> {
        self.append_checked(batch, header, now_ms, |_| Ok(()))
    }

    /// Appends a transaction marker that a client sent (WriteTxnMarkers) rather than this
    /// broker's coordinator, after Kafka's epoch checks, made under the append's own lock so no
    /// batch or marker of the producer can come between.
    pub fn append_client_marker(
        &self,
        batch: &mut [u8],
        header: &BatchHeader,
        now_ms: i64,
    ) -> Result<Appended, AppendError> {
        let coordinator_epoch = crate::record::marker_coordinator_epoch(batch).unwrap_or(-1);
        self.append_checked(batch, header, now_ms, |producers| {
            producers
                .check_marker(header.producer_id, header.producer_epoch, coordinator_epoch)
                .map_err(AppendError::Sequence)
        })
    }

    fn append_checked(
        &self,
        batch: &mut [u8],
        header: &BatchHeader,
        now_ms: i64,
        check: impl FnOnce(&ProducerStates) -> Result<(), AppendError>,
    ) -> Result<Appended, AppendError> {
        // Markers and the coordinator's transactional offset commits carry no sequence (a
        // marker moves the producer's epoch on instead, `State::track`); clients' batches with
        // a producer id always do (`api::produce::checks`).
        let idempotent = (header.producer_id >= 0 && header.base_sequence >= 0 && !header.is_control()).then(|| {
            IdempotentBatch::new(
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
                header.last_offset_delta,
            )
        });
        if self.failed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(AppendError::Log(self.offline()));
        }
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        check(&state.producers)?;
        if let Some(b) = &idempotent {
            if let SequenceCheck::Duplicate { base_offset } = state.producers.check(b).map_err(AppendError::Sequence)? {
                let end_offset = base_offset + i64::from(header.last_offset_delta) + 1;
                return Ok(Appended::Duplicate {
                    base_offset,
                    end_offset,
                });
            }
        }
        let info = state.log.append(batch, now_ms)?;
        if let Some(b) = &idempotent {
            state.producers.record(b, info.base_offset);
        }
        state.track(header, batch, info.base_offset);
        Ok(Appended::New(info))
    }

    /// Returns once everything up to `offset` (exclusive) is fsynced. Concurrent callers share
    /// one fsync: whoever holds `synced` syncs all that was appended so far.
    pub async fn sync_to(&self, offset: i64) -> Result<(), LogError> {
        let mut synced = self.synced.lock().await;
        if self.failed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(self.offline());
        }
        if *synced >= offset {
            return Ok(());
        }
        let (file, end) = self.read_state(|s| s.log.sync_target());
        let result = match tokio::task::spawn_blocking(move || file.sync_data()).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        };
        if let Err(source) = result {
            return Err(self.fsync_failed(source));
        }
        self.stats.fsynced();
        *synced = end;
        Ok(())
    }

    /// Takes the partition out of service for writes (see `failed`) and logs why, once.
    fn fsync_failed(&self, source: std::io::Error) -> LogError {
        self.failed.store(true, std::sync::atomic::Ordering::Release);
        tracing::error!(dir = %self.dir.display(), error = %source, "fsync failed: the partition takes no more writes until the broker restarts");
        LogError::Io {
            op: "fsync",
            path: self.dir.clone(),
            source,
        }
    }

    /// The error every write gets once an fsync has failed.
    fn offline(&self) -> LogError {
        LogError::Io {
            op: "fsync",
            path: self.dir.clone(),
            source: std::io::Error::other("an earlier fsync of this partition failed; restart the broker"),
        }
    }

    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let deleted = state.log.apply_retention(now_ms)?;
        let start = state.log.log_start_offset();
        state.txns.forget_before(start);
        Ok(deleted)
    }

    /// The compaction this partition needs now, if any (`log::clean`): chosen under the read
    /// lock, run by the caller without any lock, then given to [`Partition::install_cleaned`].
    pub fn clean_job(&self, now_ms: i64, map_bytes: u64) -> Option<CleanJob> {
        self.read_state(|s| {
            let txns = CleanerTransactions {
                first_unstable_offset: s.txns.last_stable_offset(s.log.log_end_offset()),
                aborted: s
                    .txns
                    .aborted()
                    .iter()
                    .map(|t| AbortedRange {
                        producer_id: t.producer_id,
                        first_offset: t.first_offset,
                        last_offset: t.last_offset,
                    })
                    .collect(),
            };
            s.log.clean_job(now_ms, map_bytes, txns)
        })
    }

    pub fn install_cleaned(&self, cleaned: Cleaned) -> Result<CleanStats, LogError> {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.log.install(cleaned)
    }

    /// Starts a new segment at the log end offset unless the active one is empty.
    pub fn roll(&self) -> Result<bool, LogError> {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.log.roll_active()
    }

    /// Deletes the segments that lie wholly below `offset`; the log start offset advances.
    pub fn delete_segments_before(&self, offset: i64) -> Result<usize, LogError> {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.log.delete_segments_before(offset)
    }

    pub fn flush(&self) -> Result<(), LogError> {
        self.read_state(|s| s.log.flush())
    }

    /// Flushes and cuts the log's preallocated zeros (clean shutdown).
    pub fn close(&self) -> Result<(), LogError> {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.log.close()
    }

    /// The settings the log rolls and retains by.
    pub fn log_settings(&self) -> LogConfig {
        self.read_state(|s| s.log.config().clone())
    }

    /// A topic's configs changed (IncrementalAlterConfigs): the log rolls and retains by these
    /// from now on.
    pub fn set_log_config(&self, config: LogConfig) {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.log.set_config(config);
    }

    /// Moves the log start offset up to `offset` (DeleteRecords), durably; returns the log start
    /// offset after it.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, LogError> {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = state.log.delete_records_before(offset)?;
        state.txns.forget_before(start);
        Ok(start)
    }

    // A poisoned lock means a thread panicked mid-append; the log's own recovery rules still
    // hold for what is on disk, so keep serving rather than failing every later request.
    fn read_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// Kafka's answer to a request naming the leader epoch it believes current (KIP-320): -1 opts
/// out of the check; a later epoch than the partition's is UNKNOWN_LEADER_EPOCH (the client has
/// heard of a leader this node does not know), an earlier one FENCED_LEADER_EPOCH.
pub fn check_leader_epoch(current: i32) -> Option<kafka_protocol::error::ResponseError> {
    use kafka_protocol::error::ResponseError;
    match current {
        c if c < 0 || c == LEADER_EPOCH => None,
        c if c > LEADER_EPOCH => Some(ResponseError::UnknownLeaderEpoch),
        _ => Some(ResponseError::FencedLeaderEpoch),
    }
}

/// Shared handle used by the registry and the handlers.
pub type PartitionRef = Arc<Partition>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_batch::TestBatch;

    #[tokio::test]
    async fn after_a_failed_fsync_nothing_more_is_appended_or_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = Partition::open(dir.path(), 0, LogConfig::default()).unwrap();
        let append = |p: &Partition| {
            let mut batch = TestBatch::new(2, 0).build();
            let header = BatchHeader::parse(&batch).unwrap();
            p.append(&mut batch, &header, 0)
        };
        let first = append(&p).unwrap();
        p.sync_to(first.end_offset()).await.unwrap();
        let second = append(&p).unwrap();
        // What a failing disk reports; the pages may now be clean without being on disk.
        let _ = p.fsync_failed(std::io::Error::other("EIO"));
        assert!(
            p.sync_to(second.end_offset()).await.is_err(),
            "the batch is not acknowledged"
        );
        assert!(p.sync_to(first.end_offset()).await.is_err(), "nor anything else");
        assert!(
            matches!(append(&p), Err(AppendError::Log(_))),
            "and nothing is appended"
        );
        assert_eq!(p.offsets().1, 4);
    }
}
