//! The fixed 61-byte header of a v2 record batch, read without touching the records.
//!
//! ```text
//! off  len  field                 in CRC?
//!  0    8   base_offset            no   (stamped by the log)
//!  8    4   batch_length           no   (bytes after this field = total - 12)
//! 12    4   partition_leader_epoch no   (stamped by the log)
//! 16    1   magic (= 2)            no
//! 17    4   crc (u32, CRC-32C)     -    (covers bytes 21..end)
//! 21    2   attributes             yes  (bits 0-2 codec, 3 LogAppendTime, 4 txn, 5 control)
//! 23    4   last_offset_delta      yes
//! 27    8   base_timestamp         yes
//! 35    8   max_timestamp          yes
//! 43    8   producer_id            yes
//! 51    2   producer_epoch         yes
//! 53    4   base_sequence          yes
//! 57    4   record_count           yes
//! 61    …   records
//! ```
//! All integers big-endian (docs/kafka-protocol.md#header-layout, AK `DefaultRecordBatch.java`).
//! The offsets below are the one place this layout is written down in code.

use thiserror::Error;

/// Size of the v2 header; also the smallest possible batch.
pub const HEADER_LEN: usize = 61;
/// Bytes before `batch_length` counts: base offset (8) + the length field itself (4).
pub const LOG_OVERHEAD: usize = 12;
pub const MAGIC_V2: i8 = 2;

const BASE_OFFSET: usize = 0;
const BATCH_LENGTH: usize = 8;
const LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
/// First byte covered by the CRC.
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORD_COUNT: usize = 57;

/// The compression codecs of attributes bits 0–2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

impl Codec {
    pub fn from_id(id: u8) -> Option<Codec> {
        [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd]
            .into_iter()
            .find(|c| *c as u8 == id)
    }
}

pub(super) const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
pub const TRANSACTIONAL_BIT: i16 = 0x10;
pub(super) const CONTROL_BIT: i16 = 0x20;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("batch header needs {HEADER_LEN} bytes, got {0}")]
    Short(usize),
    #[error("batch length {0} is smaller than a v2 header")]
    BadLength(i32),
    #[error("unsupported magic {0} (only v2 record batches are stored)")]
    BadMagic(i8),
}

/// The decoded fixed header of a v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the first 61 bytes of `bytes`. Checks only what is needed to walk a log safely:
    /// the length can hold a header and the magic is 2. It does not check the CRC ([`crc_ok`]).
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
        let h: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(BatchError::Short(bytes.len()))?;
        let header = BatchHeader {
            base_offset: i64::from_be_bytes(array(h, BASE_OFFSET)),
            batch_length: i32::from_be_bytes(array(h, BATCH_LENGTH)),
            partition_leader_epoch: i32::from_be_bytes(array(h, LEADER_EPOCH)),
            magic: i8::from_be_bytes(array(h, MAGIC)),
            crc: u32::from_be_bytes(array(h, CRC)),
            attributes: i16::from_be_bytes(array(h, ATTRIBUTES)),
            last_offset_delta: i32::from_be_bytes(array(h, LAST_OFFSET_DELTA)),
            base_timestamp: i64::from_be_bytes(array(h, BASE_TIMESTAMP)),
            max_timestamp: i64::from_be_bytes(array(h, MAX_TIMESTAMP)),
            producer_id: i64::from_be_bytes(array(h, PRODUCER_ID)),
            producer_epoch: i16::from_be_bytes(array(h, PRODUCER_EPOCH)),
            base_sequence: i32::from_be_bytes(array(h, BASE_SEQUENCE)),
            record_count: i32::from_be_bytes(array(h, RECORD_COUNT)),
        };
        if (header.batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(BatchError::BadLength(header.batch_length));
        }
        if header.magic != MAGIC_V2 {
            return Err(BatchError::BadMagic(header.magic));
        }
        Ok(header)
    }

    /// Bytes the whole batch occupies: `batch_length` counts only what follows the length field.
    pub fn total_len(&self) -> u64 {
        // parse() guarantees batch_length >= 49, so the cast cannot wrap.
        self.batch_length as u64 + LOG_OVERHEAD as u64
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset.saturating_add(self.last_offset_delta as i64)
    }

    /// Codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> u8 {
        (self.attributes & COMPRESSION_MASK) as u8
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// A whole batch: this header's fields, with `batch_length` and the CRC computed, then
    /// `records` (already encoded, and compressed if the attributes say so).
    pub fn encode(&self, records: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
        put(BASE_OFFSET, &self.base_offset.to_be_bytes());
        put(
            BATCH_LENGTH,
            &((HEADER_LEN - LOG_OVERHEAD + records.len()) as i32).to_be_bytes(),
        );
        put(LEADER_EPOCH, &self.partition_leader_epoch.to_be_bytes());
        put(MAGIC, &self.magic.to_be_bytes());
        put(ATTRIBUTES, &self.attributes.to_be_bytes());
        put(LAST_OFFSET_DELTA, &self.last_offset_delta.to_be_bytes());
        put(BASE_TIMESTAMP, &self.base_timestamp.to_be_bytes());
        put(MAX_TIMESTAMP, &self.max_timestamp.to_be_bytes());
        put(PRODUCER_ID, &self.producer_id.to_be_bytes());
        put(PRODUCER_EPOCH, &self.producer_epoch.to_be_bytes());
        put(BASE_SEQUENCE, &self.base_sequence.to_be_bytes());
        put(RECORD_COUNT, &self.record_count.to_be_bytes());
        b.extend_from_slice(records);
        reseal(&mut b);
        b
    }

    /// With LogAppendTime every record's timestamp is `max_timestamp`
    /// (docs/kafka-protocol.md#timestamps-and-logappendtime).
    pub fn timestamp_type_log_append(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }
}

/// True when the CRC-32C stored at bytes 17..21 matches bytes 21..end. False for anything too
/// short to hold a header.
pub fn crc_ok(batch: &[u8]) -> bool {
    if batch.len() < HEADER_LEN {
        return false;
    }
    let stored = u32::from_be_bytes([batch[CRC], batch[CRC + 1], batch[CRC + 2], batch[CRC + 3]]);
    crc32c::crc32c(&batch[ATTRIBUTES..]) == stored
}

/// Recomputes the CRC after a change to the bytes it covers. Callers have checked the length.
pub fn reseal(batch: &mut [u8]) {
    if batch.len() < HEADER_LEN {
        return;
    }
    let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
    batch[CRC..ATTRIBUTES].copy_from_slice(&crc.to_be_bytes());
}

/// Marks a batch as LogAppendTime with `now` as its max timestamp (every record's timestamp
/// then), and reseals it: both fields are under the CRC.
pub fn set_log_append_time(batch: &mut [u8], now: i64) {
    if batch.len() < HEADER_LEN {
        return;
    }
    let attributes = i16::from_be_bytes([batch[ATTRIBUTES], batch[ATTRIBUTES + 1]]) | TIMESTAMP_TYPE_BIT;
    batch[ATTRIBUTES..LAST_OFFSET_DELTA].copy_from_slice(&attributes.to_be_bytes());
    batch[MAX_TIMESTAMP..PRODUCER_ID].copy_from_slice(&now.to_be_bytes());
    reseal(batch);
}

/// Writes the log's own fields into a batch: the offset it was given and the leader epoch. Both
/// lie outside the CRC, so the producer's checksum stays valid. Callers have checked the length.
pub(crate) fn stamp(batch: &mut [u8], base_offset: i64, leader_epoch: i32) {
    if let Some(field) = batch.get_mut(BASE_OFFSET..BATCH_LENGTH) {
        field.copy_from_slice(&base_offset.to_be_bytes());
    }
    if let Some(field) = batch.get_mut(LEADER_EPOCH..MAGIC) {
        field.copy_from_slice(&leader_epoch.to_be_bytes());
    }
}

fn array<const N: usize>(h: &[u8; HEADER_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&h[at..at + N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_batch::TestBatch;

    #[test]
    fn header_fields_sit_at_kafka_offsets() {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&0x0102_0304_0506_0708i64.to_be_bytes());
        b[8..12].copy_from_slice(&49i32.to_be_bytes());
        b[12..16].copy_from_slice(&7i32.to_be_bytes());
        b[16] = 2;
        b[17..21].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        b[21..23].copy_from_slice(&0x0039i16.to_be_bytes());
        b[23..27].copy_from_slice(&4i32.to_be_bytes());
        b[27..35].copy_from_slice(&1000i64.to_be_bytes());
        b[35..43].copy_from_slice(&2000i64.to_be_bytes());
        b[43..51].copy_from_slice(&42i64.to_be_bytes());
        b[51..53].copy_from_slice(&3i16.to_be_bytes());
        b[53..57].copy_from_slice(&9i32.to_be_bytes());
        b[57..61].copy_from_slice(&5i32.to_be_bytes());
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(
            h,
            BatchHeader {
                base_offset: 0x0102_0304_0506_0708,
                batch_length: 49,
                partition_leader_epoch: 7,
                magic: 2,
                crc: 0xdead_beef,
                attributes: 0x39,
                last_offset_delta: 4,
                base_timestamp: 1000,
                max_timestamp: 2000,
                producer_id: 42,
                producer_epoch: 3,
                base_sequence: 9,
                record_count: 5,
            }
        );
        assert_eq!(h.total_len(), 61);
        assert_eq!(h.last_offset(), 0x0102_0304_0506_0708 + 4);
        assert_eq!(h.compression(), 1);
        assert!(h.timestamp_type_log_append());
        assert!(h.is_transactional());
        assert!(h.is_control());
    }

    #[test]
    fn short_input_bad_length_and_old_magic_are_rejected() {
        assert_eq!(BatchHeader::parse(&[0u8; 60]), Err(BatchError::Short(60)));
        let mut b = vec![0u8; HEADER_LEN];
        b[8..12].copy_from_slice(&48i32.to_be_bytes());
        b[16] = 2;
        assert_eq!(BatchHeader::parse(&b), Err(BatchError::BadLength(48)));
        b[8..12].copy_from_slice(&49i32.to_be_bytes());
        b[16] = 1;
        assert_eq!(BatchHeader::parse(&b), Err(BatchError::BadMagic(1)));
    }

    #[test]
    fn encode_writes_what_parse_reads_with_length_and_crc_filled_in() {
        let header = BatchHeader {
            base_offset: 7,
            batch_length: 0,
            partition_leader_epoch: -1,
            magic: 2,
            crc: 0,
            attributes: 0x03,
            last_offset_delta: 1,
            base_timestamp: 10,
            max_timestamp: 11,
            producer_id: 5,
            producer_epoch: 1,
            base_sequence: 0,
            record_count: 2,
        };
        let b = header.encode(b"records");
        assert!(crc_ok(&b));
        let read = BatchHeader::parse(&b).unwrap();
        assert_eq!(read.total_len(), b.len() as u64);
        let crc = read.crc;
        assert_eq!(
            read,
            BatchHeader {
                batch_length: (b.len() - LOG_OVERHEAD) as i32,
                crc,
                ..header
            }
        );
    }

    #[test]
    fn log_append_time_sets_the_bit_and_max_timestamp_and_keeps_the_crc_valid() {
        let mut b = TestBatch::new(3, 100).build();
        set_log_append_time(&mut b, 999);
        let h = BatchHeader::parse(&b).unwrap();
        assert!(h.timestamp_type_log_append());
        assert_eq!((h.max_timestamp, h.base_timestamp), (999, 100));
        assert!(crc_ok(&b));
    }

    #[test]
    fn crc_covers_attributes_to_end_but_not_offset_or_epoch() {
        let mut b = TestBatch::new(3, 100).build();
        assert!(crc_ok(&b));
        stamp(&mut b, 12345, 0);
        assert!(crc_ok(&b), "stamping offset and epoch must not break the crc");
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!((h.base_offset, h.partition_leader_epoch), (12345, 0));
        let last = b.len() - 1;
        b[last] ^= 1;
        assert!(!crc_ok(&b));
        assert!(!crc_ok(&b[..20]));
    }
}
