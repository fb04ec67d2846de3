//! Produce: check each partition's one record batch, append it, and answer per `acks`.
//!
//! Batches are stored as the producer sent them (never re-encoded; a compressed one is read
//! through a streaming decompressor only to count its records); only the base
//! offset (outside the CRC) is stamped, plus, for LogAppendTime topics, the timestamp bit and
//! max timestamp, which the CRC covers and so is recomputed. With `acks=all` the answer waits
//! for an fsync that covers the batch (or, for a producer's retry, the batch first stored);
//! concurrent producers share fsyncs (`Partition::sync_to`).

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};

use super::{now_ms, str_bytes, Cx, Deferred, HandleError, Reply};
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::{AppendError, Appended, PartitionRef};
use crate::cluster::topic_config::TopicConfig;
use crate::codec;
use crate::group::OFFSETS_TOPIC;
use crate::record::{
    count_compressed_records, count_records, crc_ok, first_record_where, keyless_records, recompress,
    set_log_append_time, BatchHeader, Codec, HEADER_LEN, MAX_DECOMPRESSED_BYTES,
};

/// Compressed batches being counted at once, each on a blocking thread: the async workers never
/// decompress, and at most two decompressors' memory (64 MiB of records passes through 32 KiB
/// pieces; a zstd window is up to 128 MiB) is in use.
static DECOMPRESSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

type Refusal = (ResponseError, String);

/// A refused batch: Kafka's error and message, and the records at fault by their index in the
/// batch (KIP-467's `record_errors`, from Produce v8; empty when the batch as a whole is).
/// librdkafka fails those records with the error and the batch's others with
/// `_INVALID_DIFFERENT_RECORD`, so a producer can resend them.
struct Rejected {
    code: ResponseError,
    message: String,
    records: Vec<(i32, String)>,
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

/// An fsync an acks=all answer waits for: the partition must be on disk up to `end`, or the
/// answer's partition `(topic, partition)` index gets KAFKA_STORAGE_ERROR.
struct Fsync {
    at: (usize, usize),
    partition: PartitionRef,
    end: i64,
}

/// Appends every partition's batch and answers; with acks=all the answer waits for the fsyncs
/// that cover them. A topic the user may not write to gets
/// TOPIC_AUTHORIZATION_FAILED on every partition and nothing of it is appended.
pub async fn handle(cx: &Cx<'_>, request: ProduceRequest) -> Produced {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let now = now_ms();
    let acks = request.acks;
    let mut to_sync = Vec::new();
    let mut response = ProduceResponse::default();
    for (ti, topic_data) in request.topic_data.into_iter().enumerate() {
        // v13 names a topic by its id (KIP-516); an id no topic has gets UNKNOWN_TOPIC_ID.
        let by_id = (version >= 13).then(|| broker.topics.by_id(topic_data.topic_id));
        let name = match &by_id {
            Some(Some(t)) => t.name.clone(),
            Some(None) => String::new(),
            None => topic_data.name.to_string(),
        };
        let unknown_id = matches!(by_id, Some(None));
        let topic = broker.topics.get(&name);
        let allowed = unknown_id || access.allows(Operation::Write, Resource::Topic(&name));
        let mut topic_response = TopicProduceResponse::default();
        for (pi, data) in topic_data.partition_data.into_iter().enumerate() {
            let mut r = PartitionProduceResponse::default();
            r.index = data.index;
            r.base_offset = -1;
            let outcome = if !matches!(acks, -1..=1) {
                Err(Rejected::from((
                    ResponseError::InvalidRequiredAcks,
                    format!("acks must be -1, 0 or 1, not {acks}"),
                )))
            } else if unknown_id {
                Err(Rejected::from((
                    ResponseError::UnknownTopicId,
                    format!("no topic has the id {}", topic_data.topic_id),
                )))
            } else if !allowed {
                Err(Rejected::from((
                    ResponseError::TopicAuthorizationFailed,
                    format!("not authorized to write to topic {name}"),
                )))
            } else if name == OFFSETS_TOPIC {
                // Kafka's rule: only the coordinator writes there (ReplicaManager
                // `internalTopicsAllowed`); a client record would corrupt every group's state.
                Err(Rejected::from((
                    ResponseError::InvalidTopicException,
                    format!("cannot append to internal topic {OFFSETS_TOPIC}"),
                )))
            } else if request.transactional_id.is_some() {
                Err(Rejected::from((
                    ResponseError::TransactionalIdAuthorizationFailed,
                    "transactions are not supported".into(),
                )))
            } else {
                match topic.as_ref().and_then(|t| t.partition(data.index).map(|p| (t, p))) {
                    None => Err(Rejected::from((
                        ResponseError::UnknownTopicOrPartition,
                        "no such topic or partition".to_string(),
                    ))),
                    Some((t, p)) => append(p, &t.config, data.records, version, now).await,
                }
            };
            match outcome {
                Ok((partition, appended, append_time)) => {
                    r.base_offset = appended.base_offset();
                    r.log_append_time_ms = append_time.unwrap_or(-1);
                    if version >= 5 {
                        r.log_start_offset = partition.offsets().0;
                    }
                    if let Appended::New(_) = appended {
                        broker.notify_appended();
                    }
                    // A retried batch is answered like the first try: only once it is on disk,
                    // which the first try may still be waiting for.
                    if acks == -1 {
                        to_sync.push(Fsync {
                            at: (ti, pi),
                            partition,
                            end: appended.end_offset(),
                        });
                    }
                }
                Err(Rejected { code, message, records }) => {
                    tracing::debug!(topic = %name, partition = data.index, %message, "produce refused");
                    r.error_code = code.code();
                    if version >= 8 {
                        r.error_message = Some(str_bytes(message));
                        r.record_errors = records
                            .into_iter()
                            .map(|(index, why)| {
                                let mut e = BatchIndexAndErrorMessage::default();
                                e.batch_index = index;
                                e.batch_index_error_message = Some(str_bytes(why));
                                e
                            })
                            .collect();
                    }
                }
            }
            topic_response.partition_responses.push(r);
        }
        topic_response.name = topic_data.name;
        topic_response.topic_id = topic_data.topic_id;
        response.responses.push(topic_response);
    }
    Produced {
        response,
        acks,
        syncs: to_sync,
    }
}

/// A produce's answer: none at acks=0 (a failure closes the connection instead, as Kafka does),
/// at once at acks=1, and deferred until its fsyncs at acks=all.
pub struct Produced {
    response: ProduceResponse,
    acks: i16,
    syncs: Vec<Fsync>,
}

impl Reply for Produced {
    fn reply(self, cx: &Cx<'_>, key: ApiKey, out: &mut BytesMut) -> Result<Option<Deferred>, HandleError> {
        if self.acks == 0 {
            return match first_failure(&self.response) {
                Some(failed) => Err(HandleError::AcksZeroFailed(failed)),
                None => Ok(None),
            };
        }
        if self.syncs.is_empty() {
            return self.response.reply(cx, key, out);
        }
        let (version, correlation_id) = (cx.version, cx.correlation_id);
        Ok(Some(tokio::spawn(async move {
            let response = synced(self.response, self.syncs).await;
            let mut out = BytesMut::new();
            codec::encode_response(&mut out, key, version, correlation_id, &response)?;
            Ok(out)
        })))
    }
}

/// The acks=all answer once its batches are on disk (other producers' fsyncs count).
async fn synced(mut response: ProduceResponse, syncs: Vec<Fsync>) -> ProduceResponse {
    for Fsync {
        at: (ti, pi),
        partition,
        end,
    } in syncs
    {
        if let Err(e) = partition.sync_to(end).await {
            // The partition logged the failure once; every later write is refused the same way.
            tracing::debug!(error = %e, "acks=all answered with KAFKA_STORAGE_ERROR");
            let r = &mut response.responses[ti].partition_responses[pi];
            r.error_code = ResponseError::KafkaStorageError.code();
            r.base_offset = -1;
        }
    }
    response
}

/// Names the first failed partition, if any (for acks=0, where failure closes the connection).
fn first_failure(response: &ProduceResponse) -> Option<String> {
    response.responses.iter().find_map(|t| {
        t.partition_responses
            .iter()
            .find(|p| p.error_code != 0)
            .map(|p| format!("{}-{} (error {})", t.name.0, p.index, p.error_code))
    })
}

async fn append(
    partition: &PartitionRef,
    config: &TopicConfig,
    records: Option<Bytes>,
    version: i16,
    now: i64,
) -> Result<(PartitionRef, Appended, Option<i64>), Rejected> {
    let records = records.ok_or((ResponseError::InvalidRecord, "records are null".to_string()))?;
    let mut header = validate(&records, config.max_message_bytes, version)?;
    if header.compression() != 0 {
        check_compressed_count(&header, records.clone()).await?;
    }
    if !config.log_append_time {
        check_timestamps(&header, &records, config, now).await?;
    }
    if config.compact {
        check_keys(&header, &records).await?;
    }
    // The frame is shared; the stored copy is the one place offsets are stamped.
    let mut batch = match config.compression.filter(|c| *c as u8 != header.compression()) {
        Some(target) => {
            let batch = recompressed(&header, records, target).await?;
            header = BatchHeader::parse(&batch).map_err(|e| (ResponseError::CorruptMessage, e.to_string()))?;
            batch
        }
        None => records.to_vec(),
    };
    let append_time = config.log_append_time.then(|| {
        set_log_append_time(&mut batch, now);
        now
    });
    let appended = partition.append(&mut batch, &header, now).map_err(|e| match e {
        AppendError::Sequence(s) => (
            ResponseError::try_from_code(s.code()).unwrap_or(ResponseError::OutOfOrderSequenceNumber),
            e.to_string(),
        ),
        AppendError::Log(e) => (ResponseError::KafkaStorageError, e.to_string()),
    })?;
    if let Appended::New(_) = appended {
        partition.stats.produced(header.record_count, batch.len());
    }
    Ok((partition.clone(), appended, append_time))
}

/// Kafka's checks on a client batch (docs/kafka-protocol.md#batch-checks), cheapest first; the
/// records are counted last.
pub fn validate(records: &[u8], max_message_bytes: i32, version: i16) -> Result<BatchHeader, Refusal> {
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
    if header.is_control() || header.is_transactional() {
        return Err(invalid("transactional and control batches are not supported".into()));
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
async fn check_timestamps(
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
async fn check_keys(header: &BatchHeader, records: &Bytes) -> Result<(), Rejected> {
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
async fn recompressed(header: &BatchHeader, batch: Bytes, target: Codec) -> Result<Vec<u8>, Refusal> {
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

async fn check_compressed_count(header: &BatchHeader, batch: Bytes) -> Result<(), Refusal> {
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
