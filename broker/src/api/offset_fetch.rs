//! OffsetFetch. A partition without a commit answers offset -1 and no error; a commit answers
//! with the leader epoch it was made with (-1 when it gave none). With `require_stable` (v7), a
//! partition whose offset an open transaction is committing answers UNSTABLE_OFFSET_COMMIT.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

/// The group needs Describe (`groups` or `describe`), else GROUP_AUTHORIZATION_FAILED; topics
/// the user may not describe are answered with TOPIC_AUTHORIZATION_FAILED, or left out of "all".
pub async fn handle(cx: &Cx<'_>, request: OffsetFetchRequest) -> OffsetFetchResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    if !access.allows(Operation::Describe, Resource::Group(&request.group_id)) {
        return refused(request, version, ResponseError::GroupAuthorizationFailed);
    }
    let mut denied = Vec::new();
    let request_topics = request.topics.map(|topics| {
        let (allowed, refused): (Vec<_>, Vec<_>) = topics
            .into_iter()
            .partition(|t| access.allows(Operation::Describe, Resource::Topic(&t.name)));
        denied = refused;
        allowed
    });
    let all = request_topics.is_none();
    let topics = request_topics.map(|topics| {
        topics
            .into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect::<Vec<_>>()
    });
    let mut response = OffsetFetchResponse::default();
    let fetched = match broker
        .groups
        .fetch_offsets(request.group_id.0.to_string(), topics)
        .await
    {
        Ok(fetched) => fetched,
        Err(e) => {
            // v1 has no top-level error; its clients retry on an empty answer.
            if version >= 2 {
                response.error_code = e.code();
            }
            return response;
        }
    };
    for f in fetched {
        if all && !access.can(Operation::Describe, Resource::Topic(&f.topic)) {
            continue;
        }
        if response.topics.last().is_none_or(|t| t.name.0.as_str() != f.topic) {
            let mut topic = OffsetFetchResponseTopic::default();
            topic.name = TopicName(str_bytes(f.topic.clone()));
            response.topics.push(topic);
        }
        let mut p = OffsetFetchResponsePartition::default();
        p.partition_index = f.partition;
        p.committed_offset = f.offset;
        if version >= 5 {
            p.committed_leader_epoch = f.leader_epoch;
        }
        p.metadata = Some(str_bytes(f.metadata));
        // A client that asks for stable offsets only (v7, read_committed) retries until the
        // transaction holding a newer one ends, as Kafka answers it.
        if f.unstable && request.require_stable {
            p.error_code = ResponseError::UnstableOffsetCommit.code();
            p.committed_offset = -1;
        }
        if let Some(topic) = response.topics.last_mut() {
            topic.partitions.push(p);
        }
    }
    for t in denied {
        response
            .topics
            .push(refused_topic(t, ResponseError::TopicAuthorizationFailed));
    }
    response
}

/// The whole request refused with `error`: at the top (v2+) and on every partition asked for.
fn refused(request: OffsetFetchRequest, version: i16, error: ResponseError) -> OffsetFetchResponse {
    let mut response = OffsetFetchResponse::default();
    if version >= 2 {
        response.error_code = error.code();
    }
    response.topics = request
        .topics
        .unwrap_or_default()
        .into_iter()
        .map(|t| refused_topic(t, error))
        .collect();
    response
}

fn refused_topic(
    t: kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic,
    error: ResponseError,
) -> OffsetFetchResponseTopic {
    let mut topic = OffsetFetchResponseTopic::default();
    topic.name = t.name;
    topic.partitions = t
        .partition_indexes
        .into_iter()
        .map(|index| {
            let mut p = OffsetFetchResponsePartition::default();
            p.partition_index = index;
            p.committed_offset = -1;
            p.committed_leader_epoch = -1;
            p.error_code = error.code();
            p
        })
        .collect();
    topic
}
