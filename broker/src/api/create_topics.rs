//! CreateTopics: validated against Kafka's rules for a one-node cluster.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::{str_bytes, Access, Cx};
use crate::cluster::topics::TopicError;
use crate::state::NODE_ID;

pub async fn handle(cx: &Cx<'_>, request: CreateTopicsRequest) -> CreateTopicsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let mut response = CreateTopicsResponse::default();
    for wanted in request.topics {
        let mut r = CreatableTopicResult::default();
        // A manual assignment names every partition; otherwise the count, or the broker's default.
        let partitions = match (wanted.assignments.len(), wanted.num_partitions) {
            (0, -1) => broker.config.num_partitions,
            (0, n) => n,
            (assigned, _) => i32::try_from(assigned).unwrap_or(i32::MAX),
        };
        let outcome = authorized(access, &wanted.name)
            .and_then(|()| check_placement(wanted.num_partitions, wanted.replication_factor, &wanted.assignments))
            .and_then(|()| {
                let overrides: BTreeMap<String, String> = wanted
                    .configs
                    .iter()
                    .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
                    .collect();
                broker
                    .topics
                    .create(&wanted.name, partitions, overrides, request.validate_only)
            });
        match outcome {
            Ok(topic) => {
                if !request.validate_only {
                    tracing::info!(topic = %topic.name, partitions, "created topic");
                }
                if version >= 5 {
                    r.num_partitions = partitions;
                    r.replication_factor = 1;
                    r.configs = Some(
                        topic
                            .config
                            .describe(&topic.overrides)
                            .into_iter()
                            .map(|e| {
                                let mut c = CreatableTopicConfigs::default();
                                c.name = str_bytes(e.name);
                                c.value = Some(str_bytes(e.value));
                                c.config_source = e.source as i8;
                                c
                            })
                            .collect(),
                    );
                }
            }
            Err(e) => {
                r.error_code = e.code.code();
                r.error_message = Some(str_bytes(e.message));
            }
        }
        r.name = wanted.name;
        response.topics.push(r);
    }
    response
}

/// One node holds every replica: replication factor 1 (or -1, "the default"), and manual
/// assignments may only name this node, once per partition. As in Kafka, an assignment comes
/// instead of a partition count and replication factor (both -1), and numbers its partitions
/// 0, 1, 2, ….
fn check_placement(
    num_partitions: i32,
    replication_factor: i16,
    assignments: &[kafka_protocol::messages::create_topics_request::CreatableReplicaAssignment],
) -> Result<(), TopicError> {
    if !assignments.is_empty() {
        if num_partitions != -1 || replication_factor != -1 {
            return Err(TopicError {
                code: ResponseError::InvalidRequest,
                message: "both a partition count or replication factor and a replica assignment were given; \
                          an assignment comes with both set to -1"
                    .into(),
            });
        }
        let mut indexes: Vec<i32> = assignments.iter().map(|a| a.partition_index).collect();
        indexes.sort_unstable();
        if indexes.iter().enumerate().any(|(i, p)| *p as i64 != i as i64) {
            return Err(TopicError {
                code: ResponseError::InvalidReplicaAssignment,
                message: "the assigned partitions must be numbered 0, 1, 2, … without gaps".into(),
            });
        }
    }
    if replication_factor != 1 && replication_factor != -1 {
        return Err(TopicError {
            code: ResponseError::InvalidReplicationFactor,
            message: format!("replication factor {replication_factor} is impossible on a single-node broker; use 1"),
        });
    }
    if assignments
        .iter()
        .any(|a| a.broker_ids.iter().any(|b| b.0 != NODE_ID) || a.broker_ids.len() != 1)
    {
        return Err(TopicError {
            code: ResponseError::InvalidReplicaAssignment,
            message: format!("the only broker is node {NODE_ID}, with one replica per partition"),
        });
    }
    Ok(())
}

/// Kafka's rule: CREATE on the cluster, or on the topic.
fn authorized(access: &Access<'_>, name: &str) -> Result<(), TopicError> {
    if access.may_create_topic(name) {
        Ok(())
    } else {
        Err(TopicError {
            code: ResponseError::TopicAuthorizationFailed,
            message: format!("not authorized to create topic {name}"),
        })
    }
}
