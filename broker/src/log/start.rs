//! Moving the log start offset on request (DeleteRecords, KIP-107): the records before it are
//! gone for readers at once, the segments wholly below it are deleted, and the offset itself is
//! kept in `<dir>/log-start-offset` so it survives a restart. Kafka keeps the same number per
//! partition in its `log-start-offset-checkpoint` file.

use std::path::Path;

use super::error::LogError;
use super::partition::PartitionLog;
use super::recovery::write_atomically;

/// The file that keeps a log start offset above the first segment's base offset.
pub const CHECKPOINT: &str = "log-start-offset";

impl PartitionLog {
    /// Makes `offset` the log start offset, durably, then deletes the segments wholly below
    /// it; returns the log start offset (unchanged if `offset` is not above it). An offset past
    /// the log end is out of range.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        if offset > self.log_end_offset() || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        write_atomically(&self.dir, CHECKPOINT, offset.to_string().as_bytes())?;
        self.log_start_offset = offset;
        self.delete_segments_before(offset)?;
        Ok(self.log_start_offset)
    }
}

/// The checkpointed log start offset of `dir`, if one was kept and reads as a number.
pub(super) fn read_checkpoint(dir: &Path) -> Option<i64> {
    std::fs::read_to_string(dir.join(CHECKPOINT)).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use crate::log::test_log::{append_batches, open, small_config};
    use crate::log::{LogError, PartitionLog};

    #[test]
    fn deleted_records_stay_deleted_across_a_restart_and_whole_segments_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 40, 3, 0);
        let segments = log.segments().count();
        assert!(segments > 3, "small segments: {segments}");
        assert_eq!(log.delete_records_before(61).unwrap(), 61);
        assert_eq!(log.log_start_offset(), 61);
        assert!(
            log.segments().count() < segments,
            "segments wholly below 61 are deleted"
        );
        assert!(matches!(
            log.read(60, 1 << 20, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        // The batch holding offset 61 is read whole, as Kafka returns it.
        let r = log.read(61, 1 << 20, true).unwrap();
        assert_eq!(r.log_start_offset, 61);
        assert!(!r.data.is_empty());
        // Lower or equal: nothing changes.
        assert_eq!(log.delete_records_before(10).unwrap(), 61);
        assert!(matches!(
            log.delete_records_before(121),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        drop(log);
        let (log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert_eq!((log.log_start_offset(), report.log_start_offset), (61, 61));
    }

    #[test]
    fn the_whole_log_can_be_deleted_and_appends_go_on_from_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 4, 2, 0);
        assert_eq!(log.delete_records_before(8).unwrap(), 8);
        let r = log.read(8, 1 << 20, true).unwrap();
        assert!(r.data.is_empty());
        append_batches(&mut log, 1, 2, 100);
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (8, 10));
    }
}
