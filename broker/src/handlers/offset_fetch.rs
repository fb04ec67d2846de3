//! OffsetFetch (v1–7). A partition without a commit answers offset -1 and no error; leader
//! epochs are not tracked, so `committed_leader_epoch` is always -1.

use kafka_protocol::messages::offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::str_bytes;
use crate::state::Broker;

pub async fn handle(broker: &Broker, request: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    let topics = request.topics.map(|topics| {
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
        if response.topics.last().is_none_or(|t| t.name.0.as_str() != f.topic) {
            let mut topic = OffsetFetchResponseTopic::default();
            topic.name = TopicName(str_bytes(f.topic.clone()));
            response.topics.push(topic);
        }
        let mut p = OffsetFetchResponsePartition::default();
        p.partition_index = f.partition;
        p.committed_offset = f.offset;
        p.committed_leader_epoch = -1;
        p.metadata = Some(str_bytes(f.metadata));
        if let Some(topic) = response.topics.last_mut() {
            topic.partitions.push(p);
        }
    }
    response
}
