//! ListOffsets by time: from a timestamp to an offset, and the log's largest timestamp.

use tracing::warn;

use super::error::LogError;
use super::partition::PartitionLog;
use super::segment::Segment;
use crate::record::BatchHeader;
use crate::record::{first_record_at_or_after, recompress, Codec, MalformedRecords, MAX_DECOMPRESSED_BYTES};

impl PartitionLog {
    /// The first offset whose record timestamp is >= `ts`, with that timestamp; `None` when no
    /// record qualifies (Kafka then answers offset -1, timestamp -1).
    ///
    /// The batch is found by max timestamp (time index, then a header walk). Inside it the
    /// records are walked (decompressed first, when compressed) and the exact first record is
    /// returned; with LogAppendTime every record carries the max timestamp, so the base offset is
    /// exact without a walk.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        for segment in self.segments() {
            if let Some((pos, header)) = segment.find_by_timestamp(ts)? {
                return first_record_in(segment, pos, &header, ts).map(Some);
            }
        }
        Ok(None)
    }

    /// ListOffsets -3 (KIP-734): the first record with the log's largest timestamp, as
    /// (offset, timestamp): the first record at or after that time, found as
    /// [`PartitionLog::offset_for_timestamp`] finds one.
    pub fn offset_of_max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        match self.max_timestamp() {
            Some((ts, _)) => self.offset_for_timestamp(ts),
            None => Ok(None),
        }
    }

    /// The largest batch max timestamp in the log and the base offset of the first batch that
    /// carries it, as (timestamp, offset). `None` when no batch has a timestamp.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.segments()
            .filter_map(Segment::max_timestamp)
            .reduce(|best, next| if next.0 > best.0 { next } else { best })
    }
}

fn first_record_in(segment: &Segment, pos: u64, header: &BatchHeader, ts: i64) -> Result<(i64, i64), LogError> {
    let whole_batch = (header.base_offset, header.max_timestamp);
    if header.timestamp_type_log_append() {
        return Ok(whole_batch);
    }
    // `find_by_timestamp` read this header with `header_at`, which checked that the batch lies
    // within the segment: the allocation is bounded by the file.
    let mut batch = vec![0u8; header.total_len() as usize];
    segment.read_into(&mut batch, pos)?;
    if header.compression() != 0 {
        batch = match recompress(&batch, header, Codec::None, MAX_DECOMPRESSED_BYTES) {
            Ok(plain) => plain,
            Err(MalformedRecords(why)) => {
                warn!(path = %segment.log_path.display(), pos, why, "cannot decompress records for timestamp lookup");
                return Ok(whole_batch);
            }
        };
    }
    match first_record_at_or_after(&batch, header, ts) {
        Ok(Some(found)) => Ok(found),
        // The batch's max timestamp promised a record; its records disagree. Answer at batch
        // granularity rather than fail the request.
        Ok(None) => Ok(whole_batch),
        Err(MalformedRecords(why)) => {
            warn!(path = %segment.log_path.display(), pos, why, "cannot walk records for timestamp lookup");
            Ok(whole_batch)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::log::test_log::{open, small_config};
    use crate::log::{LogConfig, PartitionLog};
    use crate::record::test_batch::TestBatch;

    /// Appends batches with the given record timestamps; returns every (offset, timestamp).
    fn append_all(log: &mut PartitionLog, batches: &[Vec<i64>]) -> Vec<(i64, i64)> {
        let mut records = Vec::new();
        for timestamps in batches {
            let mut b = TestBatch::with_timestamps(timestamps.clone()).build();
            let base = log.append(&mut b, 0).unwrap().base_offset;
            records.extend(timestamps.iter().enumerate().map(|(i, ts)| (base + i as i64, *ts)));
        }
        records
    }

    #[test]
    fn offset_for_timestamp_is_exact_within_uncompressed_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        append_all(&mut log, &[vec![10, 20], vec![100, 300, 200, 400]]);
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 10)));
        assert_eq!(log.offset_for_timestamp(150).unwrap(), Some((3, 300)));
        assert_eq!(log.offset_for_timestamp(300).unwrap(), Some((3, 300)));
        assert_eq!(log.offset_for_timestamp(301).unwrap(), Some((5, 400)));
        assert_eq!(log.offset_for_timestamp(401).unwrap(), None);
    }

    #[test]
    fn offset_for_timestamp_matches_a_scan_of_every_record_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        // Timestamps that mostly grow but step back inside and across batches.
        let batches: Vec<Vec<i64>> = (0..40i64)
            .map(|b| (0..3).map(|r| b * 10 + (r * 7 + b * 3) % 13).collect())
            .collect();
        let records = append_all(&mut log, &batches);
        assert!(!log.sealed.is_empty());
        let check = |log: &PartitionLog| {
            for target in -1..420 {
                let expected = records.iter().find(|(_, ts)| *ts >= target).copied();
                assert_eq!(log.offset_for_timestamp(target).unwrap(), expected, "target {target}");
            }
        };
        check(&log);
        drop(log);
        check(&open(dir.path(), small_config()));
    }

    #[test]
    fn compressed_batch_is_decompressed_to_find_the_exact_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        append_all(&mut log, &[vec![1, 2]]);
        let mut b = TestBatch::with_timestamps(vec![100, 400, 250]).compressed().build();
        log.append(&mut b, 0).unwrap();
        // Offsets 2, 3, 4 at 100, 400, 250: the first at or after 250 is offset 3, not the batch.
        assert_eq!(log.offset_for_timestamp(250).unwrap(), Some((3, 400)));
        assert_eq!(log.offset_for_timestamp(50).unwrap(), Some((2, 100)));
        assert_eq!(log.offset_of_max_timestamp().unwrap(), Some((3, 400)));
    }

    #[test]
    fn log_append_time_batch_gives_every_record_the_max_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let mut b = TestBatch::with_timestamps(vec![5, 6, 7]).log_append_time(1000).build();
        log.append(&mut b, 0).unwrap();
        assert_eq!(log.offset_for_timestamp(6).unwrap(), Some((0, 1000)));
        assert_eq!(log.offset_for_timestamp(1000).unwrap(), Some((0, 1000)));
        assert_eq!(log.offset_for_timestamp(1001).unwrap(), None);
    }

    #[test]
    fn max_timestamp_is_the_first_batch_reaching_the_largest_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        assert_eq!(log.max_timestamp(), None);
        let mut batches: Vec<Vec<i64>> = (0..30).map(|i| vec![i * 10, i * 10 + 5]).collect();
        batches[7] = vec![5000, 1];
        batches[20] = vec![3, 5000];
        append_all(&mut log, &batches);
        assert!(log.sealed.len() >= 2);
        assert_eq!(log.max_timestamp(), Some((5000, 14)));
        // The record itself: batch 7 (offsets 14 and 15) has it first, at its first record.
        assert_eq!(log.offset_of_max_timestamp().unwrap(), Some((14, 5000)));
        drop(log);
        let mut log = open(dir.path(), small_config());
        assert_eq!(log.max_timestamp(), Some((5000, 14)));
        // Inside a batch: the record, not the batch's first.
        append_all(&mut log, &[vec![1, 6000, 6000]]);
        assert_eq!(log.offset_of_max_timestamp().unwrap(), Some((61, 6000)));
    }
}
