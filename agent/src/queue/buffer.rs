//! The memory buffer: at most `metric_buffer_limit` records; the oldest go first.

use std::collections::VecDeque;

use super::{DropReason, Dropped};
use crate::record::Record;

pub struct Buffer {
    records: VecDeque<Record>,
    limit: usize,
    next_seq: u64,
}

impl Buffer {
    pub fn new(limit: usize) -> Self {
        Buffer {
            records: VecDeque::new(),
            limit: limit.max(1),
            next_seq: 0,
        }
    }

    pub fn push(&mut self, records: Vec<Record>) -> Dropped {
        let mut dropped = 0;
        for mut r in records {
            r.seq = self.next_seq;
            self.next_seq += 1;
            if self.records.len() == self.limit {
                self.records.pop_front();
                dropped += 1;
            }
            self.records.push_back(r);
        }
        if dropped == 0 {
            vec![]
        } else {
            vec![(DropReason::BufferFull, dropped)]
        }
    }

    pub fn take(&mut self, n: usize) -> Vec<Record> {
        let n = n.min(self.records.len());
        self.records.drain(..n).collect()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                seq: 0,
                timestamp: i as i64,
                key: None,
                value: vec![],
            })
            .collect()
    }

    #[test]
    fn records_are_numbered_and_the_oldest_dropped_when_full() {
        let mut b = Buffer::new(3);
        assert!(b.push(records(2)).is_empty());
        assert_eq!(b.push(records(3)), vec![(DropReason::BufferFull, 2)]);
        let seqs: Vec<u64> = b.take(10).iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [2, 3, 4]);
        assert!(b.is_empty());
    }
}
