//! WriteTxnMarkers: write a COMMIT or ABORT marker for a producer into given partitions. Kafka's
//! transaction coordinators send it to partition leaders; what reaches this broker is the admin
//! client's `abortTransaction` (`kafka-transactions abort`), which ends a *hanging* transaction,
//! one whose partitions hold it open although no coordinator will ever end it, so that the last
//! stable offset can move past it again.
//!
//! As in Kafka it needs ClusterAction on the cluster. Each partition is answered on its own: an
//! unknown one gets UNKNOWN_TOPIC_OR_PARTITION; a marker older than the producer's epoch there,
//! INVALID_PRODUCER_EPOCH; one from an older coordinator epoch than the partition has seen,
//! TRANSACTION_COORDINATOR_FENCED. A written marker is answered once it is on disk; one in
//! `__consumer_offsets` also settles the producer's pending transactional offsets.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use super::{now_ms, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::AppendError;
use crate::group::OFFSETS_TOPIC;
use crate::record::{marker_batch, BatchHeader, ControlType};

pub async fn handle(cx: &Cx<'_>, request: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
    let broker = cx.broker;
    let allowed = cx.access().allows(Operation::ClusterAction, Resource::Cluster);
    let mut response = WriteTxnMarkersResponse::default();
    let mut written = false;
    for marker in request.markers {
        let mut result = WritableTxnMarkerResult::default();
        result.producer_id = marker.producer_id;
        let kind = match marker.transaction_result {
            true => ControlType::Commit,
            false => ControlType::Abort,
        };
        for topic in marker.topics {
            let mut t = WritableTxnMarkerTopicResult::default();
            for index in topic.partition_indexes {
                let outcome = match allowed {
                    false => Err(ResponseError::ClusterAuthorizationFailed),
                    true => {
                        let partition = broker.topics.get(&topic.name).and_then(|t| t.partition(index).cloned());
                        match partition {
                            None => Err(ResponseError::UnknownTopicOrPartition),
                            Some(p) => {
                                let producer = (marker.producer_id.0, marker.producer_epoch, marker.coordinator_epoch);
                                write(&p, producer, kind).await
                            }
                        }
                    }
                };
                written |= outcome.is_ok();
                if outcome.is_ok() && topic.name.0.as_str() == OFFSETS_TOPIC {
                    // The group coordinator holds this producer's offsets pending until a
                    // marker decides them, as when the transaction coordinator writes it.
                    broker
                        .groups
                        .txn_ended(marker.producer_id.0, marker.transaction_result)
                        .await;
                }
                if let Err(e) = &outcome {
                    tracing::info!(topic = %topic.name.0, partition = index, producer_id = marker.producer_id.0, error = ?e, "transaction marker refused");
                }
                let mut p = WritableTxnMarkerPartitionResult::default();
                p.partition_index = index;
                p.error_code = outcome.err().map_or(0, |e| e.code());
                t.partitions.push(p);
            }
            t.name = topic.name;
            result.topics.push(t);
        }
        response.markers.push(result);
    }
    if written {
        broker.notify_appended();
    }
    response
}

/// Appends the marker after the producer's epoch checks and waits until it is on disk.
async fn write(
    partition: &crate::cluster::partition::PartitionRef,
    (producer_id, epoch, coordinator_epoch): (i64, i16, i32),
    kind: ControlType,
) -> Result<(), ResponseError> {
    let now = now_ms();
    let mut batch = marker_batch(producer_id, epoch, coordinator_epoch, kind, now);
    let header = BatchHeader::parse(&batch).map_err(|_| ResponseError::UnknownServerError)?;
    let appended = match partition.append_client_marker(&mut batch, &header, now) {
        Ok(appended) => appended,
        Err(AppendError::Sequence(e)) => {
            return Err(ResponseError::try_from_code(e.code()).unwrap_or(ResponseError::UnknownServerError))
        }
        Err(e) => {
            tracing::error!(partition = partition.index, error = %e, "cannot write a transaction marker");
            return Err(ResponseError::KafkaStorageError);
        }
    };
    tracing::info!(partition = partition.index, producer_id, epoch, kind = ?kind, "wrote a transaction marker for an admin client");
    partition
        .sync_to(appended.end_offset())
        .await
        .map_err(|_| ResponseError::KafkaStorageError)
}
