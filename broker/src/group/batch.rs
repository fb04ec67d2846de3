//! Uncompressed v2 record batches of key/value records, as the coordinator writes them to
//! `__consumer_offsets` (Kafka writes that topic uncompressed too) and reads them back on start.
//!
//! The 61-byte header layout is in `record::batch`; records are
//! (docs/kafka-protocol.md#records-and-varints):
//!
//! ```text
//! varint length | i8 attributes (0) | varlong timestamp_delta (0) | varint offset_delta
//! | varint key_len | key | varint value_len (-1 = null: a tombstone) | value | varint headers (0)
//! ```
//!
//! Written by hand rather than with the protocol crate's encoder: the header is a handful of
//! fields, and the crate's decoder pre-allocates from counts in the file
//! (docs/kafka-protocol.md#kafka-protocol-crate-pitfalls).

use bytes::Bytes;

use crate::record::{crc_ok, varint, BatchHeader, HEADER_LEN, TRANSACTIONAL_BIT};

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub offset: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable __consumer_offsets batch: {0}")]
pub struct BatchError(pub String);

/// One batch holding `records` (key, value-or-tombstone), all stamped `timestamp`, with no
/// producer id. The log stamps the base offset when it appends.
pub fn encode(records: &[(Bytes, Option<Bytes>)], timestamp: i64) -> Vec<u8> {
    encode_for(records, timestamp, None)
}

/// [`encode`], as a transactional batch of `txn` (producer id, epoch) when given: Kafka writes
/// TxnOffsetCommit's records so, with no sequence.
pub fn encode_for(records: &[(Bytes, Option<Bytes>)], timestamp: i64, txn: Option<(i64, i16)>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut record = Vec::new();
    for (i, (key, value)) in records.iter().enumerate() {
        record.clear();
        record.push(0);
        varint::put(&mut record, 0);
        varint::put(&mut record, i as i64);
        varint::put(&mut record, key.len() as i64);
        record.extend_from_slice(key);
        match value {
            Some(v) => {
                varint::put(&mut record, v.len() as i64);
                record.extend_from_slice(v);
            }
            None => varint::put(&mut record, -1),
        }
        varint::put(&mut record, 0);
        varint::put(&mut body, record.len() as i64);
        body.extend_from_slice(&record);
    }
    BatchHeader {
        base_offset: 0,
        batch_length: 0,
        partition_leader_epoch: -1,
        magic: 2,
        crc: 0,
        attributes: if txn.is_some() { TRANSACTIONAL_BIT } else { 0 },
        last_offset_delta: records.len() as i32 - 1,
        base_timestamp: timestamp,
        max_timestamp: timestamp,
        producer_id: txn.map_or(-1, |t| t.0),
        producer_epoch: txn.map_or(-1, |t| t.1),
        base_sequence: -1,
        record_count: records.len() as i32,
    }
    .encode(&body)
}

/// Splits concatenated stored batches (a log read) into whole batches; a truncated batch at
/// the end is left out, as clients do.
pub fn split(mut data: &[u8]) -> Vec<(BatchHeader, &[u8])> {
    let mut out = Vec::new();
    while let Ok(h) = BatchHeader::parse(data) {
        let Ok(len) = usize::try_from(h.total_len()) else { break };
        if len > data.len() {
            break;
        }
        let (batch, rest) = data.split_at(len);
        out.push((h, batch));
        data = rest;
    }
    out
}

/// The records of one stored batch, with their absolute offsets.
pub fn decode(header: &BatchHeader, batch: &[u8]) -> Result<Vec<StoredRecord>, BatchError> {
    if !crc_ok(batch) {
        return Err(BatchError(format!("CRC mismatch at offset {}", header.base_offset)));
    }
    if header.compression() != 0 || header.is_control() {
        return Err(BatchError(format!(
            "batch at offset {} is compressed or a control batch; the coordinator writes neither",
            header.base_offset
        )));
    }
    let mut rest = &batch[HEADER_LEN.min(batch.len())..];
    let mut out = Vec::new();
    for _ in 0..header.record_count.max(0) {
        let len = read_len(&mut rest)?.ok_or_else(|| BatchError("null record".into()))?;
        if len > rest.len() {
            return Err(BatchError("record runs past the batch".into()));
        }
        let (mut r, after) = rest.split_at(len);
        rest = after;
        let _attributes = take(&mut r, 1)?;
        let _timestamp_delta = read_varint(&mut r)?;
        let offset_delta = read_varint(&mut r)?;
        let key = read_len(&mut r)?.map(|n| take(&mut r, n)).transpose()?;
        let value = read_len(&mut r)?.map(|n| take(&mut r, n)).transpose()?;
        out.push(StoredRecord {
            offset: header.base_offset.saturating_add(offset_delta),
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
        });
    }
    Ok(out)
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], BatchError> {
    if n > buf.len() {
        return Err(BatchError("field runs past its record".into()));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

/// A varint length; -1 is null.
fn read_len(buf: &mut &[u8]) -> Result<Option<usize>, BatchError> {
    match read_varint(buf)? {
        -1 => Ok(None),
        n => usize::try_from(n)
            .map(Some)
            .map_err(|_| BatchError(format!("negative length {n}"))),
    }
}

fn read_varint(buf: &mut &[u8]) -> Result<i64, BatchError> {
    varint::read(buf).ok_or_else(|| BatchError("truncated or overlong varint".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(Bytes, Option<Bytes>)> {
        vec![
            (Bytes::from_static(b"k1"), Some(Bytes::from_static(b"value-1"))),
            (Bytes::from_static(b"k2"), None),
            (Bytes::from(vec![7u8; 300]), Some(Bytes::from(vec![9u8; 200]))),
        ]
    }

    #[test]
    fn a_written_batch_has_kafkas_header_and_reads_back() {
        let mut b = encode(&sample(), 1234);
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.total_len(), b.len() as u64);
        assert_eq!((h.record_count, h.last_offset_delta), (3, 2));
        assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (-1, -1, -1));
        assert_eq!((h.base_timestamp, h.max_timestamp, h.attributes), (1234, 1234, 0));
        assert!(crc_ok(&b));
        // The log stamps the base offset, outside the CRC.
        b[..8].copy_from_slice(&100i64.to_be_bytes());
        let h = BatchHeader::parse(&b).unwrap();
        let records = decode(&h, &b).unwrap();
        let got: Vec<_> = records
            .iter()
            .map(|r| (r.offset, r.key.clone().unwrap(), r.value.clone()))
            .collect();
        let want: Vec<_> = sample()
            .into_iter()
            .enumerate()
            .map(|(i, (k, v))| (100 + i as i64, k, v))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn split_returns_whole_batches_and_drops_a_truncated_tail() {
        let one = encode(&sample(), 1);
        let two = encode(&sample()[..1], 2);
        let all = [one.clone(), two.clone(), two[..20].to_vec()].concat();
        let parts: Vec<&[u8]> = split(&all).into_iter().map(|(_, b)| b).collect();
        assert_eq!(parts, vec![&one[..], &two[..]]);
    }

    #[test]
    fn corrupt_or_cut_batches_are_errors_not_panics() {
        let mut b = encode(&sample(), 1);
        let h = BatchHeader::parse(&b).unwrap();
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(decode(&h, &b).is_err());
        let good = encode(&sample(), 1);
        for cut in 0..good.len() {
            let _ = decode(&h, &good[..cut]);
        }
    }
}
