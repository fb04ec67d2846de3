//! One partition's log: an ordered run of segments, the last of which takes appends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::config::LogConfig;
use super::error::LogError;
use super::recovery::{recover, sync_dir, RecoveryReport};
use super::segment::Segment;
use crate::record::{stamp, BatchHeader};

/// Where an appended batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_end_offset: i64,
}

/// Stored batches for a Fetch, as stored: whole batches, concatenated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub data: Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

#[derive(Debug)]
pub struct PartitionLog {
    pub(super) dir: PathBuf,
    pub(super) config: LogConfig,
    /// Rolled segments, oldest first; immutable and fsynced.
    pub(super) sealed: Vec<Segment>,
    /// The segment appends go to. Kept apart so "there is always one" needs no runtime check.
    pub(super) active: Segment,
    pub(super) log_start_offset: i64,
    /// Where compaction stopped (`clean`); unused for a log that is not compacted.
    pub(super) cleaner: super::clean::CleanerState,
}

impl PartitionLog {
    /// Opens `dir` (creating it if needed) and recovers it; see `recovery` for what is checked.
    pub fn open(dir: &Path, config: LogConfig) -> Result<(PartitionLog, RecoveryReport), LogError> {
        std::fs::create_dir_all(dir).map_err(LogError::io("create", dir))?;
        let (sealed, active, mut report) = recover(dir, config.index_interval_bytes)?;
        // A checkpointed start (DeleteRecords) lies inside the first segment; it never passes
        // the log end, which recovery may have moved back below it.
        let log_end_offset = active.next_offset;
        let log_start_offset = super::start::read_checkpoint(dir)
            .unwrap_or(i64::MIN)
            .max(sealed.first().unwrap_or(&active).base_offset)
            .min(log_end_offset);
        let log = PartitionLog {
            dir: dir.to_path_buf(),
            config,
            sealed,
            active,
            log_start_offset,
            cleaner: super::clean::CleanerState::read(dir),
        };
        report.log_start_offset = log.log_start_offset;
        report.log_end_offset = log.log_end_offset();
        Ok((log, report))
    }

    /// Appends one batch the caller has validated (CRC, magic, counts). Stamps its base offset
    /// (the log end offset) and leader epoch -1 into `batch`, rolls first if the active segment
    /// is full or old, then writes it with one positioned write.
    pub fn append(&mut self, batch: &mut [u8], now_ms: i64) -> Result<AppendInfo, LogError> {
        let len = batch.len();
        let header = BatchHeader::parse(batch).map_err(|e| LogError::invalid_batch(len, e))?;
        if header.total_len() != len as u64 || header.last_offset_delta < 0 {
            return Err(LogError::InvalidBatch {
                len,
                reason: format!(
                    "header says {} bytes and last offset delta {}",
                    header.total_len(),
                    header.last_offset_delta
                ),
            });
        }
        let base_offset = self.log_end_offset();
        // Offsets come from file names and contents; keep `last_offset + 1` representable.
        let Some(last_offset) = base_offset
            .checked_add(i64::from(header.last_offset_delta))
            .filter(|last| *last < i64::MAX)
        else {
            return Err(LogError::InvalidBatch {
                len,
                reason: format!("offsets past {base_offset} overflow"),
            });
        };
        if self.active.needs_roll(len as u64, last_offset, now_ms, &self.config) {
            self.roll()?;
        }
        stamp(batch, base_offset, super::LEADER_EPOCH);
        let header = BatchHeader {
            base_offset,
            partition_leader_epoch: super::LEADER_EPOCH,
            ..header
        };
        self.active.append(batch, &header, now_ms, self.config.segment_bytes)?;
        Ok(AppendInfo {
            base_offset,
            last_offset,
            log_end_offset: last_offset + 1,
        })
    }

    /// Seals the active segment (fsync of the log and its indexes) and starts a new one at the
    /// log end offset. The directory is fsynced so the new file survives a power cut before the
    /// next group commit fsyncs its contents.
    pub(super) fn roll(&mut self) -> Result<(), LogError> {
        self.active.seal()?;
        let next = Segment::create(&self.dir, self.active.next_offset, self.config.index_interval_bytes)?;
        sync_dir(&self.dir)?;
        let old = std::mem::replace(&mut self.active, next);
        self.sealed.push(old);
        Ok(())
    }

    /// Whole batches from the one containing `fetch_offset`, up to `max_bytes`; with `min_one`
    /// the first batch comes whole even if larger (KIP-74). May span segments.
    pub fn read(&self, fetch_offset: i64, max_bytes: usize, min_one: bool) -> Result<ReadResult, LogError> {
        self.check_range(fetch_offset)?;
        let mut data = Vec::new();
        if fetch_offset < self.log_end_offset() {
            let mut budget = max_bytes;
            for (i, segment) in self.segments_from(fetch_offset).enumerate() {
                let pos = match i {
                    0 => match segment.find_batch(fetch_offset)? {
                        Some((pos, _)) => pos,
                        None => continue,
                    },
                    _ => 0,
                };
                let added = segment.read_batches(pos, budget, min_one && data.is_empty(), &mut data)?;
                budget = budget.saturating_sub(added as usize);
                if pos + added < segment.size || budget == 0 {
                    break;
                }
            }
        }
        Ok(ReadResult {
            data: Bytes::from(data),
            high_watermark: self.log_end_offset(),
            log_start_offset: self.log_start_offset,
        })
    }

    /// Headers of every batch holding an offset >= `from_offset`, across all segments (clamped
    /// to the log start). One positioned header read per batch; no record bytes are read.
    pub fn batch_headers_from(&self, from_offset: i64) -> Result<Vec<BatchHeader>, LogError> {
        let from = from_offset.max(self.log_start_offset);
        let mut headers = Vec::new();
        if from >= self.log_end_offset() {
            return Ok(headers);
        }
        for (i, segment) in self.segments_from(from).enumerate() {
            let pos = match i {
                0 => match segment.find_batch(from)? {
                    Some((pos, _)) => pos,
                    None => continue,
                },
                _ => 0,
            };
            for item in segment.headers(pos) {
                headers.push(item?.1);
            }
        }
        Ok(headers)
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// One past the last offset; the high watermark on a single node.
    pub fn log_end_offset(&self) -> i64 {
        self.active.next_offset
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments().map(|s| s.size).sum()
    }

    /// The active segment's file and the log end offset it covers, for group commit: the
    /// caller fsyncs outside whatever lock guards this log. Rolled segments are already synced.
    pub fn sync_target(&self) -> (Arc<std::fs::File>, i64) {
        (Arc::clone(&self.active.file), self.log_end_offset())
    }

    /// fsyncs the active segment, its indexes and the directory (clean shutdown). Rolled
    /// segments were fsynced when they rolled.
    pub fn flush(&self) -> Result<(), LogError> {
        self.active.sync()?;
        sync_dir(&self.dir)
    }

    /// Cuts the active segment's preallocated zeros and flushes (clean shutdown), so the files
    /// on disk hold exactly the log. Appending after it is allowed; it preallocates again.
    pub fn close(&mut self) -> Result<(), LogError> {
        self.active.trim()?;
        self.flush()
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// New settings for what comes next: the next roll, the next retention check. Segments
    /// already written keep their size and index.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    pub(super) fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.sealed.iter().chain(std::iter::once(&self.active))
    }

    /// Segments starting with the one whose range holds `offset` (>= the log start).
    fn segments_from(&self, offset: i64) -> impl Iterator<Item = &Segment> {
        let below =
            self.sealed.partition_point(|s| s.base_offset <= offset) + usize::from(self.active.base_offset <= offset);
        self.segments().skip(below.saturating_sub(1))
    }

    fn check_range(&self, offset: i64) -> Result<(), LogError> {
        if offset < self.log_start_offset || offset > self.log_end_offset() {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_log::{append_batches, open, small_config};
    use crate::record::test_batch::TestBatch;

    fn offsets(data: &[u8]) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let h = BatchHeader::parse(rest).unwrap();
            out.push((h.base_offset, h.last_offset()));
            rest = &rest[h.total_len() as usize..];
        }
        out
    }

    #[test]
    fn partition_log_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<PartitionLog>();
    }

    #[test]
    fn new_log_is_empty_at_offset_zero() {
        let dir = tempfile::tempdir().unwrap();
        let (log, report) = PartitionLog::open(&dir.path().join("t-0"), LogConfig::default()).unwrap();
        assert_eq!(
            (log.log_start_offset(), log.log_end_offset(), log.size_bytes()),
            (0, 0, 0)
        );
        assert_eq!(
            (report.log_start_offset, report.log_end_offset, report.segments),
            (0, 0, 1)
        );
        assert!(dir.path().join("t-0/00000000000000000000.log").exists());
    }

    #[test]
    fn append_then_read_returns_identical_bytes_with_stamped_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let mut first = TestBatch::new(3, 1000).build();
        let sent = first.clone();
        let info = log.append(&mut first, 0).unwrap();
        assert_eq!(
            info,
            AppendInfo {
                base_offset: 0,
                last_offset: 2,
                log_end_offset: 3
            }
        );
        let mut second = TestBatch::new(2, 2000).build();
        let info = log.append(&mut second, 0).unwrap();
        assert_eq!(
            info,
            AppendInfo {
                base_offset: 3,
                last_offset: 4,
                log_end_offset: 5
            }
        );

        assert_eq!(&first[8..12], &sent[8..12]);
        assert_eq!(&first[16..], &sent[16..], "everything from magic on is stored as sent");
        let h = BatchHeader::parse(&second).unwrap();
        assert_eq!((h.base_offset, h.partition_leader_epoch), (3, crate::log::LEADER_EPOCH));
        assert!(crate::record::crc_ok(&second));

        let r = log.read(0, 1 << 20, true).unwrap();
        assert_eq!(r.data, [first, second].concat());
        assert_eq!((r.high_watermark, r.log_start_offset), (5, 0));
    }

    #[test]
    fn read_from_mid_batch_returns_containing_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let batches = append_batches(&mut log, 6, 4, 0);
        let r = log.read(10, 1 << 20, true).unwrap();
        assert_eq!(offsets(&r.data)[0], (8, 11));
        assert_eq!(r.data, batches[2..].concat());
    }

    #[test]
    fn max_bytes_cuts_at_batch_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let batches = append_batches(&mut log, 5, 3, 0);
        let len = batches[0].len();
        let r = log.read(0, 2 * len + len / 2, true).unwrap();
        assert_eq!(r.data, batches[..2].concat());
        let r = log.read(3, 2 * len, false).unwrap();
        assert_eq!(r.data, batches[1..3].concat());
    }

    #[test]
    fn oversized_first_batch_is_whole_only_with_min_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let batches = append_batches(&mut log, 2, 3, 0);
        assert_eq!(log.read(1, 10, true).unwrap().data, batches[0]);
        assert!(log.read(1, 10, false).unwrap().data.is_empty());
        assert!(log.read(0, 0, false).unwrap().data.is_empty());
    }

    #[test]
    fn offset_outside_log_is_out_of_range_and_log_end_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        append_batches(&mut log, 2, 3, 0);
        let r = log.read(6, 1000, true).unwrap();
        assert!(r.data.is_empty());
        assert_eq!(r.high_watermark, 6);
        for offset in [-1, 7, i64::MAX] {
            assert!(matches!(
                log.read(offset, 1000, true),
                Err(LogError::OffsetOutOfRange { offset: o, log_start_offset: 0, log_end_offset: 6 }) if o == offset
            ));
        }
    }

    #[test]
    fn segment_rolls_by_bytes_and_reads_span_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let batches = append_batches(&mut log, 20, 3, 0);
        assert_eq!(log.sealed.len(), 2, "20 batches of 112 bytes in segments of 1000");
        for s in log.segments() {
            assert!(s.size <= 1000);
            assert!(dir.path().join(format!("{:020}.log", s.base_offset)).exists());
        }
        let all = log.read(0, 1 << 20, true).unwrap().data;
        assert_eq!(all, batches.concat());
        let r = log.read(31, 1 << 20, true).unwrap();
        assert_eq!(r.data, batches[10..].concat());
        let expected: Vec<_> = (0..20).map(|i| (i * 3, i * 3 + 2)).collect();
        assert_eq!(offsets(&all), expected);
    }

    #[test]
    fn batch_larger_than_segment_bytes_gets_its_own_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 1, 1, 0);
        let mut big = TestBatch::new(2, 0).value_len(2000).build();
        log.append(&mut big, 0).unwrap();
        assert_eq!(log.sealed.len(), 1);
        assert_eq!(log.active.size, big.len() as u64);
        assert_eq!(log.read(1, 10, true).unwrap().data, big);
    }

    #[test]
    fn segment_rolls_when_segment_ms_passed_since_first_batch() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_ms: Some(1000),
            ..LogConfig::default()
        };
        let mut log = open(dir.path(), config);
        let append_at = |log: &mut PartitionLog, now| {
            let mut b = TestBatch::new(1, now).build();
            log.append(&mut b, now).unwrap().base_offset
        };
        append_at(&mut log, 10_000);
        append_at(&mut log, 11_000);
        assert_eq!(log.sealed.len(), 0, "exactly segment_ms is not yet past it");
        append_at(&mut log, 11_001);
        assert_eq!(log.sealed.len(), 1);
        assert_eq!(log.active.base_offset, 2);
        append_at(&mut log, 12_000);
        assert_eq!(log.sealed.len(), 1);
        assert_eq!(log.read(0, 1 << 20, true).unwrap().data.len() as u64, log.size_bytes());
    }

    #[test]
    fn reopen_after_clean_close_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let batches = append_batches(&mut log, 25, 3, 100);
        let (sealed, end, max_ts) = (log.sealed.len(), log.log_end_offset(), log.max_timestamp());
        log.flush().unwrap();
        drop(log);
        let (mut log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert_eq!(report.segments, sealed + 1);
        assert_eq!((report.log_start_offset, report.log_end_offset), (0, end));
        assert_eq!((report.truncated_bytes, report.reason.as_deref()), (0, None));
        assert_eq!(report.indexes_rebuilt, 0, "indexes written by appends match a rebuild");
        assert_eq!(log.max_timestamp(), max_ts);
        assert_eq!(log.read(0, 1 << 20, true).unwrap().data, batches.concat());
        let mut more = TestBatch::new(2, 0).build();
        assert_eq!(log.append(&mut more, 0).unwrap().base_offset, end);
    }

    #[test]
    fn batch_headers_from_lists_every_batch_from_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 12, 2, 0);
        let bases: Vec<i64> = log
            .batch_headers_from(5)
            .unwrap()
            .iter()
            .map(|h| h.base_offset)
            .collect();
        assert_eq!(bases, (2..12).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(log.batch_headers_from(-5).unwrap().len(), 12);
        assert!(log.batch_headers_from(24).unwrap().is_empty());
    }

    #[test]
    fn append_rejects_bytes_that_are_not_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let mut b = TestBatch::new(2, 0).build();
        b.push(0);
        assert!(matches!(log.append(&mut b, 0), Err(LogError::InvalidBatch { .. })));
        assert!(matches!(
            log.append(&mut [0u8; 10], 0),
            Err(LogError::InvalidBatch { .. })
        ));
        assert_eq!(log.log_end_offset(), 0);
    }

    #[test]
    fn offsets_that_would_overflow_are_refused_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        let base = i64::MAX - 5;
        std::fs::write(dir.path().join(format!("{base:020}.log")), b"").unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        assert_eq!(log.log_end_offset(), base);
        let mut b = TestBatch::new(10, 0).build();
        assert!(matches!(log.append(&mut b, 0), Err(LogError::InvalidBatch { .. })));
        let mut b = TestBatch::new(5, 0).build();
        assert_eq!(log.append(&mut b, 0).unwrap().log_end_offset, i64::MAX);
    }

    #[test]
    fn sync_target_is_the_active_segment_at_log_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 12, 2, 0);
        let (file, end) = log.sync_target();
        assert_eq!(end, 24);
        assert!(Arc::ptr_eq(&file, &log.active.file));
        file.sync_data().unwrap();
    }
}

#[cfg(test)]
mod throughput {
    use std::time::Instant;

    use super::*;
    use crate::record::test_batch::TestBatch;

    /// Not a benchmark, a smoke check that the append and read paths do no per-record work:
    /// `cargo test -p broker --lib log::partition::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn appends_and_reads_thousands_of_records_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 64 << 20,
            ..LogConfig::default()
        };
        let (mut log, _) = PartitionLog::open(dir.path(), config.clone()).unwrap();
        let template = TestBatch::new(2000, 0).value_len(90).build();
        let batches = 500;
        let mut batch = template.clone();
        let started = Instant::now();
        for _ in 0..batches {
            batch.copy_from_slice(&template);
            log.append(&mut batch, 0).unwrap();
        }
        let append = started.elapsed();
        let started = Instant::now();
        let mut offset = 0;
        let mut bytes = 0;
        while offset < log.log_end_offset() {
            let r = log.read(offset, 4 << 20, true).unwrap();
            bytes += r.data.len();
            offset += (r.data.len() / template.len()) as i64 * 2000;
        }
        let read = started.elapsed();
        drop(log);
        std::fs::remove_file(dir.path().join("00000000000000000000.index")).unwrap();
        let started = Instant::now();
        let (_, report) = PartitionLog::open(dir.path(), config).unwrap();
        let recover = started.elapsed();
        assert_eq!((report.batches_checked, report.indexes_rebuilt), (batches as u64, 1));
        let records = (batches * 2000) as f64;
        println!(
            "append: {:.1}M records/s, {:.0} MB/s; read: {:.0} MB/s; recover: {:.0} MB/s",
            records / append.as_secs_f64() / 1e6,
            (batches * template.len()) as f64 / append.as_secs_f64() / 1e6,
            bytes as f64 / read.as_secs_f64() / 1e6,
            bytes as f64 / recover.as_secs_f64() / 1e6,
        );
    }
}
