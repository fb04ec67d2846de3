//! Just enough of the v2 record encoding to count the records of an uncompressed batch (Produce
//! checks the header's count against them) and to find a record by timestamp inside one
//! (ListOffsets by time). Everything else about records belongs to the clients.
//!
//! ```text
//! record: varint length, i8 attributes, varlong timestampDelta, varint offsetDelta, ...rest
//! ```
//! Varints are zigzag-encoded, least significant group first
//! (docs/kafka-protocol.md#records-and-varints).

use super::batch::{BatchHeader, HEADER_LEN};
use super::varint;

/// The records of a batch do not decode; `.0` says where it went wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct MalformedRecords(pub &'static str);

/// The (offset, timestamp) of the first record of `batch` whose timestamp is >= `ts`, walking
/// the uncompressed records one by one. `None` when no record qualifies.
pub(crate) fn first_record_at_or_after(
    batch: &[u8],
    header: &BatchHeader,
    ts: i64,
) -> Result<Option<(i64, i64)>, MalformedRecords> {
    first_record_where(batch, header, |record_ts| record_ts >= ts)
}

/// The (offset, timestamp) of the first record of the uncompressed `batch` whose timestamp
/// `wanted` picks. Only each record's prefix is decoded; its length skips the rest.
pub fn first_record_where(
    batch: &[u8],
    header: &BatchHeader,
    wanted: impl Fn(i64) -> bool,
) -> Result<Option<(i64, i64)>, MalformedRecords> {
    first_prefix_where(batch, header, |p| wanted(p.timestamp)).map(|found| found.map(|p| (p.offset, p.timestamp)))
}

/// The indexes in the uncompressed `batch` of the records without a key (a null key), which a
/// compacted topic refuses.
pub fn keyless_records(batch: &[u8], header: &BatchHeader) -> Result<Vec<i32>, MalformedRecords> {
    let mut keyless = Vec::new();
    let mut index = 0;
    first_prefix_where(batch, header, |p| {
        if p.key_len < 0 {
            keyless.push(index);
        }
        index += 1;
        false
    })?;
    Ok(keyless)
}

/// What a record's prefix says: its offset and timestamp (from the batch's bases) and its key's
/// length (-1 for none).
struct Prefix {
    offset: i64,
    timestamp: i64,
    key_len: i64,
}

fn first_prefix_where(
    batch: &[u8],
    header: &BatchHeader,
    mut wanted: impl FnMut(&Prefix) -> bool,
) -> Result<Option<Prefix>, MalformedRecords> {
    let mut rest = batch
        .get(HEADER_LEN..)
        .ok_or(MalformedRecords("batch shorter than header"))?;
    for _ in 0..header.record_count.max(0) {
        let len = read_varint(&mut rest)?;
        let len = usize::try_from(len).map_err(|_| MalformedRecords("negative record length"))?;
        if len > rest.len() {
            return Err(MalformedRecords("record length past end of batch"));
        }
        let (mut body, after) = rest.split_at(len);
        rest = after;
        let (_attributes, tail) = body.split_first().ok_or(MalformedRecords("empty record"))?;
        body = tail;
        let ts_delta = read_varint(&mut body)?;
        let offset_delta = read_varint(&mut body)?;
        let prefix = Prefix {
            offset: header.base_offset.saturating_add(offset_delta),
            timestamp: header.base_timestamp.saturating_add(ts_delta),
            key_len: read_varint(&mut body)?,
        };
        if wanted(&prefix) {
            return Ok(Some(prefix));
        }
    }
    Ok(None)
}

/// The smallest v2 record after its length prefix: attributes, timestamp delta, offset delta,
/// key length, value length and header count, one byte each at least.
const MIN_RECORD_LEN: u64 = 6;

/// How many records `records` (the bytes after a batch header) holds, by walking their length
/// prefixes; each must be a possible record and end inside `records`, and the last must end at
/// its end.
pub fn count_records(records: &[u8]) -> Result<u64, MalformedRecords> {
    let mut walk = RecordWalk::default();
    walk.feed(records)?;
    walk.finish()
}

/// Counts records from their length prefixes over bytes that arrive in pieces (a decompressor's
/// output), carrying a prefix or a record cut between two pieces over to the next.
#[derive(Debug, Default)]
pub struct RecordWalk {
    /// Bytes of the current record still to pass over.
    skip: u64,
    /// The length prefix read so far, and how many bits of it.
    prefix: u64,
    shift: u32,
    count: u64,
}

impl RecordWalk {
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), MalformedRecords> {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len() as u64);
                self.skip -= n;
                bytes = &bytes[n as usize..];
                continue;
            }
            let byte = bytes[0];
            bytes = &bytes[1..];
            if self.shift > 63 {
                return Err(MalformedRecords("overlong varint"));
            }
            self.prefix |= u64::from(byte & 0x7f) << self.shift;
            self.shift += 7;
            if byte & 0x80 == 0 {
                let len = varint::unzigzag(self.prefix);
                (self.prefix, self.shift) = (0, 0);
                self.skip = u64::try_from(len)
                    .ok()
                    .filter(|&l| l >= MIN_RECORD_LEN)
                    .ok_or(MalformedRecords("record length below the smallest record"))?;
                self.count += 1;
            }
        }
        Ok(())
    }

    /// The records counted, once the bytes have ended exactly where a record does.
    pub fn finish(&self) -> Result<u64, MalformedRecords> {
        if self.skip > 0 || self.shift > 0 {
            return Err(MalformedRecords("record length past end of batch"));
        }
        Ok(self.count)
    }
}

/// Reads one varint of a record and advances `buf` past it.
pub(super) fn read_varint(buf: &mut &[u8]) -> Result<i64, MalformedRecords> {
    varint::read(buf).ok_or(MalformedRecords("truncated or overlong varint"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_batch::TestBatch;

    #[test]
    fn finds_first_record_at_or_after_timestamp() {
        let b = TestBatch::with_timestamps(vec![100, 300, 200, 400]).build();
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(first_record_at_or_after(&b, &h, 50), Ok(Some((0, 100))));
        assert_eq!(first_record_at_or_after(&b, &h, 150), Ok(Some((1, 300))));
        assert_eq!(first_record_at_or_after(&b, &h, 301), Ok(Some((3, 400))));
        assert_eq!(first_record_at_or_after(&b, &h, 401), Ok(None));
    }

    #[test]
    fn truncated_records_are_reported_not_panicked_on() {
        let b = TestBatch::new(3, 0).value_len(20).build();
        let h = BatchHeader::parse(&b).unwrap();
        for cut in HEADER_LEN..b.len() {
            let r = first_record_at_or_after(&b[..cut], &h, i64::MAX);
            assert!(r.is_err() || r == Ok(None), "cut {cut}: {r:?}");
        }
    }

    #[test]
    fn counts_records_and_refuses_framing_that_does_not_end_with_the_batch() {
        let b = TestBatch::new(5, 0).value_len(20).build();
        assert_eq!(count_records(&b[HEADER_LEN..]), Ok(5));
        assert_eq!(count_records(&[]), Ok(0));
        // Cut inside the last record: its length points past the end.
        assert!(count_records(&b[HEADER_LEN..b.len() - 1]).is_err());
        // A byte of garbage after the last record reads as a record of length 0.
        let mut extra = b[HEADER_LEN..].to_vec();
        extra.push(0);
        assert!(count_records(&extra).is_err());
        // A negative length, and one shorter than any record.
        assert!(count_records(&[0x01, 0xaa]).is_err());
        assert!(count_records(&[0x02, 0xaa]).is_err());
        // Fed in pieces of every size, the count is the same.
        for piece in 1..8 {
            let mut walk = RecordWalk::default();
            for chunk in b[HEADER_LEN..].chunks(piece) {
                walk.feed(chunk).unwrap();
            }
            assert_eq!(walk.finish(), Ok(5), "pieces of {piece}");
        }
    }
}
