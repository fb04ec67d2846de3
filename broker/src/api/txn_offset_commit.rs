//! TxnOffsetCommit: a transactional producer commits a group's offsets inside its transaction
//! (`sendOffsetsToTransaction`). They are written at once, pending, and take effect when the
//! transaction commits (`group::txn_offsets`); the answer waits until they are on disk.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::offset_commit::{partition_code, settled};
use super::{fenced_before, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group::{partition_for, CommitOffset, CommitRequest, TxnCommitRequest, OFFSETS_TOPIC};

/// WRITE on the transactional id and READ on the group (else every partition gets the
/// refusal), READ on each topic (else its partitions get TOPIC_AUTHORIZATION_FAILED). The
/// transaction must hold the group's offsets partition (AddOffsetsToTxn).
pub async fn handle(cx: &Cx<'_>, request: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let id = request.transactional_id.0.as_str();
    let group = request.group_id.0.as_str();
    let whole = if !access.allows(Operation::Write, Resource::TransactionalId(id)) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !access.allows(Operation::Read, Resource::Group(group)) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else {
        None
    };
    // Per requested partition: an error decided here, or the index of its commit.
    let mut outcome: Vec<Vec<Result<usize, ResponseError>>> = Vec::new();
    let mut offsets = Vec::new();
    for t in &request.topics {
        let topic = broker.topics.get(&t.name);
        let topic_allowed = whole.is_none() && access.allows(Operation::Read, Resource::Topic(&t.name));
        let row = t
            .partitions
            .iter()
            .map(|p| {
                if let Some(e) = whole {
                    return Err(e);
                }
                if !topic_allowed {
                    return Err(ResponseError::TopicAuthorizationFailed);
                }
                if topic.as_ref().and_then(|t| t.partition(p.partition_index)).is_none() {
                    return Err(ResponseError::UnknownTopicOrPartition);
                }
                offsets.push(CommitOffset {
                    topic: t.name.0.to_string(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                });
                Ok(offsets.len() - 1)
            })
            .collect();
        outcome.push(row);
    }
    let mut errors = Vec::new();
    if !offsets.is_empty() {
        let n = offsets.len();
        let partitions = broker.topics.get(OFFSETS_TOPIC).map_or(1, |t| t.partitions.len());
        let (producer_id, epoch) = (request.producer_id.0, request.producer_epoch);
        match broker
            .txns
            .offsets_guard(id, producer_id, epoch, partition_for(group, partitions) as i32)
            .await
        {
            Err(e) => errors = vec![Some(fenced_before(cx.version, 2, e)); n],
            // Held until the offsets are on disk: the transaction cannot end in between.
            Ok(_guard) => {
                let req = TxnCommitRequest {
                    commit: CommitRequest {
                        group_id: group.to_string(),
                        generation_id: request.generation_id,
                        member_id: request.member_id.to_string(),
                        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
                        retention_time_ms: -1,
                        offsets,
                        api_version: cx.version,
                    },
                    producer_id,
                    producer_epoch: epoch,
                };
                errors = settled(broker.groups.txn_commit(req).await).await;
            }
        }
    }
    let mut response = TxnOffsetCommitResponse::default();
    for (t, row) in request.topics.into_iter().zip(outcome) {
        let mut topic = TxnOffsetCommitResponseTopic::default();
        topic.name = t.name;
        for (p, result) in t.partitions.into_iter().zip(row) {
            let mut partition = TxnOffsetCommitResponsePartition::default();
            partition.partition_index = p.partition_index;
            partition.error_code = partition_code(result, &errors);
            topic.partitions.push(partition);
        }
        response.topics.push(topic);
    }
    response
}
