//! ListOffsets: earliest (-2), latest (-1; for READ_COMMITTED the last stable offset), max
//! timestamp (-3), or the first offset at or after
//! a timestamp (through the log's time index). v0 gets the same offsets in its own answer
//! layout ([`ListOffsetsAnswer`]).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::Cx;
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::{check_leader_epoch, LEADER_EPOCH};
use crate::codec::ListOffsetsAnswer;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub async fn handle(cx: &Cx<'_>, request: ListOffsetsRequest) -> ListOffsetsAnswer {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let mut response = ListOffsetsResponse::default();
    for wanted in request.topics {
        let topic = broker.topics.get(&wanted.name);
        let allowed = access.allows(Operation::Describe, Resource::Topic(&wanted.name));
        let mut topic_response = ListOffsetsTopicResponse::default();
        for p in wanted.partitions {
            let mut r = ListOffsetsPartitionResponse::default();
            r.partition_index = p.partition_index;
            let found = match topic.as_ref().and_then(|t| t.partition(p.partition_index)) {
                _ if !allowed => Err(ResponseError::TopicAuthorizationFailed),
                None => Err(ResponseError::UnknownTopicOrPartition),
                Some(partition) => match check_leader_epoch(p.current_leader_epoch) {
                    Some(code) => Err(code),
                    None => match p.timestamp {
                        // READ_COMMITTED (1, v2+): the last stable offset (KIP-98).
                        LATEST if request.isolation_level == 1 => Ok(Some((-1, partition.last_stable_offset()))),
                        LATEST => Ok(Some((-1, partition.offsets().1))),
                        EARLIEST => Ok(Some((-1, partition.offsets().0))),
                        MAX_TIMESTAMP if version >= 7 => partition
                            .offset_of_max_timestamp()
                            .map(|found| found.map(|(offset, ts)| (ts, offset)))
                            .map_err(|_| ResponseError::KafkaStorageError),
                        ts if ts >= 0 => partition
                            .offset_for_timestamp(ts)
                            .map(|found| found.map(|(offset, ts)| (ts, offset)))
                            .map_err(|_| ResponseError::KafkaStorageError),
                        _ => Err(ResponseError::InvalidRequest),
                    },
                },
            };
            match found {
                Ok(Some((timestamp, offset))) => {
                    r.timestamp = timestamp;
                    r.offset = offset;
                    if version >= 4 {
                        r.leader_epoch = LEADER_EPOCH;
                    }
                }
                // Kafka's answer when no record is that recent.
                Ok(None) => {
                    r.timestamp = -1;
                    r.offset = -1;
                }
                Err(code) => {
                    r.error_code = code.code();
                    r.timestamp = -1;
                    r.offset = -1;
                }
            }
            topic_response.partitions.push(r);
        }
        topic_response.name = wanted.name;
        response.topics.push(topic_response);
    }
    ListOffsetsAnswer(response)
}
