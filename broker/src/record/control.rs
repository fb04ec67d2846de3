//! Transaction markers: the control batches that end a transaction in each partition it wrote to
//! ([KIP-98](https://cwiki.apache.org/confluence/display/KAFKA/KIP-98+-+Exactly+Once+Delivery+and+Transactional+Messaging)).
//!
//! A marker is a batch with the transactional and control attribute bits, the producer's id and
//! epoch, no sequence, and one record:
//!
//! ```text
//! key:   i16 version (0), i16 type (0 ABORT, 1 COMMIT)
//! value: i16 version (0), i32 coordinator epoch
//! ```
//!
//! Readers skip control batches; `read_committed` consumers use the ABORT markers (and the
//! aborted-transactions list Fetch gives) to drop the aborted transaction's records.

use super::batch::{BatchHeader, CONTROL_BIT, TRANSACTIONAL_BIT};
use super::varint;

/// What a marker ends its transaction with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort = 0,
    Commit = 1,
}

/// A marker for producer `producer_id` at `epoch`, timestamped `now`; the log stamps its offset.
pub fn marker_batch(producer_id: i64, epoch: i16, coordinator_epoch: i32, kind: ControlType, now: i64) -> Vec<u8> {
    let mut key = 0i16.to_be_bytes().to_vec();
    key.extend_from_slice(&(kind as i16).to_be_bytes());
    let mut value = 0i16.to_be_bytes().to_vec();
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let mut record = vec![0u8];
    varint::put(&mut record, 0); // timestamp delta
    varint::put(&mut record, 0); // offset delta
    varint::put(&mut record, key.len() as i64);
    record.extend_from_slice(&key);
    varint::put(&mut record, value.len() as i64);
    record.extend_from_slice(&value);
    varint::put(&mut record, 0); // headers
    let mut records = Vec::new();
    varint::put(&mut records, record.len() as i64);
    records.extend_from_slice(&record);
    BatchHeader {
        base_offset: 0,
        batch_length: 0,
        partition_leader_epoch: 0,
        magic: 2,
        crc: 0,
        attributes: TRANSACTIONAL_BIT | CONTROL_BIT,
        last_offset_delta: 0,
        base_timestamp: now,
        max_timestamp: now,
        producer_id,
        producer_epoch: epoch,
        base_sequence: -1,
        record_count: 1,
    }
    .encode(&records)
}

/// The type of the control batch `batch` (a whole, uncompressed batch), if it is a transaction
/// marker; `None` for anything else (another control record, or bytes that do not read).
pub fn control_type(batch: &[u8], header: &BatchHeader) -> Option<ControlType> {
    if !header.is_control() || header.record_count < 1 || header.compression() != 0 {
        return None;
    }
    let (key, _) = first_record(batch)?;
    match key.get(2..4)? {
        [0, 0] => Some(ControlType::Abort),
        [0, 1] => Some(ControlType::Commit),
        _ => None,
    }
}

/// The coordinator epoch in a marker's value (`control_type` must have read it as a marker).
pub fn marker_coordinator_epoch(batch: &[u8]) -> Option<i32> {
    let (_, value) = first_record(batch)?;
    value.get(2..6).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The key and value of the first record of an uncompressed batch.
fn first_record(batch: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut rest = batch.get(super::HEADER_LEN..)?;
    let _len = varint::read(&mut rest)?;
    let (_attributes, mut rest) = rest.split_first()?;
    varint::read(&mut rest)?;
    varint::read(&mut rest)?;
    let key_len = usize::try_from(varint::read(&mut rest)?).ok()?;
    let key = rest.get(..key_len)?;
    rest = &rest[key_len..];
    let value_len = usize::try_from(varint::read(&mut rest)?).ok()?;
    Some((key, rest.get(..value_len)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{count_records, crc_ok, HEADER_LEN};

    #[test]
    fn a_marker_is_a_transactional_control_batch_that_reads_back() {
        for kind in [ControlType::Abort, ControlType::Commit] {
            let b = marker_batch(42, 3, 0, kind, 1000);
            let h = BatchHeader::parse(&b).unwrap();
            assert!(crc_ok(&b) && h.is_control() && h.is_transactional());
            assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (42, 3, -1));
            assert_eq!(count_records(&b[HEADER_LEN..]), Ok(1));
            assert_eq!(control_type(&b, &h), Some(kind));
            assert_eq!(marker_coordinator_epoch(&b), Some(0));
        }
        let data = crate::record::test_batch::TestBatch::new(1, 0).build();
        let h = BatchHeader::parse(&data).unwrap();
        assert_eq!(control_type(&data, &h), None);
        let marker = marker_batch(1, 0, 0, ControlType::Commit, 0);
        let h = BatchHeader::parse(&marker).unwrap();
        for cut in 0..marker.len() {
            let _ = control_type(&marker[..cut], &h);
            let _ = marker_coordinator_epoch(&marker[..cut]);
        }
    }
}
