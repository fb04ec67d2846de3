//! Counters a partition keeps for itself; `/metrics` sums them per topic at scrape time, so the
//! hot paths only bump atomics.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::record::BatchHeader;

/// Counters a partition keeps for itself, summed per topic at scrape time.
#[derive(Debug, Default)]
pub struct PartitionStats {
    pub(crate) produced_records: AtomicU64,
    pub(crate) produced_bytes: AtomicU64,
    pub(crate) fetched_records: AtomicU64,
    pub(crate) fetched_bytes: AtomicU64,
    pub(crate) fsyncs: AtomicU64,
}

impl PartitionStats {
    /// One stored batch (a producer's retry of a stored batch is not counted again).
    pub fn produced(&self, records: i32, bytes: usize) {
        self.produced_records
            .fetch_add(records.max(0) as u64, Ordering::Relaxed);
        self.produced_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The whole batches one fetch response carries from this partition.
    pub fn fetched(&self, batches: &[u8]) {
        self.fetched_records.fetch_add(records_in(batches), Ordering::Relaxed);
        self.fetched_bytes.fetch_add(batches.len() as u64, Ordering::Relaxed);
    }

    /// Records stored by Produce since the broker started.
    pub fn produced_records(&self) -> u64 {
        self.produced_records.load(Ordering::Relaxed)
    }

    /// Records returned by Fetch since the broker started.
    pub fn fetched_records(&self) -> u64 {
        self.fetched_records.load(Ordering::Relaxed)
    }

    /// One fsync of the partition's log for acks=all producers.
    pub fn fsynced(&self) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
    }
}

/// Records in consecutive whole batches, from their headers alone.
fn records_in(mut batches: &[u8]) -> u64 {
    let mut records = 0u64;
    while let Ok(header) = BatchHeader::parse(batches) {
        records += header.record_count.max(0) as u64;
        let Some(next) = usize::try_from(header.total_len()).ok().and_then(|n| batches.get(n..)) else {
            break;
        };
        batches = next;
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_batch::TestBatch;

    #[test]
    fn records_are_counted_from_batch_headers_alone() {
        let two = [TestBatch::new(3, 0).build(), TestBatch::new(5, 0).value_len(0).build()].concat();
        assert_eq!(records_in(&two), 8);
        assert_eq!(records_in(&two[..20]), 0);
        assert_eq!(records_in(&[]), 0);
    }
}
