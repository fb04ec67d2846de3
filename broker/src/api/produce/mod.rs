//! Produce: check each partition's one record batch, append it, and answer per `acks`.
//!
//! Batches are stored as the producer sent them; only the base offset (outside the CRC) is
//! stamped, plus, for LogAppendTime topics, the timestamp bit and max timestamp, which the CRC
//! covers and so is recomputed, and for a topic whose `compression.type` names another codec
//! the records are recompressed. Kafka's checks on a batch are in [`checks`]. With `acks=all`
//! the answer waits for an fsync that covers the batch (or, for a producer's retry, the batch
//! first stored); concurrent producers share fsyncs (`Partition::sync_to`).

mod checks;

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};

use super::{is_internal, now_ms, str_bytes, Cx, Deferred, HandleError, Reply};
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::{AppendError, Appended, PartitionRef};
use crate::cluster::topic_config::TopicConfig;
use crate::codec;
use crate::record::{set_log_append_time, BatchHeader};
use checks::{check_compressed_count, check_keys, check_timestamps, recompressed, validate, Rejected};

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
    let transactional_id = request.transactional_id.as_ref().map(|id| id.0.as_str());
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
            } else if is_internal(&name) {
                // Kafka's rule: only the coordinators write there (ReplicaManager
                // `internalTopicsAllowed`); a client record would corrupt their state.
                Err(Rejected::from((
                    ResponseError::InvalidTopicException,
                    format!("cannot append to internal topic {name}"),
                )))
            } else if transactional_id.is_some_and(|id| !access.allows(Operation::Write, Resource::TransactionalId(id)))
            {
                Err(Rejected::from((
                    ResponseError::TransactionalIdAuthorizationFailed,
                    "not authorized to use this transactional id".into(),
                )))
            } else {
                match topic.as_ref().and_then(|t| t.partition(data.index).map(|p| (t, p))) {
                    None => Err(Rejected::from((
                        ResponseError::UnknownTopicOrPartition,
                        "no such topic or partition".to_string(),
                    ))),
                    Some((t, p)) => {
                        let target = Target {
                            topic: &name,
                            partition: p,
                            transactional_id,
                        };
                        append(broker, target, &t.config, data.records, version, now).await
                    }
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

/// Where a batch goes, and for whose transaction.
struct Target<'a> {
    topic: &'a str,
    partition: &'a PartitionRef,
    transactional_id: Option<&'a str>,
}

async fn append(
    broker: &crate::state::Broker,
    target: Target<'_>,
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
    let partition = target.partition;
    // A transactional batch goes in only while its transaction is open and holds the partition,
    // checked under the lock an EndTxn's decision takes (`crate::txn`).
    let guard = match (header.is_transactional(), target.transactional_id) {
        (false, _) => None,
        (true, None) => {
            return Err(Rejected::from((
                ResponseError::InvalidRecord,
                "a transactional batch needs the request's transactional id".to_string(),
            )))
        }
        (true, Some(id)) => Some(
            broker
                .txns
                .append_guard(
                    id,
                    header.producer_id,
                    header.producer_epoch,
                    target.topic,
                    partition.index,
                )
                .map_err(|e| (e, format!("not part of transaction {id}'s open transaction")))?,
        ),
    };
    let appended = partition.append(&mut batch, &header, now);
    drop(guard);
    let appended = appended.map_err(|e| match e {
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
