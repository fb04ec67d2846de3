//! DescribeTopicPartitions (KIP-966): what Metadata says of topics, plus each partition's
//! eligible leader replicas, paged by a cursor. Kafka 4's `kafka-topics --describe` asks it and
//! prints `Elr:` and `LastKnownElr:` from it. One node has no replica that could become an
//! eligible leader, so both lists are empty, as Kafka's are while every replica is in sync.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::LEADER_EPOCH;
use crate::cluster::topics::Topic;
use crate::state::NODE_ID;

/// Kafka's `max.request.partition.size.limit`: the most partitions one answer carries, whatever
/// the client asks for.
const PARTITION_LIMIT: i32 = 2000;

/// Topics are answered in name order, from the cursor on; a topic asked for by name that does
/// not exist (or may not be described) gets its error, and every topic is left out of "all
/// topics" (an empty list) unless the user may describe it.
pub async fn handle(cx: &Cx<'_>, request: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut names: Vec<String> = if request.topics.is_empty() {
        broker
            .topics
            .list()
            .iter()
            .filter(|t| access.can(Operation::Describe, Resource::Topic(&t.name)))
            .map(|t| t.name.clone())
            .collect()
    } else {
        request.topics.iter().map(|t| t.name.to_string()).collect()
    };
    names.sort();
    names.dedup();
    let (first_topic, first_partition) = match &request.cursor {
        Some(c) => (c.topic_name.to_string(), c.partition_index.max(0)),
        None => (String::new(), 0),
    };
    let mut budget = request.response_partition_limit.clamp(1, PARTITION_LIMIT);
    let mut response = DescribeTopicPartitionsResponse::default();
    for name in names.into_iter().filter(|n| *n >= first_topic) {
        if budget == 0 {
            // Out of room between two topics: the next answer starts with this one.
            response.next_cursor = Some(cursor(&name, 0));
            break;
        }
        if !access.allows(Operation::Describe, Resource::Topic(&name)) {
            response
                .topics
                .push(refused(&name, ResponseError::TopicAuthorizationFailed));
            continue;
        }
        let Some(topic) = broker.topics.get(&name) else {
            response
                .topics
                .push(refused(&name, ResponseError::UnknownTopicOrPartition));
            continue;
        };
        let count = topic.partitions.len() as i32;
        let from = if name == first_topic {
            first_partition.min(count)
        } else {
            0
        };
        let to = count.min(from + budget);
        let mut described = describe(&topic);
        described.partitions = (from..to).map(partition).collect();
        response.topics.push(described);
        budget -= to - from;
        if to < count {
            response.next_cursor = Some(cursor(&name, to));
            break;
        }
    }
    response
}

fn describe(topic: &Topic) -> DescribeTopicPartitionsResponseTopic {
    let mut t = DescribeTopicPartitionsResponseTopic::default();
    t.name = Some(TopicName(str_bytes(topic.name.clone())));
    t.topic_id = topic.id;
    t.is_internal = topic.is_internal();
    t
}

fn partition(index: i32) -> DescribeTopicPartitionsResponsePartition {
    let mut p = DescribeTopicPartitionsResponsePartition::default();
    p.partition_index = index;
    p.leader_id = BrokerId(NODE_ID);
    p.leader_epoch = LEADER_EPOCH;
    p.replica_nodes = vec![BrokerId(NODE_ID)];
    p.isr_nodes = vec![BrokerId(NODE_ID)];
    p.eligible_leader_replicas = Some(Vec::new());
    p.last_known_elr = Some(Vec::new());
    p
}

fn cursor(topic: &str, partition: i32) -> Cursor {
    let mut c = Cursor::default();
    c.topic_name = TopicName(str_bytes(topic.to_string()));
    c.partition_index = partition;
    c
}

fn refused(name: &str, code: ResponseError) -> DescribeTopicPartitionsResponseTopic {
    let mut t = DescribeTopicPartitionsResponseTopic::default();
    t.error_code = code.code();
    t.name = Some(TopicName(str_bytes(name.to_string())));
    t
}
