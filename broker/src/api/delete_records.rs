//! DeleteRecords (KIP-107): moves each named partition's log start offset forward, durably.
//! Fetches below it get OFFSET_OUT_OF_RANGE, ListOffsets' earliest answers it, and the segments
//! wholly below it are deleted. Offset -1 means the high watermark (everything so far).
//! `kafka-delete-records` and admin clients' `deleteRecords()` send it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::{is_internal, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::log::LogError;

/// The offset that stands for the high watermark.
const HIGH_WATERMARK: i64 = -1;

/// Deleting needs the right to change the topic (Kafka's DELETE on it); `__consumer_offsets`
/// is refused, as Kafka refuses it for every internal topic.
pub async fn handle(cx: &Cx<'_>, request: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = DeleteRecordsResponse::default();
    for t in request.topics {
        let allowed = access.allows(Operation::Delete, Resource::Topic(&t.name));
        let topic = broker.topics.get(&t.name);
        let mut result = DeleteRecordsTopicResult::default();
        for p in t.partitions {
            let mut r = DeleteRecordsPartitionResult::default();
            r.partition_index = p.partition_index;
            r.low_watermark = -1;
            let outcome = if !allowed {
                Err(ResponseError::TopicAuthorizationFailed)
            } else if is_internal(&t.name) {
                Err(ResponseError::InvalidTopicException)
            } else {
                match topic.as_ref().and_then(|topic| topic.partition(p.partition_index)) {
                    None => Err(ResponseError::UnknownTopicOrPartition),
                    Some(partition) => {
                        let offset = match p.offset {
                            HIGH_WATERMARK => partition.offsets().1,
                            offset => offset,
                        };
                        partition.delete_records_before(offset).map_err(|e| match e {
                            LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
                            e => {
                                tracing::warn!(topic = %t.name.0, partition = p.partition_index, error = %e, "DeleteRecords failed");
                                ResponseError::KafkaStorageError
                            }
                        })
                    }
                }
            };
            match outcome {
                Ok(low_watermark) => {
                    tracing::info!(topic = %t.name.0, partition = p.partition_index, low_watermark, "records deleted");
                    r.low_watermark = low_watermark;
                }
                Err(code) => r.error_code = code.code(),
            }
            result.partitions.push(r);
        }
        result.name = t.name;
        response.topics.push(result);
    }
    response
}
