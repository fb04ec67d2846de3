//! Compaction of one batch: reading each record's key and whether it is a tombstone, and writing
//! the batch again with only the records a log cleaner keeps, as Kafka's cleaner rewrites
//! batches (its `MemoryRecords.filterTo`).
//!
//! What is kept of a rewritten batch, and why:
//! - its base offset and last offset delta, so the offsets of the records kept do not change and
//!   a producer's sequence numbers (which count from the base) still add up;
//! - its producer id, epoch and base sequence, attributes and codec;
//! - each record's bytes after its timestamp delta, untouched.
//!
//! What changes: the record count, the max timestamp (that of the records kept, for CreateTime),
//! the CRC, and, when the batch keeps a tombstone and has no delete horizon yet, the horizon:
//! attributes bit 6 marks the base timestamp as the time after which its tombstones may go
//! ([KIP-534](https://cwiki.apache.org/confluence/display/KAFKA/KIP-534%3A+Retain+tombstones+and+transaction+markers+for+approximately+delete.retention.ms+milliseconds)),
//! and every record's timestamp delta is rewritten against it so the timestamps stay the same.
//!
//! ```text
//! record: varint length, i8 attributes, varlong timestampDelta, varint offsetDelta,
//!         varint keyLength, key, varint valueLength (-1: tombstone), value, headers
//! ```

use super::batch::{BatchHeader, Codec, COMPRESSION_MASK};
use super::compressed::{compress, decompressed};
use super::records::{read_varint, MalformedRecords};
use super::varint;

/// Attributes bit 6: the base timestamp is the batch's delete horizon (KIP-534).
pub const DELETE_HORIZON_BIT: i16 = 0x40;

/// What the cleaner needs of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub offset: i64,
    pub timestamp: i64,
    /// `None` for a record without a key, which a compacted log cannot keep.
    pub key: Option<&'a [u8]>,
    /// A null value: "delete this key".
    pub tombstone: bool,
}

/// One record's place in the records section: where its bytes start and how it reads.
struct Located<'a> {
    record: Record<'a>,
    /// The record's bytes after its length prefix.
    body: &'a [u8],
    /// Offset into `body` just past the timestamp delta.
    after_timestamp: usize,
}

/// The batch after compaction.
#[derive(Debug, PartialEq, Eq)]
pub enum Compacted {
    /// Every record stays and nothing needs rewriting: store the batch as it was.
    Unchanged,
    /// The batch written again, holding what it keeps (possibly no record: a header alone, kept
    /// when the caller asked for it, to carry a producer's last sequence).
    Rewritten(Vec<u8>),
    /// Nothing stays.
    Dropped,
}

impl BatchHeader {
    /// The delete horizon (KIP-534): after it the batch's tombstones may be removed.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attributes & DELETE_HORIZON_BIT != 0).then_some(self.base_timestamp)
    }
}

/// Calls `each` with every record of `batch` (a whole batch, compressed or not) in order.
/// Decompresses at most `limit` bytes.
pub fn for_each_record(
    batch: &[u8],
    header: &BatchHeader,
    limit: u64,
    mut each: impl FnMut(Record<'_>),
) -> Result<(), MalformedRecords> {
    let raw = decompressed(batch, header, limit)?;
    walk(&raw, header, |located| each(located.record))
}

/// `batch` with only the records `keep` keeps. A batch that keeps no record is
/// [`Compacted::Dropped`] unless `keep_empty`, which gives it as a header with no records.
/// When a tombstone stays in a batch without a delete horizon, the batch gets `new_horizon_ms`
/// as its horizon.
pub fn compact_batch(
    batch: &[u8],
    header: &BatchHeader,
    limit: u64,
    new_horizon_ms: i64,
    keep_empty: bool,
    mut keep: impl FnMut(&Record<'_>) -> bool,
) -> Result<Compacted, MalformedRecords> {
    let raw = decompressed(batch, header, limit)?;
    let mut kept = Vec::new();
    let mut total = 0usize;
    walk(&raw, header, |located| {
        total += 1;
        if keep(&located.record) {
            kept.push(located);
        }
    })?;
    let set_horizon = header.delete_horizon_ms().is_none() && kept.iter().any(|l| l.record.tombstone);
    if kept.len() == total && !set_horizon {
        return Ok(Compacted::Unchanged);
    }
    let mut h = *header;
    h.record_count = kept.len() as i32;
    if kept.is_empty() {
        if !keep_empty {
            return Ok(Compacted::Dropped);
        }
        h.attributes &= !COMPRESSION_MASK;
        return Ok(Compacted::Rewritten(h.encode(&[])));
    }
    if set_horizon {
        h.attributes |= DELETE_HORIZON_BIT;
        h.base_timestamp = new_horizon_ms;
    }
    if !h.timestamp_type_log_append() {
        h.max_timestamp = kept.iter().map(|l| l.record.timestamp).max().unwrap_or(h.max_timestamp);
    }
    let mut records = Vec::with_capacity(raw.len());
    let mut body = Vec::new();
    for l in &kept {
        if h.base_timestamp == header.base_timestamp {
            varint::put(&mut records, l.body.len() as i64);
            records.extend_from_slice(l.body);
            continue;
        }
        body.clear();
        body.push(l.body[0]);
        varint::put(&mut body, l.record.timestamp.wrapping_sub(h.base_timestamp));
        body.extend_from_slice(&l.body[l.after_timestamp..]);
        varint::put(&mut records, body.len() as i64);
        records.extend_from_slice(&body);
    }
    let codec = Codec::from_id(header.compression()).ok_or(MalformedRecords("unknown compression codec"))?;
    Ok(Compacted::Rewritten(h.encode(&compress(codec, &records)?)))
}

/// Decodes every record of the uncompressed records section `raw`.
fn walk<'a>(raw: &'a [u8], header: &BatchHeader, mut each: impl FnMut(Located<'a>)) -> Result<(), MalformedRecords> {
    let mut rest = raw;
    for _ in 0..header.record_count.max(0) {
        let len = read_varint(&mut rest)?;
        let len = usize::try_from(len).map_err(|_| MalformedRecords("negative record length"))?;
        if len > rest.len() || len == 0 {
            return Err(MalformedRecords("record length past end of batch"));
        }
        let (body, after) = rest.split_at(len);
        rest = after;
        let mut cursor = &body[1..];
        let ts_delta = read_varint(&mut cursor)?;
        let after_timestamp = body.len() - cursor.len();
        let offset_delta = read_varint(&mut cursor)?;
        let key = read_bytes(&mut cursor)?;
        let value_len = read_varint(&mut cursor)?;
        each(Located {
            record: Record {
                offset: header.base_offset.saturating_add(offset_delta),
                timestamp: header.base_timestamp.saturating_add(ts_delta),
                key,
                tombstone: value_len < 0,
            },
            body,
            after_timestamp,
        });
    }
    if !rest.is_empty() {
        return Err(MalformedRecords("bytes after the last record"));
    }
    Ok(())
}

/// A varint length and that many bytes; `None` for length -1.
fn read_bytes<'a>(buf: &mut &'a [u8]) -> Result<Option<&'a [u8]>, MalformedRecords> {
    let len = read_varint(buf)?;
    if len < 0 {
        return Ok(None);
    }
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= buf.len())
        .ok_or(MalformedRecords("key past end of record"))?;
    let (bytes, rest) = buf.split_at(len);
    *buf = rest;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_batch::TestBatch;
    use crate::record::{crc_ok, first_record_where, HEADER_LEN};

    fn keys(batch: &[u8]) -> Vec<(i64, i64, Option<String>, bool)> {
        let h = BatchHeader::parse(batch).unwrap();
        let mut out = Vec::new();
        for_each_record(batch, &h, u64::MAX, |r| {
            out.push((
                r.offset,
                r.timestamp,
                r.key.map(|k| String::from_utf8_lossy(k).into_owned()),
                r.tombstone,
            ))
        })
        .unwrap();
        out
    }

    fn batch(compressed: bool) -> Vec<u8> {
        let b = TestBatch::keyed(
            &[("a", Some("1")), ("b", None), ("a", Some("2")), ("c", Some("3"))],
            1000,
        );
        let mut b = if compressed { b.compressed() } else { b }.build();
        crate::record::stamp(&mut b, 40, 0);
        b
    }

    #[test]
    fn reads_keys_offsets_timestamps_and_tombstones_compressed_or_not() {
        for compressed in [false, true] {
            assert_eq!(
                keys(&batch(compressed)),
                vec![
                    (40, 1000, Some("a".into()), false),
                    (41, 1001, Some("b".into()), true),
                    (42, 1002, Some("a".into()), false),
                    (43, 1003, Some("c".into()), false),
                ]
            );
        }
    }

    #[test]
    fn a_rewritten_batch_keeps_its_offsets_sequence_and_codec_and_sets_a_horizon_for_tombstones() {
        for compressed in [false, true] {
            let b = batch(compressed);
            let h = BatchHeader::parse(&b).unwrap();
            let Compacted::Rewritten(out) =
                compact_batch(&b, &h, u64::MAX, 9_000, false, |r| r.offset != 40 && r.offset != 43).unwrap()
            else {
                panic!("records went");
            };
            assert!(crc_ok(&out));
            let o = BatchHeader::parse(&out).unwrap();
            assert_eq!(
                (o.base_offset, o.last_offset_delta, o.record_count, o.compression()),
                (40, 3, 2, h.compression())
            );
            assert_eq!((o.delete_horizon_ms(), o.max_timestamp), (Some(9_000), 1002));
            assert_eq!(
                keys(&out),
                vec![(41, 1001, Some("b".into()), true), (42, 1002, Some("a".into()), false)],
                "timestamps survive the new base"
            );
            // Once set, the horizon is not moved by a later cleaning.
            let again = compact_batch(&out, &o, u64::MAX, 20_000, false, |r| r.offset == 41).unwrap();
            let Compacted::Rewritten(again) = again else { panic!() };
            assert_eq!(BatchHeader::parse(&again).unwrap().delete_horizon_ms(), Some(9_000));
        }
    }

    #[test]
    fn unchanged_dropped_and_empty_batches() {
        let b = batch(false);
        let h = BatchHeader::parse(&b).unwrap();
        let values_only = TestBatch::keyed(&[("a", Some("1")), ("b", Some("2"))], 5).build();
        let vh = BatchHeader::parse(&values_only).unwrap();
        assert_eq!(
            compact_batch(&values_only, &vh, u64::MAX, 0, false, |_| true).unwrap(),
            Compacted::Unchanged
        );
        assert_eq!(
            compact_batch(&b, &h, u64::MAX, 0, false, |_| false).unwrap(),
            Compacted::Dropped
        );
        let Compacted::Rewritten(empty) = compact_batch(&b, &h, u64::MAX, 0, true, |_| false).unwrap() else {
            panic!()
        };
        let e = BatchHeader::parse(&empty).unwrap();
        assert_eq!((empty.len(), e.record_count, e.last_offset()), (HEADER_LEN, 0, 43));
        assert!(crc_ok(&empty));
        assert_eq!(first_record_where(&empty, &e, |_| true), Ok(None));
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        let b = batch(false);
        for cut in HEADER_LEN..b.len() {
            let mut short = b[..cut].to_vec();
            short[8..12].copy_from_slice(&((cut - 12) as i32).to_be_bytes());
            let hs = BatchHeader::parse(&short).unwrap();
            assert!(for_each_record(&short, &hs, u64::MAX, |_| {}).is_err(), "cut {cut}");
            assert!(compact_batch(&short, &hs, u64::MAX, 0, false, |_| true).is_err());
        }
    }
}
