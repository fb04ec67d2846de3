//! OffsetFetch. A partition without a commit answers offset -1 and no error; a commit answers
//! with the leader epoch it was made with (-1 when it gave none). With `require_stable` (v7+), a
//! partition whose offset an open transaction is committing answers UNSTABLE_OFFSET_COMMIT.
//! v8 asks for several groups at once, each answered with its own error; v9 adds the asking
//! member's id and epoch, checked for consumer groups (KIP-848).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

/// One group's answer, whatever the version's layout.
struct GroupAnswer {
    error: Option<ResponseError>,
    topics: Vec<(String, Vec<PartitionAnswer>)>,
}

struct PartitionAnswer {
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: Option<String>,
    error: Option<ResponseError>,
}

/// What one group is asked: its topics (`None`: all it committed) and, from v9, the member.
struct GroupAsk {
    group_id: String,
    topics: Option<Vec<(String, Vec<i32>)>>,
    member: Option<(String, i32)>,
}

pub async fn handle(cx: &Cx<'_>, request: OffsetFetchRequest) -> OffsetFetchResponse {
    let version = cx.version;
    let stable = request.require_stable;
    let mut response = OffsetFetchResponse::default();
    if version >= 8 {
        for g in request.groups {
            let ask = GroupAsk {
                group_id: g.group_id.0.to_string(),
                topics: g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                }),
                member: g.member_id.map(|m| (m.to_string(), g.member_epoch)),
            };
            let answer = fetch(cx, &ask, stable).await;
            let mut group = OffsetFetchResponseGroup::default();
            group.group_id = g.group_id;
            group.error_code = super::code(answer.error);
            group.topics = answer
                .topics
                .into_iter()
                .map(|(name, partitions)| {
                    let mut topic = OffsetFetchResponseTopics::default();
                    topic.name = TopicName(str_bytes(name));
                    topic.partitions = partitions
                        .into_iter()
                        .map(|a| {
                            let mut p = OffsetFetchResponsePartitions::default();
                            p.partition_index = a.partition;
                            p.committed_offset = a.offset;
                            p.committed_leader_epoch = a.leader_epoch;
                            p.metadata = a.metadata.map(str_bytes);
                            p.error_code = super::code(a.error);
                            p
                        })
                        .collect();
                    topic
                })
                .collect();
            response.groups.push(group);
        }
        return response;
    }
    let ask = GroupAsk {
        group_id: request.group_id.0.to_string(),
        topics: request.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.name.0.to_string(), t.partition_indexes))
                .collect()
        }),
        member: None,
    };
    let answer = fetch(cx, &ask, stable).await;
    // v1 has no top-level error; its clients retry on an empty answer.
    if version >= 2 {
        response.error_code = super::code(answer.error);
    }
    response.topics = answer
        .topics
        .into_iter()
        .map(|(name, partitions)| {
            let mut topic = OffsetFetchResponseTopic::default();
            topic.name = TopicName(str_bytes(name));
            topic.partitions = partitions
                .into_iter()
                .map(|a| {
                    let mut p = OffsetFetchResponsePartition::default();
                    p.partition_index = a.partition;
                    p.committed_offset = a.offset;
                    if version >= 5 {
                        p.committed_leader_epoch = a.leader_epoch;
                    }
                    p.metadata = a.metadata.map(str_bytes);
                    p.error_code = super::code(a.error);
                    p
                })
                .collect();
            topic
        })
        .collect();
    response
}

/// The group needs Describe (`groups` or `describe`), else GROUP_AUTHORIZATION_FAILED; topics
/// the user may not describe are answered with TOPIC_AUTHORIZATION_FAILED, or left out of "all".
async fn fetch(cx: &Cx<'_>, ask: &GroupAsk, require_stable: bool) -> GroupAnswer {
    let access = &cx.access();
    let refused = |error: ResponseError| GroupAnswer {
        error: Some(error),
        topics: ask
            .topics
            .iter()
            .flatten()
            .map(|(name, partitions)| {
                (
                    name.clone(),
                    partitions.iter().map(|&p| refused_partition(p, error)).collect(),
                )
            })
            .collect(),
    };
    if !access.allows(Operation::Describe, Resource::Group(&ask.group_id)) {
        return refused(ResponseError::GroupAuthorizationFailed);
    }
    let mut denied = Vec::new();
    let topics = ask.topics.clone().map(|topics| {
        let (allowed, refused): (Vec<_>, Vec<_>) = topics
            .into_iter()
            .partition(|(name, _)| access.allows(Operation::Describe, Resource::Topic(name)));
        denied = refused;
        allowed
    });
    let all = topics.is_none();
    let fetched = match cx
        .broker
        .groups
        .fetch_member_offsets(ask.group_id.clone(), topics, ask.member.clone())
        .await
    {
        Ok(fetched) => fetched,
        Err(e) => {
            return GroupAnswer {
                error: Some(e),
                topics: Vec::new(),
            }
        }
    };
    let mut answer = GroupAnswer {
        error: None,
        topics: Vec::new(),
    };
    for f in fetched {
        if all && !access.can(Operation::Describe, Resource::Topic(&f.topic)) {
            continue;
        }
        if answer.topics.last().is_none_or(|(name, _)| *name != f.topic) {
            answer.topics.push((f.topic.clone(), Vec::new()));
        }
        // A client that asks for stable offsets only (read_committed) retries until the
        // transaction holding a newer one ends, as Kafka answers it.
        let unstable = f.unstable && require_stable;
        let partition = PartitionAnswer {
            partition: f.partition,
            offset: if unstable { -1 } else { f.offset },
            leader_epoch: f.leader_epoch,
            metadata: Some(f.metadata),
            error: unstable.then_some(ResponseError::UnstableOffsetCommit),
        };
        if let Some((_, partitions)) = answer.topics.last_mut() {
            partitions.push(partition);
        }
    }
    for (name, partitions) in denied {
        let refused = partitions
            .iter()
            .map(|&p| refused_partition(p, ResponseError::TopicAuthorizationFailed))
            .collect();
        answer.topics.push((name, refused));
    }
    answer
}

fn refused_partition(partition: i32, error: ResponseError) -> PartitionAnswer {
    PartitionAnswer {
        partition,
        offset: -1,
        leader_epoch: -1,
        metadata: None,
        error: Some(error),
    }
}
