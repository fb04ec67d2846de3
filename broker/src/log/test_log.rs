//! Logs for tests: small segments, and a log filled with test batches.

use std::path::Path;

use super::{LogConfig, PartitionLog};
use crate::record::test_batch::TestBatch;

/// Small segments and a dense index, so a few batches exercise rolling and index lookups.
pub fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        segment_ms: None,
        retention_ms: None,
        retention_bytes: None,
        index_interval_bytes: 150,
        compaction: None,
    }
}

pub fn open(dir: &Path, config: LogConfig) -> PartitionLog {
    PartitionLog::open(dir, config).unwrap().0
}

/// Appends `n` batches of `records` records each (timestamps from `first_ts`, one apart, per
/// record across batches) and returns the stored bytes of each, stamped.
pub fn append_batches(log: &mut PartitionLog, n: usize, records: usize, first_ts: i64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut b = TestBatch::new(records, first_ts + (i * records) as i64).build();
            log.append(&mut b, 0).unwrap();
            b
        })
        .collect()
}
