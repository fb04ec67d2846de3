//! DescribeProducers (`kafka-transactions describe-producers`): the producers that wrote to each
//! partition, with their epoch, last sequence and timestamp, and where their open transaction
//! began (KIP-664).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use super::Cx;
use crate::auth::acl::{Operation, Resource};

/// READ on the topic, else TOPIC_AUTHORIZATION_FAILED on its partitions.
pub async fn handle(cx: &Cx<'_>, request: DescribeProducersRequest) -> DescribeProducersResponse {
    let access = cx.access();
    let mut response = DescribeProducersResponse::default();
    for wanted in request.topics {
        let allowed = access.allows(Operation::Read, Resource::Topic(&wanted.name));
        let topic = cx.broker.topics.get(&wanted.name);
        let mut t = TopicResponse::default();
        for index in wanted.partition_indexes {
            let mut p = PartitionResponse::default();
            p.partition_index = index;
            match topic.as_ref().and_then(|topic| topic.partition(index)) {
                _ if !allowed => p.error_code = ResponseError::TopicAuthorizationFailed.code(),
                None => p.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(partition) => {
                    for (summary, open) in partition.producers() {
                        let mut s = ProducerState::default();
                        s.producer_id = ProducerId(summary.producer_id);
                        s.producer_epoch = i32::from(summary.epoch);
                        s.last_sequence = summary.last_sequence;
                        s.last_timestamp = summary.last_timestamp;
                        s.coordinator_epoch = summary.coordinator_epoch;
                        s.current_txn_start_offset = open.unwrap_or(-1);
                        p.active_producers.push(s);
                    }
                }
            }
            t.partitions.push(p);
        }
        t.name = wanted.name;
        response.topics.push(t);
    }
    response
}
