//! OffsetForLeaderEpoch (KIP-101, KIP-320): where a leader epoch ended, so a consumer can check
//! that the log was not cut below its position after a leader change. On one node every
//! partition has had one epoch ([`LEADER_EPOCH`]) since it was created, so its end is the log
//! end; any other epoch is unknown here and answered as Kafka answers one it has no entry for,
//! epoch -1 at offset -1. The request's current epoch is checked as Fetch checks it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::Cx;
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::{check_leader_epoch, LEADER_EPOCH};

pub async fn handle(cx: &Cx<'_>, request: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = OffsetForLeaderEpochResponse::default();
    for t in request.topics {
        let allowed = access.allows(Operation::Describe, Resource::Topic(&t.topic));
        let topic = broker.topics.get(&t.topic);
        let mut result = OffsetForLeaderTopicResult::default();
        for p in t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            (e.leader_epoch, e.end_offset) = (-1, -1);
            let partition = topic.as_ref().and_then(|topic| topic.partition(p.partition));
            let error = match partition {
                _ if !allowed => Some(ResponseError::TopicAuthorizationFailed),
                None => Some(ResponseError::UnknownTopicOrPartition),
                Some(partition) => check_leader_epoch(p.current_leader_epoch).or_else(|| {
                    if p.leader_epoch == LEADER_EPOCH {
                        (e.leader_epoch, e.end_offset) = (LEADER_EPOCH, partition.offsets().1);
                    }
                    None
                }),
            };
            if let Some(code) = error {
                e.error_code = code.code();
            }
            result.partitions.push(e);
        }
        result.topic = t.topic;
        response.topics.push(result);
    }
    response
}
