//! ConsumerGroupHeartbeat (KIP-848): a member's whole conversation with its consumer group —
//! joining, keeping its session, taking and giving up partitions, leaving. The rules are the
//! coordinator's (`group::consumer`); here topic ids become names and back, and access is
//! checked: Read on the group, Describe on every topic subscribed to by name.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group;

pub async fn handle(cx: &Cx<'_>, request: ConsumerGroupHeartbeatRequest) -> ConsumerGroupHeartbeatResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let names = request.subscribed_topic_names.as_ref();
    let refused = access
        .refusal(Operation::Read, Resource::Group(&request.group_id))
        .or_else(|| {
            let topics = names.into_iter().flatten();
            topics
                .filter_map(|t| access.refusal(Operation::Describe, Resource::Topic(t)))
                .next()
        });
    if let Some(code) = refused {
        let mut response = ConsumerGroupHeartbeatResponse::default();
        response.error_code = code;
        return response;
    }
    let owned = request.topic_partitions.map(|topics| {
        let mut owned = group::Assignment::new();
        for t in topics {
            if let Some(topic) = broker.topics.by_id(t.topic_id) {
                owned.entry(topic.name.clone()).or_default().extend(t.partitions);
            }
        }
        owned
    });
    let mut topics = BTreeMap::new();
    let mut ids = BTreeMap::new();
    // Every topic, internal ones included: Kafka resolves a subscription's regular expression
    // against them all (franz-go's Test848RegexBrokerResolves relies on it).
    for t in broker.topics.list().iter() {
        topics.insert(t.name.clone(), i32::try_from(t.partitions.len()).unwrap_or(i32::MAX));
        ids.insert(t.name.clone(), t.id);
    }
    let client = cx.client();
    let req = group::ConsumerHeartbeatRequest {
        version: cx.version,
        group_id: request.group_id.0.to_string(),
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.map(|s| s.to_string()),
        rack_id: request.rack_id.map(|s| s.to_string()),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: names.map(|n| n.iter().map(|t| t.0.to_string()).collect()),
        subscribed_topic_regex: request.subscribed_topic_regex.map(|s| s.to_string()),
        server_assignor: request.server_assignor.map(|s| s.to_string()),
        owned,
        client_id: client.client_id,
        client_host: client.client_host,
        topics,
        ids,
    };
    let answer = broker.groups.consumer_heartbeat(req).await;
    let mut response = ConsumerGroupHeartbeatResponse::default();
    // Answered once the group's records are on disk, like a classic group's SyncGroup.
    if let Err(e) = answer.durable.wait().await {
        tracing::error!(error = %e, "fsync of __consumer_offsets failed");
        response.error_code = ResponseError::NotCoordinator.code();
        return response;
    }
    response.error_code = code(answer.error);
    response.error_message = answer.error_message.map(str_bytes);
    response.member_id = answer.member_id.map(str_bytes);
    response.member_epoch = answer.member_epoch;
    response.heartbeat_interval_ms = answer.heartbeat_interval_ms;
    response.assignment = answer.assignment.map(|a| {
        let mut assignment = Assignment::default();
        assignment.topic_partitions = a
            .into_iter()
            .filter_map(|(name, partitions)| {
                let topic = broker.topics.get(&name)?;
                let mut tp = TopicPartitions::default();
                tp.topic_id = topic.id;
                tp.partitions = partitions.into_iter().collect();
                Some(tp)
            })
            .collect();
        assignment
    });
    response
}
