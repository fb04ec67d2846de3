//! OffsetCommit: unknown topics and partitions are refused here; the rest go to the
//! coordinator, and the answer waits until their records are fsynced.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::{code, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group::{CommitOffset, CommitRequest, CommitResponse};

/// Committing needs the `groups` grant for the group (else GROUP_AUTHORIZATION_FAILED on every
/// partition) and `consume` for each topic (else TOPIC_AUTHORIZATION_FAILED on its partitions);
/// a refused partition's offset is not stored.
pub async fn handle(cx: &Cx<'_>, request: OffsetCommitRequest) -> OffsetCommitResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let group_allowed = access.allows(Operation::Read, Resource::Group(&request.group_id));
    // Per requested partition: an error decided here, or the index of its commit.
    let mut outcome: Vec<Vec<Result<usize, ResponseError>>> = Vec::new();
    let mut offsets = Vec::new();
    for t in &request.topics {
        let topic = broker.topics.get(&t.name);
        let topic_allowed = group_allowed && access.allows(Operation::Read, Resource::Topic(&t.name));
        let mut row = Vec::new();
        for p in &t.partitions {
            if !group_allowed {
                row.push(Err(ResponseError::GroupAuthorizationFailed));
                continue;
            }
            if !topic_allowed {
                row.push(Err(ResponseError::TopicAuthorizationFailed));
                continue;
            }
            if topic.as_ref().and_then(|t| t.partition(p.partition_index)).is_none() {
                row.push(Err(ResponseError::UnknownTopicOrPartition));
                continue;
            }
            row.push(Ok(offsets.len()));
            offsets.push(CommitOffset {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                // v6+ carries it; the crate leaves -1 below.
                leader_epoch: p.committed_leader_epoch,
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            });
        }
        outcome.push(row);
    }
    let mut errors = Vec::new();
    if !offsets.is_empty() {
        let req = CommitRequest {
            group_id: request.group_id.0.to_string(),
            generation_id: request.generation_id_or_member_epoch,
            member_id: request.member_id.to_string(),
            group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
            retention_time_ms: request.retention_time_ms,
            offsets,
            api_version: cx.version,
        };
        errors = settled(broker.groups.commit(req).await).await;
    }
    let mut response = OffsetCommitResponse::default();
    for (t, row) in request.topics.into_iter().zip(outcome) {
        let mut topic = OffsetCommitResponseTopic::default();
        topic.name = t.name;
        for (p, result) in t.partitions.into_iter().zip(row) {
            let mut partition = OffsetCommitResponsePartition::default();
            partition.partition_index = p.partition_index;
            partition.error_code = partition_code(result, &errors);
            topic.partitions.push(partition);
        }
        response.topics.push(topic);
    }
    response
}

/// The coordinator's per-offset errors once the commit's records are on disk; all
/// NOT_COORDINATOR if that fsync failed, as the records may be lost.
pub(super) async fn settled(r: CommitResponse) -> Vec<Option<ResponseError>> {
    let mut errors = r.errors;
    if let Err(e) = r.durable.wait().await {
        tracing::error!(error = %e, "fsync of __consumer_offsets failed");
        errors.iter_mut().for_each(|e| *e = Some(ResponseError::NotCoordinator));
    }
    errors
}

/// A partition's answer: the error decided before the commit, or the commit's own (`Ok` holds
/// the partition's index among the offsets committed).
pub(super) fn partition_code(result: Result<usize, ResponseError>, errors: &[Option<ResponseError>]) -> i16 {
    match result {
        Ok(i) => code(errors.get(i).copied().flatten()),
        Err(e) => e.code(),
    }
}
