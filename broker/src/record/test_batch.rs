//! Builds valid v2 record batches for tests: header, uncompressed records, correct CRC-32C.

use super::varint;
use super::BatchHeader;

/// A record's key and value; `None` is null.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// A batch under construction. Record `i` gets timestamp `timestamps[i]` and a value of
/// `value_len` bytes; base offset 0 and epoch 0 as a producer would send them.
pub struct TestBatch {
    timestamps: Vec<i64>,
    value_len: usize,
    attributes: i16,
    max_timestamp: Option<i64>,
    /// Per record: key and value (`None`: null). Without it, keyless records of `value_len`.
    entries: Option<Vec<KeyValue>>,
    /// (producer id, epoch, base sequence) of an idempotent producer.
    producer: Option<(i64, i16, i32)>,
}

impl TestBatch {
    /// `count` records, timestamps `first_ts`, `first_ts + 1`, ...
    pub fn new(count: usize, first_ts: i64) -> TestBatch {
        TestBatch::with_timestamps((0..count as i64).map(|i| first_ts + i).collect())
    }

    pub fn with_timestamps(timestamps: Vec<i64>) -> TestBatch {
        TestBatch {
            timestamps,
            value_len: 10,
            attributes: 0,
            max_timestamp: None,
            entries: None,
            producer: None,
        }
    }

    /// Marks the batch as part of its producer's transaction (attributes bit 4).
    pub fn transactional(mut self) -> TestBatch {
        self.attributes |= 0x10;
        self
    }

    pub fn producer(mut self, id: i64, epoch: i16, base_sequence: i32) -> TestBatch {
        self.producer = Some((id, epoch, base_sequence));
        self
    }

    /// One record per `(key, value)`, a `None` value a tombstone; timestamps from `first_ts`.
    pub fn keyed(entries: &[(&str, Option<&str>)], first_ts: i64) -> TestBatch {
        let mut b = TestBatch::new(entries.len(), first_ts);
        b.entries = Some(
            entries
                .iter()
                .map(|(k, v)| (Some(k.as_bytes().to_vec()), v.map(|v| v.as_bytes().to_vec())))
                .collect(),
        );
        b
    }

    pub fn value_len(mut self, len: usize) -> TestBatch {
        self.value_len = len;
        self
    }

    /// Gzips the records (attributes codec 1), as a producer with `compression.type=gzip` does.
    pub fn compressed(mut self) -> TestBatch {
        self.attributes |= 1;
        self
    }

    pub fn log_append_time(mut self, max_timestamp: i64) -> TestBatch {
        self.attributes |= 0x08;
        self.max_timestamp = Some(max_timestamp);
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let base_ts = self.timestamps.first().copied().unwrap_or(-1);
        let max_ts = self
            .max_timestamp
            .unwrap_or_else(|| self.timestamps.iter().copied().max().unwrap_or(-1));
        let mut records = Vec::new();
        for (i, ts) in self.timestamps.iter().enumerate() {
            let mut body = vec![0u8]; // attributes
            varint::put(&mut body, ts - base_ts);
            varint::put(&mut body, i as i64);
            match self.entries.as_ref().map(|e| &e[i]) {
                Some((key, value)) => {
                    for field in [key, value] {
                        match field {
                            Some(bytes) => {
                                varint::put(&mut body, bytes.len() as i64);
                                body.extend_from_slice(bytes);
                            }
                            None => varint::put(&mut body, -1),
                        }
                    }
                }
                None => {
                    varint::put(&mut body, -1); // null key
                    varint::put(&mut body, self.value_len as i64);
                    body.extend(std::iter::repeat_n((i % 251) as u8, self.value_len));
                }
            }
            varint::put(&mut body, 0); // no headers
            varint::put(&mut records, body.len() as i64);
            records.extend_from_slice(&body);
        }
        let count = self.timestamps.len() as i32;
        BatchHeader {
            base_offset: 0,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: self.attributes,
            last_offset_delta: (count - 1).max(0),
            base_timestamp: base_ts,
            max_timestamp: max_ts,
            producer_id: self.producer.map_or(-1, |p| p.0),
            producer_epoch: self.producer.map_or(-1, |p| p.1),
            base_sequence: self.producer.map_or(-1, |p| p.2),
            record_count: count,
        }
        .encode(&if self.attributes & 0x07 == 1 {
            super::compress(super::Codec::Gzip, &records).expect("gzip writes to memory")
        } else {
            records
        })
    }
}
