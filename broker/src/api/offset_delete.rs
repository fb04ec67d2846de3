//! OffsetDelete: removes committed offsets of partitions the group no longer consumes.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse, TopicName};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

/// Deleting a group's offsets is for users with `admin`.
pub async fn handle(cx: &Cx<'_>, request: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let broker = cx.broker;
    let access = &cx.access();
    if let Some(code) = access.refusal(Operation::Delete, Resource::Group(&request.group_id)) {
        return OffsetDeleteResponse::default().with_error_code(code);
    }
    let partitions = request
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.0.to_string(), p.partition_index)))
        .collect();
    let mut r = broker
        .groups
        .delete_offsets(request.group_id.0.to_string(), partitions)
        .await;
    if let Err(e) = r.durable.wait().await {
        tracing::error!(error = %e, "fsync of __consumer_offsets failed");
        r.error = Some(ResponseError::NotCoordinator);
    }
    let mut response = OffsetDeleteResponse::default();
    response.error_code = code(r.error);
    if r.error.is_some() {
        return response;
    }
    for (topic, partition, error) in r.partitions {
        if response.topics.last().is_none_or(|t| t.name.0.as_str() != topic) {
            let mut t = OffsetDeleteResponseTopic::default();
            t.name = TopicName(str_bytes(topic));
            response.topics.push(t);
        }
        let mut p = OffsetDeleteResponsePartition::default();
        p.partition_index = partition;
        p.error_code = code(error);
        if let Some(t) = response.topics.last_mut() {
            t.partitions.push(p);
        }
    }
    response
}
