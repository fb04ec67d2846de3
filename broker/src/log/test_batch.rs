//! Builds valid v2 record batches for tests: header, uncompressed records, correct CRC-32C.

/// A batch under construction. Record `i` gets timestamp `timestamps[i]` and a value of
/// `value_len` bytes; base offset 0 and epoch 0 as a producer would send them.
pub struct TestBatch {
    timestamps: Vec<i64>,
    value_len: usize,
    attributes: i16,
    max_timestamp: Option<i64>,
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
        }
    }

    pub fn value_len(mut self, len: usize) -> TestBatch {
        self.value_len = len;
        self
    }

    /// Marks the records as gzip without compressing them: the log never looks inside.
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
            put_varlong(&mut body, ts - base_ts);
            put_varlong(&mut body, i as i64);
            put_varlong(&mut body, -1); // null key
            put_varlong(&mut body, self.value_len as i64);
            body.extend(std::iter::repeat_n((i % 251) as u8, self.value_len));
            put_varlong(&mut body, 0); // no headers
            put_varlong(&mut records, body.len() as i64);
            records.extend_from_slice(&body);
        }
        let count = self.timestamps.len() as i32;
        let mut b = Vec::with_capacity(61 + records.len());
        b.extend_from_slice(&0i64.to_be_bytes());
        b.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.push(2);
        b.extend_from_slice(&[0; 4]); // crc, filled below
        b.extend_from_slice(&self.attributes.to_be_bytes());
        b.extend_from_slice(&(count - 1).max(0).to_be_bytes());
        b.extend_from_slice(&base_ts.to_be_bytes());
        b.extend_from_slice(&max_ts.to_be_bytes());
        b.extend_from_slice(&(-1i64).to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(&records);
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

/// Zigzag varint as Kafka writes record fields.
pub fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

use std::path::Path;

use super::{LogConfig, PartitionLog};

/// Small segments and a dense index, so a few batches exercise rolling and index lookups.
pub fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        segment_ms: None,
        retention_ms: None,
        retention_bytes: None,
        index_interval_bytes: 150,
    }
}

pub fn open(dir: &Path, config: LogConfig) -> PartitionLog {
    PartitionLog::open(dir, config).unwrap().0
}

/// Appends `n` batches of `records` records each (timestamps from `first_ts`, one apart, per
/// record across batches) and returns the stored bytes of each, stamped.
pub fn append_batches(log: &mut PartitionLog, n: usize, records: usize, first_ts: i64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut b = TestBatch::new(records, first_ts + (i * records) as i64).build();
            log.append(&mut b, 0).unwrap();
            b
        })
        .collect()
}
