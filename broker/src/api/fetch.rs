//! Fetch: whole stored batches from each requested partition, with long polling.
//!
//! Every requested partition is answered, with an empty record set when there is nothing (an
//! absent partition makes kafka-python drop the whole response; null records break librdkafka).
//! The first batch of the response is returned whole even above the size limits (KIP-74),
//! otherwise a consumer would stall on a large batch. When fewer than `min_bytes` are ready the
//! request waits for appends until `max_wait_ms`. Fetch sessions (KIP-227) are declined by
//! always answering `session_id = 0`, which every client handles as "send full fetches". From
//! v13 topics are named by id (KIP-516); an id no topic has gets UNKNOWN_TOPIC_ID, so a consumer
//! learns that the topic it read was deleted, even if another of the same name was created since.
//! With `isolation_level` READ_COMMITTED a partition is read only up to its last stable offset,
//! and its answer lists the aborted transactions the records may hold (KIP-98).

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};

use super::Cx;
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::{check_leader_epoch, Fetched, PartitionRef};
use crate::log::LogError;
use crate::state::Broker;

/// A topic the user may not read is answered with TOPIC_AUTHORIZATION_FAILED on every
/// partition asked for, and nothing of it is read.
pub async fn handle(cx: &Cx<'_>, request: FetchRequest) -> FetchResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    if request.session_id != 0 && request.session_epoch > 0 {
        let mut response = FetchResponse::default();
        response.error_code = ResponseError::FetchSessionIdNotFound.code();
        return response;
    }
    // Each requested topic's name: given up to v12, looked up by id from v13 (None: no such id).
    let names: Vec<Option<String>> = request
        .topics
        .iter()
        .map(|t| match version {
            13.. => broker.topics.by_id(t.topic_id).map(|found| found.name.clone()),
            _ => Some(t.topic.to_string()),
        })
        .collect();
    let denied: HashSet<&str> = names
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|t| !access.allows(Operation::Read, Resource::Topic(t)))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let mut appends = broker.watch_appends();
    loop {
        // Subscribe before reading so an append between the read and the wait still wakes us.
        appends.borrow_and_update();
        let read = read_all(broker, &request, &names, version, &denied);
        let satisfied = read.bytes >= request.min_bytes.max(0) as usize || read.errors || request.topics.is_empty();
        if satisfied || tokio::time::Instant::now() >= deadline {
            return read.answer();
        }
        match tokio::time::timeout_at(deadline, appends.changed()).await {
            Ok(Ok(())) => continue,
            // Timed out, or the broker is shutting down: answer with what there is.
            _ => return read_all(broker, &request, &names, version, &denied).answer(),
        }
    }
}

/// One pass over the requested partitions.
struct Read {
    response: FetchResponse,
    /// Record bytes in the response.
    bytes: usize,
    /// Whether any partition erred.
    errors: bool,
    /// What each partition contributed; counted only if this pass is the answer.
    served: Vec<(PartitionRef, Bytes)>,
}

impl Read {
    fn answer(self) -> FetchResponse {
        for (partition, batches) in &self.served {
            partition.stats.fetched(batches);
        }
        self.response
    }
}

fn read_all(
    broker: &Broker,
    request: &FetchRequest,
    names: &[Option<String>],
    version: i16,
    denied: &HashSet<&str>,
) -> Read {
    // v3+ carries a response-wide limit; before that only the per-partition limits apply.
    let mut budget = if request.max_bytes > 0 {
        request.max_bytes as usize
    } else {
        usize::MAX
    };
    let mut total = 0usize;
    let mut errors = false;
    // READ_COMMITTED (1): nothing past the last stable offset, and the aborted transactions.
    let read_committed = request.isolation_level == 1;
    let mut served = Vec::new();
    let mut response = FetchResponse::default();
    for (wanted, name) in request.topics.iter().zip(names) {
        let topic = name.as_ref().and_then(|n| broker.topics.get(n));
        let mut topic_response = FetchableTopicResponse::default();
        topic_response.topic = wanted.topic.clone();
        topic_response.topic_id = wanted.topic_id;
        let allowed = name.as_ref().is_some_and(|n| !denied.contains(n.as_str()));
        for p in &wanted.partitions {
            let mut data = PartitionData::default();
            data.partition_index = p.partition;
            data.records = Some(Bytes::new());
            if name.is_none() {
                data.error_code = ResponseError::UnknownTopicId.code();
                data.high_watermark = -1;
                data.last_stable_offset = -1;
                errors = true;
                topic_response.partitions.push(data);
                continue;
            }
            if !allowed {
                data.error_code = ResponseError::TopicAuthorizationFailed.code();
                data.high_watermark = -1;
                data.last_stable_offset = -1;
                errors = true;
                topic_response.partitions.push(data);
                continue;
            }
            let partition = topic.as_ref().and_then(|t| t.partition(p.partition));
            match (partition, check_leader_epoch(p.current_leader_epoch)) {
                (None, _) => {
                    data.error_code = ResponseError::UnknownTopicOrPartition.code();
                    data.high_watermark = -1;
                    data.last_stable_offset = -1;
                    errors = true;
                }
                (Some(_), Some(fenced)) => {
                    data.error_code = fenced.code();
                    data.high_watermark = -1;
                    data.last_stable_offset = -1;
                    errors = true;
                }
                (Some(partition), None) => {
                    let limit = (p.partition_max_bytes.max(0) as usize).min(budget);
                    let min_one = total == 0;
                    let result = if limit == 0 && !min_one {
                        let (start, end) = partition.offsets();
                        Ok(Fetched {
                            read: crate::log::ReadResult {
                                data: Bytes::new(),
                                high_watermark: end,
                                log_start_offset: start,
                            },
                            last_stable_offset: partition.last_stable_offset(),
                            aborted: Vec::new(),
                        })
                    } else {
                        partition.fetch(p.fetch_offset, limit, min_one, read_committed)
                    };
                    match result {
                        Ok(Fetched {
                            read,
                            last_stable_offset,
                            aborted,
                        }) => {
                            total += read.data.len();
                            budget = budget.saturating_sub(read.data.len());
                            data.high_watermark = read.high_watermark;
                            data.last_stable_offset = last_stable_offset;
                            if read_committed {
                                data.aborted_transactions = Some(
                                    aborted
                                        .iter()
                                        .map(|t| {
                                            let mut a = AbortedTransaction::default();
                                            a.producer_id = ProducerId(t.producer_id);
                                            a.first_offset = t.first_offset;
                                            a
                                        })
                                        .collect(),
                                );
                            }
                            if version >= 5 {
                                data.log_start_offset = read.log_start_offset;
                            }
                            if !read.data.is_empty() {
                                served.push((partition.clone(), read.data.clone()));
                            }
                            data.records = Some(read.data);
                        }
                        Err(e) => {
                            let (start, end) = partition.offsets();
                            data.error_code = match e {
                                LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
                                _ => ResponseError::KafkaStorageError,
                            }
                            .code();
                            data.high_watermark = end;
                            data.last_stable_offset = end;
                            if version >= 5 {
                                data.log_start_offset = start;
                            }
                            errors = true;
                        }
                    }
                }
            }
            topic_response.partitions.push(data);
        }
        response.responses.push(topic_response);
    }
    Read {
        response,
        bytes: total,
        errors,
        served,
    }
}
