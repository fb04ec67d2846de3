//! One partition's view of transactions: which producers have a transaction open in it (from
//! their first transactional batch to their marker), and which transactions ended in ABORT.
//!
//! - The **last stable offset** (LSO) is the first offset of the oldest open transaction, or the
//!   high watermark when none is open. A `read_committed` fetch returns nothing at or past it.
//! - The **aborted transactions** (producer id, first offset, marker offset) are what Fetch
//!   hands a `read_committed` consumer for the range it returns, so it can drop their records
//!   (Kafka keeps them in `.txnindex` files; here they are rebuilt from the log on start).

use std::collections::BTreeMap;

use crate::record::ControlType;

/// A transaction that ended in ABORT: its records lie in `first_offset..last_offset`, the
/// marker at `last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Default)]
pub struct PartitionTxns {
    /// Producer id → first offset of its open transaction here.
    open: BTreeMap<i64, i64>,
    /// Ended in ABORT, in marker order.
    aborted: Vec<AbortedTxn>,
}

impl PartitionTxns {
    /// A transactional data batch of `producer_id` stored at `base_offset`.
    pub fn on_data(&mut self, producer_id: i64, base_offset: i64) {
        self.open.entry(producer_id).or_insert(base_offset);
    }

    /// A marker of `producer_id` stored at `offset`. A marker for a producer with nothing open
    /// here (a coordinator writing markers again after a restart) changes nothing.
    pub fn on_marker(&mut self, producer_id: i64, offset: i64, kind: ControlType) {
        let Some(first_offset) = self.open.remove(&producer_id) else {
            return;
        };
        if kind == ControlType::Abort {
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset,
                last_offset: offset,
            });
        }
    }

    /// The LSO given the high watermark.
    pub fn last_stable_offset(&self, high_watermark: i64) -> i64 {
        self.open
            .values()
            .copied()
            .min()
            .unwrap_or(high_watermark)
            .min(high_watermark)
    }

    /// The aborted transactions a fetch of `from..to` must be told about: those whose records
    /// reach into it (Kafka's `collectAbortedTxns`).
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|t| t.last_offset >= from && t.first_offset < to)
            .copied()
            .collect()
    }

    /// Forgets aborted transactions that ended below the log start (retention, DeleteRecords).
    pub fn forget_before(&mut self, log_start: i64) {
        self.aborted.retain(|t| t.last_offset >= log_start);
    }

    /// Every transaction here that ended in ABORT and is still remembered.
    pub fn aborted(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// Producer ids with a transaction open here, and where each began.
    pub fn open(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.open.iter().map(|(p, o)| (*p, *o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lso_holds_at_the_oldest_open_transaction_and_aborts_are_listed_by_range() {
        let mut t = PartitionTxns::default();
        assert_eq!(t.last_stable_offset(10), 10);
        t.on_data(7, 10);
        t.on_data(7, 12);
        t.on_data(8, 11);
        assert_eq!(t.last_stable_offset(20), 10);
        t.on_marker(7, 20, ControlType::Abort);
        assert_eq!(t.last_stable_offset(21), 11);
        t.on_marker(8, 21, ControlType::Commit);
        t.on_marker(8, 22, ControlType::Commit);
        assert_eq!(t.last_stable_offset(23), 23);
        let aborted = AbortedTxn {
            producer_id: 7,
            first_offset: 10,
            last_offset: 20,
        };
        assert_eq!(t.aborted_between(0, 11), vec![aborted]);
        assert_eq!(t.aborted_between(20, 30), vec![aborted]);
        assert!(t.aborted_between(21, 30).is_empty());
        assert!(t.aborted_between(0, 10).is_empty());
        t.forget_before(21);
        assert!(t.aborted_between(0, 30).is_empty());
    }
}
