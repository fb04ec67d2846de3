//! The read side of a partition: Fetch (with what a transactional reader needs), offsets, and
//! what the admin APIs describe of its producers and transactions.

use super::{Partition, ProducerSummary};
use crate::cluster::partition_txns::AbortedTxn;
use crate::log::{LogError, ReadResult};
use crate::record::BatchHeader;

/// A Fetch's read: the batches, and what a transactional reader needs besides.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub read: ReadResult,
    pub last_stable_offset: i64,
    /// For `read_committed`: the aborted transactions whose records the batches may hold.
    pub aborted: Vec<AbortedTxn>,
}

impl Partition {
    pub fn read(&self, fetch_offset: i64, max_bytes: usize, min_one: bool) -> Result<ReadResult, LogError> {
        self.read_state(|s| s.log.read(fetch_offset, max_bytes, min_one))
    }

    /// A Fetch's read. With `read_committed`, nothing at or past the last stable offset is
    /// returned, and the aborted transactions the batches may hold come with them.
    pub fn fetch(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        min_one: bool,
        read_committed: bool,
    ) -> Result<Fetched, LogError> {
        self.read_state(|s| {
            let mut read = s.log.read(fetch_offset, max_bytes, min_one)?;
            let last_stable_offset = s.txns.last_stable_offset(read.high_watermark);
            let mut aborted = Vec::new();
            if read_committed {
                let (kept, end) = batches_below(&read.data, last_stable_offset);
                read.data = read.data.slice(..kept);
                aborted = s.txns.aborted_between(fetch_offset, end.unwrap_or(fetch_offset));
            }
            Ok(Fetched {
                read,
                last_stable_offset,
                aborted,
            })
        })
    }

    /// The last stable offset: where `read_committed` consumers stop.
    pub fn last_stable_offset(&self) -> i64 {
        self.read_state(|s| s.txns.last_stable_offset(s.log.log_end_offset()))
    }

    /// The producers that wrote here (DescribeProducers), with where each one's open
    /// transaction began, if it has one.
    pub fn producers(&self) -> Vec<(ProducerSummary, Option<i64>)> {
        self.read_state(|s| {
            let open: std::collections::HashMap<i64, i64> = s.txns.open().collect();
            s.producers
                .summaries()
                .into_iter()
                .map(|p| (p, open.get(&p.producer_id).copied()))
                .collect()
        })
    }

    /// Producer ids with a transaction open in this partition, and the offset each began at.
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.read_state(|s| s.txns.open().collect())
    }

    /// (log start offset, high watermark).
    pub fn offsets(&self) -> (i64, i64) {
        self.read_state(|s| (s.log.log_start_offset(), s.log.log_end_offset()))
    }

    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        self.read_state(|s| s.log.offset_for_timestamp(ts))
    }

    /// (offset, timestamp) of the first record with the largest timestamp.
    pub fn offset_of_max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        self.read_state(|s| s.log.offset_of_max_timestamp())
    }

    pub fn size_bytes(&self) -> u64 {
        self.read_state(|s| s.log.size_bytes())
    }
}

/// How many bytes of `data` (whole batches) lie below `offset`, and the offset after the last
/// of them (None when none does).
fn batches_below(data: &[u8], offset: i64) -> (usize, Option<i64>) {
    let (mut kept, mut end) = (0usize, None);
    while let Ok(h) = BatchHeader::parse(&data[kept..]) {
        if h.base_offset >= offset || kept + h.total_len() as usize > data.len() {
            break;
        }
        kept += h.total_len() as usize;
        end = Some(h.last_offset() + 1);
    }
    (kept, end)
}
