//! Metadata: this one node, and the topics asked for (creating unknown ones when allowed).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::cluster::partition::LEADER_EPOCH;
use crate::cluster::topics::Topic;
use crate::state::{Broker, NODE_ID};

/// `listener`: the one the request came in on, whose advertised address the node gets.
/// Topics the user may not describe are left out of "every topic" and answered with
/// TOPIC_AUTHORIZATION_FAILED when asked for by name, whether they exist or not.
pub async fn handle(cx: &Cx<'_>, request: MetadataRequest) -> MetadataResponse {
    let version = cx.version;
    let (topic_operations, cluster_operations) = (
        version >= 8 && request.include_topic_authorized_operations,
        (8..=10).contains(&version) && request.include_cluster_authorized_operations,
    );
    let mut response = answer(cx, request);
    // What the user may do (KIP-430), when asked: Kafka's "not provided" otherwise.
    let access = cx.access();
    if topic_operations {
        for t in response.topics.iter_mut().filter(|t| t.error_code == 0) {
            if let Some(name) = &t.name {
                t.topic_authorized_operations = access.authorized_operations(Resource::Topic(name));
            }
        }
    }
    if cluster_operations {
        response.cluster_authorized_operations = access.authorized_operations(Resource::Cluster);
    }
    response
}

fn answer(cx: &Cx<'_>, request: MetadataRequest) -> MetadataResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let listener = cx.session.listener;
    let mut response = MetadataResponse::default();
    let mut node = MetadataResponseBroker::default();
    let advertised = &broker.advertised[listener];
    node.node_id = BrokerId(NODE_ID);
    node.host = str_bytes(advertised.host.clone());
    node.port = advertised.port as i32;
    response.brokers = vec![node];
    if version >= 1 {
        response.controller_id = BrokerId(NODE_ID);
    }
    if version >= 2 {
        response.cluster_id = Some(str_bytes(broker.cluster_id.clone()));
    }
    // v0: an empty list means every topic; v1+: null means every topic, empty means none.
    let all = match &request.topics {
        None => true,
        Some(t) => version == 0 && t.is_empty(),
    };
    if all {
        response.topics = broker
            .topics
            .list()
            .iter()
            .filter(|t| access.can(Operation::Describe, Resource::Topic(&t.name)))
            .map(|t| describe(t, version))
            .collect();
        return response;
    }
    // Before v4 there is no flag and Kafka always allowed auto-creation.
    let allow_create = broker.config.auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
    for wanted in request.topics.unwrap_or_default() {
        let found = match &wanted.name {
            Some(name) if !access.allows(Operation::Describe, Resource::Topic(name)) => {
                Err(ResponseError::TopicAuthorizationFailed)
            }
            Some(name) => broker.topics.get(name).map(Ok).unwrap_or_else(|| {
                let may_create = access.may_create_topic(name);
                if allow_create && may_create && !name.starts_with("__") {
                    auto_create(broker, name)
                } else {
                    Err(ResponseError::UnknownTopicOrPartition)
                }
            }),
            None => match broker.topics.by_id(wanted.topic_id) {
                Some(t) if !access.allows(Operation::Describe, Resource::Topic(&t.name)) => {
                    Err(ResponseError::TopicAuthorizationFailed)
                }
                Some(t) => Ok(t),
                None => Err(ResponseError::UnknownTopicId),
            },
        };
        response.topics.push(match found {
            Ok(topic) => describe(&topic, version),
            Err(code) => {
                let mut t = MetadataResponseTopic::default();
                t.error_code = code.code();
                t.name = wanted.name;
                if version >= 10 {
                    t.topic_id = wanted.topic_id;
                }
                t
            }
        });
    }
    response
}

fn auto_create(broker: &Broker, name: &str) -> Result<std::sync::Arc<Topic>, ResponseError> {
    match broker
        .topics
        .create(name, broker.config.num_partitions, Default::default(), false)
    {
        Ok(topic) => {
            tracing::info!(topic = name, partitions = topic.partitions.len(), "auto-created topic");
            Ok(topic)
        }
        // Another request created it in between: describe that one.
        Err(e) if e.code == ResponseError::TopicAlreadyExists => {
            broker.topics.get(name).ok_or(ResponseError::UnknownTopicOrPartition)
        }
        Err(e) => Err(e.code),
    }
}

fn describe(topic: &Topic, version: i16) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(TopicName(str_bytes(topic.name.clone())));
    if version >= 1 {
        t.is_internal = topic.is_internal();
    }
    if version >= 10 {
        t.topic_id = topic.id;
    }
    t.partitions = topic
        .partitions
        .iter()
        .map(|p| {
            let mut m = MetadataResponsePartition::default();
            m.partition_index = p.index;
            m.leader_id = BrokerId(NODE_ID);
            m.leader_epoch = LEADER_EPOCH;
            m.replica_nodes = vec![BrokerId(NODE_ID)];
            m.isr_nodes = vec![BrokerId(NODE_ID)];
            m
        })
        .collect();
    t
}
