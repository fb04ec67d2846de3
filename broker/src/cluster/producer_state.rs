//! Idempotent producers: per partition, each producer id's epoch and its last five batches.
//!
//! Kafka's rules (docs/kafka-protocol.md#idempotent-producers, ProducerAppendInfo.checkSequence):
//! a batch equal to one of the last five is a retry and is answered with its original offset,
//! never stored twice; an older epoch is fenced; a new epoch starts at sequence 0; within an epoch
//! each batch must start right after the previous one. A producer we know nothing about (a new
//! one, or state lost) may start anywhere. Five is what clients keep in flight at most with
//! idempotence on.

use std::collections::{HashMap, VecDeque};

const RETAINED_BATCHES: usize = 5;

/// What the sequence check decided for one incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// New data: append it.
    Append,
    /// A retry of a batch already stored at this base offset: answer, don't append.
    Duplicate { base_offset: i64 },
}

/// Kafka error codes the check can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceError {
    OutOfOrder,
    InvalidEpoch,
    /// A marker from an older transaction coordinator than the partition has seen.
    CoordinatorFenced,
}

impl SequenceError {
    pub fn code(self) -> i16 {
        match self {
            SequenceError::OutOfOrder => 45,
            SequenceError::InvalidEpoch => 47,
            SequenceError::CoordinatorFenced => 52,
        }
    }
}

/// The identity of one idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotentBatch {
    pub producer_id: i64,
    pub epoch: i16,
    pub first_seq: i32,
    pub last_seq: i32,
}

impl IdempotentBatch {
    /// `last_offset_delta` is the batch's record count minus one; sequences wrap at i32::MAX.
    pub fn new(producer_id: i64, epoch: i16, first_seq: i32, last_offset_delta: i32) -> Self {
        let last_seq = ((first_seq as i64 + last_offset_delta as i64) % (i32::MAX as i64 + 1)) as i32;
        IdempotentBatch {
            producer_id,
            epoch,
            first_seq,
            last_seq,
        }
    }
}

#[derive(Debug)]
struct ProducerEntry {
    epoch: i16,
    /// (first_seq, last_seq, base_offset), oldest first.
    batches: VecDeque<(i32, i32, i64)>,
    /// The max timestamp of its last batch, -1 when unknown (DescribeProducers).
    last_timestamp: i64,
    /// The coordinator epoch of its last transaction marker here, -1 before one.
    coordinator_epoch: i32,
}

impl Default for ProducerEntry {
    fn default() -> ProducerEntry {
        ProducerEntry {
            epoch: 0,
            batches: VecDeque::new(),
            last_timestamp: -1,
            coordinator_epoch: -1,
        }
    }
}

/// What DescribeProducers reports of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerSummary {
    pub producer_id: i64,
    pub epoch: i16,
    /// -1 when it has written no batch with a sequence at this epoch.
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
}

/// All idempotent producers that wrote to one partition.
#[derive(Debug, Default)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    pub fn check(&self, b: &IdempotentBatch) -> Result<SequenceCheck, SequenceError> {
        let Some(entry) = self.producers.get(&b.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        if b.epoch < entry.epoch {
            return Err(SequenceError::InvalidEpoch);
        }
        if b.epoch > entry.epoch {
            return if b.first_seq == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(SequenceError::OutOfOrder)
            };
        }
        if let Some(&(_, _, base_offset)) = entry
            .batches
            .iter()
            .find(|(first, last, _)| *first == b.first_seq && *last == b.last_seq)
        {
            return Ok(SequenceCheck::Duplicate { base_offset });
        }
        match entry.batches.back() {
            Some(&(_, last, _)) if next_seq(last) != b.first_seq => Err(SequenceError::OutOfOrder),
            _ => Ok(SequenceCheck::Append),
        }
    }

    /// Kafka's checks of a marker that a client rather than this broker's coordinator wrote
    /// (WriteTxnMarkers): not older than the producer's epoch here, nor from an older
    /// coordinator epoch than the last marker's.
    pub fn check_marker(&self, producer_id: i64, epoch: i16, coordinator_epoch: i32) -> Result<(), SequenceError> {
        match self.producers.get(&producer_id) {
            Some(e) if epoch < e.epoch => Err(SequenceError::InvalidEpoch),
            Some(e) if coordinator_epoch < e.coordinator_epoch => Err(SequenceError::CoordinatorFenced),
            _ => Ok(()),
        }
    }

    /// A transaction marker of the producer at `epoch` was appended: from now on its batches of
    /// an older epoch are fenced, and a newer epoch starts afresh.
    pub fn fence(&mut self, producer_id: i64, epoch: i16, coordinator_epoch: i32) {
        let entry = self.producers.entry(producer_id).or_default();
        entry.coordinator_epoch = coordinator_epoch;
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
    }

    /// The producer's last batch had `timestamp` as its max timestamp.
    pub fn note_timestamp(&mut self, producer_id: i64, timestamp: i64) {
        self.producers.entry(producer_id).or_default().last_timestamp = timestamp;
    }

    /// Every producer known here, by id.
    pub fn summaries(&self) -> Vec<ProducerSummary> {
        let mut out: Vec<ProducerSummary> = self
            .producers
            .iter()
            .map(|(id, e)| ProducerSummary {
                producer_id: *id,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.1),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
            })
            .collect();
        out.sort_by_key(|s| s.producer_id);
        out
    }

    /// Records a batch that was appended at `base_offset`.
    pub fn record(&mut self, b: &IdempotentBatch, base_offset: i64) {
        let entry = self.producers.entry(b.producer_id).or_default();
        if b.epoch != entry.epoch {
            entry.epoch = b.epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == RETAINED_BATCHES {
            entry.batches.pop_front();
        }
        entry.batches.push_back((b.first_seq, b.last_seq, base_offset));
    }
}

fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(epoch: i16, first_seq: i32, count: i32) -> IdempotentBatch {
        IdempotentBatch::new(7, epoch, first_seq, count - 1)
    }

    #[test]
    fn a_retried_batch_is_answered_with_its_original_offset() {
        let mut s = ProducerStates::default();
        s.record(&batch(0, 0, 10), 100);
        s.record(&batch(0, 10, 5), 110);
        assert_eq!(
            s.check(&batch(0, 0, 10)),
            Ok(SequenceCheck::Duplicate { base_offset: 100 })
        );
        assert_eq!(
            s.check(&batch(0, 10, 5)),
            Ok(SequenceCheck::Duplicate { base_offset: 110 })
        );
        assert_eq!(s.check(&batch(0, 15, 1)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn a_sequence_gap_is_out_of_order() {
        let mut s = ProducerStates::default();
        s.record(&batch(0, 0, 10), 0);
        assert_eq!(s.check(&batch(0, 11, 1)), Err(SequenceError::OutOfOrder));
        assert_eq!(SequenceError::OutOfOrder.code(), 45);
    }

    #[test]
    fn an_old_epoch_is_fenced_and_a_new_epoch_restarts_at_zero() {
        let mut s = ProducerStates::default();
        s.record(&batch(3, 0, 1), 0);
        assert_eq!(s.check(&batch(2, 1, 1)), Err(SequenceError::InvalidEpoch));
        assert_eq!(s.check(&batch(4, 5, 1)), Err(SequenceError::OutOfOrder));
        assert_eq!(s.check(&batch(4, 0, 1)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..6 {
            s.record(&batch(0, i, 1), i as i64);
        }
        assert_eq!(s.check(&batch(0, 0, 1)), Err(SequenceError::OutOfOrder));
        assert_eq!(
            s.check(&batch(0, 1, 1)),
            Ok(SequenceCheck::Duplicate { base_offset: 1 })
        );
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        let mut s = ProducerStates::default();
        let b = batch(0, i32::MAX - 1, 2);
        assert_eq!(b.last_seq, i32::MAX);
        s.record(&b, 0);
        assert_eq!(s.check(&batch(0, 0, 1)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn an_unknown_producer_may_start_anywhere() {
        let s = ProducerStates::default();
        assert_eq!(s.check(&batch(0, 42, 1)), Ok(SequenceCheck::Append));
    }
}
