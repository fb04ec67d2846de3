//! Kafka's checks on a client batch before it is stored (docs/kafka-protocol.md#batch-checks):
//! the header, the record count (compressed records counted through a streaming decompressor),
//! CreateTime bounds, keys on a compacted topic; and the recompression a topic's
//! `compression.type` asks for. Each refusal is Kafka's error code with a message.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use crate::cluster::topic_config::TopicConfig;
use crate::record::{
    count_compressed_records, count_records, crc_ok, first_record_where, keyless_records, recompress, BatchHeader,
    Codec, HEADER_LEN, MAX_DECOMPRESSED_BYTES,
};

/// Compressed batches being counted at once, each on a blocking thread: the async workers never
/// decompress, and at most two decompressors' memory (64 MiB of records passes through 32 KiB
/// pieces; a zstd window is up to 128 MiB) is in use.
static DECOMPRESSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

pub(super) type Refusal = (ResponseError, String);

/// A refused batch: Kafka's error and message, and the records at fault by their index in the
/// batch (KIP-467's `record_errors`, from Produce v8; empty when the batch as a whole is).
/// librdkafka fails those records with the error and the batch's others with
/// `_INVALID_DIFFERENT_RECORD`, so a producer can resend them.
pub(super) struct Rejected {
    pub(super) code: ResponseError,
    pub(super) message: String,
    pub(super) records: Vec<(i32, String)>,
}

impl From<Refusal> for Rejected {
    fn from((code, message): Refusal) -> Rejected {
        Rejected {
            code,
            message,
            records: Vec::new(),
        }
    }
}

/// Kafka's checks on a client batch (docs/kafka-protocol.md#batch-checks), cheapest first; the
/// records are counted last.
pub(super) fn validate(records: &[u8], max_message_bytes: i32, version: i16) -> Result<BatchHeader, Refusal> {
    let corrupt = |m: &str| (ResponseError::CorruptMessage, m.to_string());
    let invalid = |m: String| (ResponseError::InvalidRecord, m);
    if records.len() < HEADER_LEN {
        return Err(corrupt("record batch shorter than its 61-byte header"));
    }
    let header = BatchHeader::parse(records).map_err(|e| corrupt(&e.to_string()))?;
    if header.magic != 2 {
        return Err(invalid(format!(
            "record batch magic {} (only v2 batches are accepted)",
            header.magic
        )));
    }
    let total = header.total_len();
    if total > records.len() as u64 {
        return Err(corrupt("record batch is truncated"));
    }
    if total < records.len() as u64 {
        return Err(invalid("more than one record batch for one partition".into()));
    }
    if records.len() > max_message_bytes.max(0) as usize {
        return Err((
            ResponseError::MessageTooLarge,
            format!(
                "batch of {} bytes exceeds max.message.bytes ({max_message_bytes})",
                records.len()
            ),
        ));
    }
    if !crc_ok(records) {
        return Err(corrupt("record batch CRC-32C mismatch"));
    }
    if header.base_offset != 0 {
        return Err(invalid(format!(
            "a producer's batch must have base offset 0, not {}",
            header.base_offset
        )));
    }
    if header.record_count <= 0 || header.last_offset_delta as i64 + 1 != header.record_count as i64 {
        return Err(invalid(format!(
            "record count {} does not match last offset delta {}",
            header.record_count, header.last_offset_delta
        )));
    }
    // Markers are the transaction coordinator's to write (Kafka's rule).
    if header.is_control() {
        return Err(invalid("control batches are written by the broker only".into()));
    }
    if header.is_transactional() && header.producer_id < 0 {
        return Err(invalid("a transactional batch needs a producer id".into()));
    }
    match Codec::from_id(header.compression()) {
        None => return Err(invalid(format!("unknown compression codec {}", header.compression()))),
        Some(Codec::Zstd) if version < 7 => {
            return Err((
                ResponseError::UnsupportedCompressionType,
                "zstd needs Produce v7 or later".into(),
            ))
        }
        Some(_) => {}
    }
    if header.producer_id >= 0 && header.base_sequence < 0 {
        return Err(invalid("an idempotent batch needs a base sequence".into()));
    }
    // Kafka iterates every batch's records before storing it; here only their length prefixes
    // are walked, so a count that claims more or fewer records than the bytes hold cannot move
    // the log end. A compressed batch is counted by `check_compressed_count`.
    if header.compression() == 0 {
        let held = count_records(&records[HEADER_LEN..]).map_err(|e| invalid(format!("records: {}", e.0)))?;
        check_count(&header, held)?;
    }
    Ok(header)
}

fn check_count(header: &BatchHeader, held: u64) -> Result<(), Refusal> {
    if held == header.record_count as u64 {
        return Ok(());
    }
    Err((
        ResponseError::InvalidRecord,
        format!(
            "record count {} but the batch holds {held} records",
            header.record_count
        ),
    ))
}

/// Counts a compressed batch's records through its decompressor, on a blocking thread.
/// Kafka's bounds on CreateTime timestamps (`message.timestamp.before.max.ms` and
/// `after.max.ms`): a batch with a record outside them is refused with INVALID_TIMESTAMP. The
/// header's max timestamp settles the upper bound; the lower one, unbounded unless set, walks
/// the records (decompressed first). A producer that sends no timestamps (-1) is exempt.
pub(super) async fn check_timestamps(
    header: &BatchHeader,
    records: &Bytes,
    config: &TopicConfig,
    now: i64,
) -> Result<(), Refusal> {
    let (low, high) = (
        now.saturating_sub(config.timestamp_before_max_ms),
        now.saturating_add(config.timestamp_after_max_ms),
    );
    let out_of_range = |ts: i64| {
        (
            ResponseError::InvalidTimestamp,
            format!("Timestamp {ts} of a record in the batch is out of range. The timestamp should be within [{low}, {high}]"),
        )
    };
    if header.base_timestamp == -1 {
        return Ok(());
    }
    if header.max_timestamp > high {
        return Err(out_of_range(header.max_timestamp));
    }
    if config.timestamp_before_max_ms == i64::MAX {
        return Ok(());
    }
    let plain = match header.compression() {
        0 => records.to_vec(),
        _ => recompressed(header, records.clone(), Codec::None).await?,
    };
    match first_record_where(&plain, header, |ts| ts < low) {
        Ok(Some((_, ts))) => Err(out_of_range(ts)),
        Ok(None) => Ok(()),
        Err(e) => Err((ResponseError::InvalidRecord, format!("records: {}", e.0))),
    }
}

/// Kafka's rule for a compacted topic: every record has a key, or the batch is refused with
/// INVALID_RECORD, naming each record without one. The records are walked, decompressed first
/// if need be.
pub(super) async fn check_keys(header: &BatchHeader, records: &Bytes) -> Result<(), Rejected> {
    let plain = match header.compression() {
        0 => records.to_vec(),
        _ => recompressed(header, records.clone(), Codec::None).await?,
    };
    let keyless =
        keyless_records(&plain, header).map_err(|e| (ResponseError::InvalidRecord, format!("records: {}", e.0)))?;
    if keyless.is_empty() {
        return Ok(());
    }
    const WHY: &str = "Compacted topic cannot accept message without key";
    Err(Rejected {
        code: ResponseError::InvalidRecord,
        message: format!("{} of the batch's records have no key: {WHY}", keyless.len()),
        records: keyless.into_iter().map(|i| (i, WHY.to_string())).collect(),
    })
}

/// The batch in the topic's codec (`compression.type`), off the async threads as counting is.
pub(super) async fn recompressed(header: &BatchHeader, batch: Bytes, target: Codec) -> Result<Vec<u8>, Refusal> {
    let invalid = |m: String| (ResponseError::InvalidRecord, m);
    let _permit = DECOMPRESSING
        .acquire()
        .await
        .map_err(|_| invalid("the broker is stopping".into()))?;
    let header = *header;
    tokio::task::spawn_blocking(move || recompress(&batch, &header, target, MAX_DECOMPRESSED_BYTES))
        .await
        .map_err(|e| invalid(format!("records: recompressing failed: {e}")))?
        .map_err(|e| invalid(format!("records: {}", e.0)))
}

pub(super) async fn check_compressed_count(header: &BatchHeader, batch: Bytes) -> Result<(), Refusal> {
    let invalid = |m: String| (ResponseError::InvalidRecord, m);
    let _permit = DECOMPRESSING
        .acquire()
        .await
        .map_err(|_| invalid("the broker is stopping".into()))?;
    let codec = header.compression();
    let held = tokio::task::spawn_blocking(move || {
        count_compressed_records(codec, &batch[HEADER_LEN..], MAX_DECOMPRESSED_BYTES)
    })
    .await
    .map_err(|e| invalid(format!("records: counting failed: {e}")))?
    .map_err(|e| invalid(format!("records: {}", e.0)))?;
    check_count(header, held)
}
