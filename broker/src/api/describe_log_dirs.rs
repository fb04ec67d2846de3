//! DescribeLogDirs: the one log directory (`log.dirs`) and the bytes each partition holds in it,
//! what `kafka-log-dirs --describe` and the Kafka UIs show as topic sizes.
//!
//! Describing the broker's storage needs Describe on the cluster, as in Kafka; without it the
//! answer is CLUSTER_AUTHORIZATION_FAILED (top-level from v3, per directory before). A partition
//! asked for that does not exist is left out, as Kafka leaves it out. One node has no replica
//! catching up, so every offset lag is 0.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

pub async fn handle(cx: &Cx<'_>, request: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let mut response = DescribeLogDirsResponse::default();
    let mut result = DescribeLogDirsResult::default();
    result.log_dir = str_bytes(broker.config.data_dir.display().to_string());
    if !access.allows(Operation::Describe, Resource::Cluster) {
        let code = ResponseError::ClusterAuthorizationFailed.code();
        if version >= 3 {
            response.error_code = code;
        } else {
            result.error_code = code;
            response.results.push(result);
        }
        return response;
    }
    // (topic, partition) pairs asked for; None is every partition of every topic.
    let wanted: Option<BTreeSet<(String, i32)>> = request.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.to_string(), *p)))
            .collect()
    });
    for topic in broker.topics.list() {
        let partitions: Vec<DescribeLogDirsPartition> = topic
            .partitions
            .iter()
            .filter(|p| {
                wanted
                    .as_ref()
                    .is_none_or(|w| w.contains(&(topic.name.clone(), p.index)))
            })
            .map(|p| {
                let mut d = DescribeLogDirsPartition::default();
                d.partition_index = p.index;
                d.partition_size = p.size_bytes() as i64;
                d
            })
            .collect();
        if !partitions.is_empty() {
            let mut t = DescribeLogDirsTopic::default();
            t.name = TopicName(str_bytes(topic.name.clone()));
            t.partitions = partitions;
            result.topics.push(t);
        }
    }
    response.results.push(result);
    response
}
