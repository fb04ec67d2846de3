//! Retention: deleting whole old segments by age (`retention.ms`) and total size
//! (`retention.bytes`), as Kafka does. Records are never removed from inside a segment.

use std::time::UNIX_EPOCH;

use super::error::LogError;
use super::partition::PartitionLog;
use super::segment::Segment;

impl PartitionLog {
    /// Deletes segments, oldest first, while the oldest is expired: its largest timestamp is
    /// older than `now_ms - retention_ms`, or the log without it would still hold at least
    /// `retention_bytes`. Advances the log start offset to the next segment's base. Returns
    /// how many segments went.
    ///
    /// When the active segment itself is expired (every record is), it is rolled first, as
    /// Kafka does, and deleted: the log is then one empty segment and log start = log end.
    /// An empty active segment is never rolled or deleted.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let mut deleted = 0;
        loop {
            let oldest = self.sealed.first().unwrap_or(&self.active);
            if !self.is_expired(oldest, now_ms)? {
                break;
            }
            if self.sealed.is_empty() {
                if self.active.size == 0 {
                    break;
                }
                self.roll()?;
            }
            let oldest = self.sealed.remove(0);
            self.log_start_offset = self
                .log_start_offset
                .max(self.sealed.first().unwrap_or(&self.active).base_offset);
            oldest.delete()?;
            deleted += 1;
        }
        Ok(deleted)
    }

    fn is_expired(&self, segment: &Segment, now_ms: i64) -> Result<bool, LogError> {
        if let Some(limit) = self.config.retention_bytes {
            if self.size_bytes() - segment.size >= limit {
                return Ok(true);
            }
        }
        let Some(retention_ms) = self.config.retention_ms.filter(|ms| *ms >= 0) else {
            return Ok(false);
        };
        Ok(largest_timestamp(segment)? < now_ms.saturating_sub(retention_ms))
    }
}

/// The segment's largest record timestamp, or when its records carry none, the file's
/// modification time (Kafka's `LogSegment.largestTimestamp`).
fn largest_timestamp(segment: &Segment) -> Result<i64, LogError> {
    if let Some((ts, _)) = segment.max_timestamp() {
        return Ok(ts);
    }
    let modified = segment
        .file
        .metadata()
        .and_then(|m| m.modified())
        .map_err(LogError::io("stat", &segment.log_path))?;
    Ok(modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use crate::log::test_log::{append_batches, open, small_config};
    use crate::log::{LogConfig, LogError, PartitionLog};
    use crate::record::test_batch::TestBatch;

    fn bases(log: &PartitionLog) -> Vec<i64> {
        log.segments().map(|s| s.base_offset).collect()
    }

    #[test]
    fn retention_by_time_deletes_whole_old_segments_and_advances_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: Some(1000),
            ..small_config()
        };
        let mut log = open(dir.path(), config.clone());
        // 30 batches of 2 records; record n has timestamp 100 * n.
        for i in 0..30 {
            let mut b = TestBatch::with_timestamps(vec![200 * i, 200 * i + 100]).build();
            log.append(&mut b, 0).unwrap();
        }
        let before = bases(&log);
        let max_ts: Vec<i64> = log.segments().map(|s| s.max_timestamp().unwrap().0).collect();
        let now = max_ts[1] + 1000 + 1; // first two segments are past retention, the third is not
        assert!(max_ts[2] >= now - 1000);
        assert_eq!(log.apply_retention(now).unwrap(), 2);
        assert_eq!(bases(&log), before[2..]);
        assert_eq!(log.log_start_offset(), before[2]);
        assert!(!dir.path().join(format!("{:020}.log", before[0])).exists());
        assert!(matches!(
            log.read(before[2] - 1, 100, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        let r = log.read(before[2], 1 << 20, true).unwrap();
        assert_eq!(r.log_start_offset, before[2]);
        assert_eq!(r.data.len() as u64, log.size_bytes());
        assert_eq!(log.apply_retention(now).unwrap(), 0);
        drop(log);
        let (log, report) = PartitionLog::open(dir.path(), config).unwrap();
        assert_eq!(
            (log.log_start_offset(), report.log_start_offset),
            (before[2], before[2])
        );
    }

    #[test]
    fn retention_by_bytes_keeps_at_least_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_bytes: Some(1500),
            ..small_config()
        };
        let mut log = open(dir.path(), config);
        append_batches(&mut log, 40, 3, 0);
        let sizes: Vec<u64> = log.segments().map(|s| s.size).collect();
        let deleted = log.apply_retention(0).unwrap();
        assert!(deleted > 0);
        let left: u64 = sizes[deleted..].iter().sum();
        assert_eq!(log.size_bytes(), left);
        assert!(left >= 1500, "never below the limit");
        assert!(
            left - sizes[deleted] < 1500,
            "the next segment is needed to stay at the limit"
        );
        assert_eq!(log.log_start_offset(), bases(&log)[0]);
    }

    #[test]
    fn fully_expired_log_rolls_its_active_segment_and_is_empty_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: Some(1000),
            ..LogConfig::default()
        };
        let mut log = open(dir.path(), config.clone());
        append_batches(&mut log, 3, 2, 0);
        assert_eq!(log.apply_retention(10_000).unwrap(), 1);
        assert_eq!(
            (log.log_start_offset(), log.log_end_offset(), log.size_bytes()),
            (6, 6, 0)
        );
        assert!(log.read(6, 100, true).unwrap().data.is_empty());
        assert_eq!(log.apply_retention(10_000).unwrap(), 0, "an empty active segment stays");
        drop(log);
        let (mut log, report) = PartitionLog::open(dir.path(), config).unwrap();
        assert_eq!(
            (report.log_start_offset, report.log_end_offset, report.segments),
            (6, 6, 1)
        );
        let mut b = TestBatch::new(1, 20_000).build();
        assert_eq!(log.append(&mut b, 20_000).unwrap().base_offset, 6);
    }

    #[test]
    fn no_retention_settings_keep_everything() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 30, 2, 0);
        assert_eq!(log.apply_retention(i64::MAX).unwrap(), 0);
        assert_eq!(log.log_start_offset(), 0);
    }

    #[test]
    fn segments_without_timestamps_age_by_file_modification_time() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: Some(1000),
            ..small_config()
        };
        let mut log = open(dir.path(), config);
        for _ in 0..20 {
            let mut b = TestBatch::with_timestamps(vec![-1, -1]).build();
            log.append(&mut b, 0).unwrap();
        }
        assert_eq!(log.max_timestamp(), None);
        assert_eq!(log.apply_retention(0).unwrap(), 0, "files written just now are young");
        let segments = log.segments().count();
        assert_eq!(log.apply_retention(i64::MAX).unwrap(), segments);
    }
}
