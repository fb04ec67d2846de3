//! Dropping a prefix of the log on the caller's say-so, for callers that rewrite what is still
//! live at the log end and then no longer need the history before it (a snapshot): roll so the
//! rewrite starts a fresh segment, append it, make it durable, then delete every segment that
//! lies wholly below the rewrite's first offset. Only whole segments go, as with retention.

use super::error::LogError;
use super::partition::PartitionLog;

impl PartitionLog {
    /// Seals the active segment and starts a new one at the log end offset, unless the active
    /// segment is empty (then it already starts at the log end). Returns whether it rolled.
    pub fn roll_active(&mut self) -> Result<bool, LogError> {
        if self.active.size == 0 {
            return Ok(false);
        }
        self.roll()?;
        Ok(true)
    }

    /// Deletes, oldest first, every rolled segment whose offsets all lie below `offset`, and
    /// advances the log start offset to the first segment left. The active segment is never
    /// deleted, so the log end offset is unchanged. Returns how many segments went.
    pub fn delete_segments_before(&mut self, offset: i64) -> Result<usize, LogError> {
        let mut deleted = 0;
        while let Some(oldest) = self.sealed.first() {
            let next_base = self.sealed.get(1).unwrap_or(&self.active).base_offset;
            if next_base > offset || oldest.base_offset >= offset {
                break;
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
    fn roll_starts_a_new_segment_only_when_the_active_one_has_data() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        assert!(!log.roll_active().unwrap(), "an empty active segment is kept");
        append_batches(&mut log, 2, 3, 0);
        assert!(log.roll_active().unwrap());
        assert_eq!(bases(&log), vec![0, 6]);
        assert!(!log.roll_active().unwrap());
        assert!(dir.path().join(format!("{:020}.log", 6)).exists());
    }

    #[test]
    fn segments_wholly_below_an_offset_are_deleted_and_log_start_advances() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 20, 3, 0);
        let before = bases(&log);
        assert!(before.len() >= 3);
        // An offset inside the second segment keeps that segment: it still holds live offsets.
        assert_eq!(log.delete_segments_before(before[1] + 1).unwrap(), 1);
        assert_eq!(bases(&log), before[1..]);
        assert_eq!(log.log_start_offset(), before[1]);
        assert!(!dir.path().join(format!("{:020}.log", before[0])).exists());
        assert!(matches!(
            log.read(before[1] - 1, 100, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(log.delete_segments_before(0).unwrap(), 0);
    }

    #[test]
    fn the_active_segment_survives_any_offset_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 20, 3, 0);
        let end = log.log_end_offset();
        log.roll_active().unwrap();
        let rewritten = log.log_end_offset();
        let mut b = TestBatch::new(2, 0).build();
        log.append(&mut b, 0).unwrap();
        log.delete_segments_before(i64::MAX).unwrap();
        assert_eq!(bases(&log), vec![rewritten]);
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (end, end + 2));
        let r = log.read(end, 1 << 20, true).unwrap();
        assert_eq!(r.data, b);
        drop(log);
        let (log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert_eq!((report.log_start_offset, log.log_end_offset()), (end, end + 2));
    }
}
