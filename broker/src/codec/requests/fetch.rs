//! Fetch: flexible from v12. Topics are addressed by name up to v12 and by id from v13
//! (KIP-516), in the fetched and the forgotten topics alike. From v15 a replica says who it is in
//! the tagged `replica_state` instead of `replica_id`; v17 and v18 add partition tags a follower
//! sends. A consumer sends none of them, but they are decoded as the schema says.

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic, ReplicaState};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};

use crate::codec::{DecodeError, Reader};

/// Request-level tags: 0 = `cluster_id` (v12+), 1 = `replica_state` (v15+).
const TAG_CLUSTER_ID: u32 = 0;
const TAG_REPLICA_STATE: u32 = 1;
/// Partition-level tags: 0 = `replica_directory_id` (v17+), 1 = `high_watermark` (v18+).
const TAG_REPLICA_DIRECTORY_ID: u32 = 0;
const TAG_HIGH_WATERMARK: u32 = 1;

pub fn decode(r: &mut Reader, version: i16) -> Result<FetchRequest, DecodeError> {
    let flex = version >= 12;
    let mut req = FetchRequest::default();
    if version <= 14 {
        req.replica_id = BrokerId(r.i32()?);
    }
    req.max_wait_ms = r.i32()?;
    req.min_bytes = r.i32()?;
    req.max_bytes = r.i32()?;
    req.isolation_level = r.i8()?;
    if version >= 7 {
        req.session_id = r.i32()?;
        req.session_epoch = r.i32()?;
    }
    req.topics = r.array(flex, |r| topic(r, version))?;
    if version >= 7 {
        req.forgotten_topics_data = r.array(flex, |r| forgotten_topic(r, version))?;
    }
    if version >= 11 {
        req.rack_id = r.string(flex)?;
    }
    if flex {
        let (mut cluster_id, mut replica_state) = (None, ReplicaState::default());
        req.unknown_tagged_fields = r.tagged_fields(|tag, field| match tag {
            TAG_CLUSTER_ID => {
                cluster_id = field.nullable_string(true)?;
                Ok(true)
            }
            TAG_REPLICA_STATE if version >= 15 => {
                replica_state.replica_id = BrokerId(field.i32()?);
                replica_state.replica_epoch = field.i64()?;
                replica_state.unknown_tagged_fields = field.unknown_tagged_fields()?;
                Ok(true)
            }
            // The protocol crate refuses a known tag outside its versions; so do we.
            TAG_REPLICA_STATE => Err(DecodeError::TagNotInVersion {
                tag,
                what: "FetchRequest",
                version,
            }),
            _ => Ok(false),
        })?;
        req.cluster_id = cluster_id;
        req.replica_state = replica_state;
    }
    Ok(req)
}

fn topic(r: &mut Reader, version: i16) -> Result<FetchTopic, DecodeError> {
    let flex = version >= 12;
    let mut topic = FetchTopic::default();
    if version >= 13 {
        topic.topic_id = r.uuid()?;
    } else {
        topic.topic = TopicName(r.string(flex)?);
    }
    topic.partitions = r.array(flex, |r| partition(r, version))?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

fn partition(r: &mut Reader, version: i16) -> Result<FetchPartition, DecodeError> {
    let flex = version >= 12;
    let mut partition = FetchPartition::default();
    partition.partition = r.i32()?;
    if version >= 9 {
        partition.current_leader_epoch = r.i32()?;
    }
    partition.fetch_offset = r.i64()?;
    if version >= 12 {
        partition.last_fetched_epoch = r.i32()?;
    }
    if version >= 5 {
        partition.log_start_offset = r.i64()?;
    }
    partition.partition_max_bytes = r.i32()?;
    if flex {
        let (mut directory, mut high_watermark) = (partition.replica_directory_id, partition.high_watermark);
        partition.unknown_tagged_fields = r.tagged_fields(|tag, field| match tag {
            TAG_REPLICA_DIRECTORY_ID if version >= 17 => {
                directory = field.uuid()?;
                Ok(true)
            }
            TAG_HIGH_WATERMARK if version >= 18 => {
                high_watermark = field.i64()?;
                Ok(true)
            }
            TAG_REPLICA_DIRECTORY_ID | TAG_HIGH_WATERMARK => Err(DecodeError::TagNotInVersion {
                tag,
                what: "FetchPartition",
                version,
            }),
            _ => Ok(false),
        })?;
        (partition.replica_directory_id, partition.high_watermark) = (directory, high_watermark);
    }
    Ok(partition)
}

fn forgotten_topic(r: &mut Reader, version: i16) -> Result<ForgottenTopic, DecodeError> {
    let flex = version >= 12;
    let mut topic = ForgottenTopic::default();
    if version >= 13 {
        topic.topic_id = r.uuid()?;
    } else {
        topic.topic = TopicName(r.string(flex)?);
    }
    topic.partitions = r.array(flex, Reader::i32)?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_request;
    use crate::codec::testkit::{encode_frame, random_header, round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> FetchRequest {
        let mut req = FetchRequest::default();
        g.set(&mut req, v, |x, g| x.cluster_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.replica_id = BrokerId(g.i32()));
        g.set(&mut req, v, |x, g| {
            x.replica_state.replica_id = BrokerId(g.i32());
            x.replica_state.replica_epoch = g.i64();
            x.replica_state.unknown_tagged_fields = g.tags();
        });
        g.set(&mut req, v, |x, g| x.max_wait_ms = g.i32());
        g.set(&mut req, v, |x, g| x.min_bytes = g.i32());
        g.set(&mut req, v, |x, g| x.max_bytes = g.i32());
        g.set(&mut req, v, |x, g| x.isolation_level = g.i8());
        g.set(&mut req, v, |x, g| x.session_id = g.i32());
        g.set(&mut req, v, |x, g| x.session_epoch = g.i32());
        g.set(&mut req, v, |x, g| x.topics = g.vec(|g| topic(g, v)));
        g.set(&mut req, v, |x, g| x.forgotten_topics_data = g.vec(|g| forgotten(g, v)));
        g.set(&mut req, v, |x, g| x.rack_id = g.string());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> FetchTopic {
        let mut topic = FetchTopic::default();
        g.set(&mut topic, v, |x, g| x.topic = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.topic_id = g.uuid());
        g.set(&mut topic, v, |x, g| x.partitions = g.vec(|g| partition(g, v)));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    fn partition(g: &mut Gen, v: i16) -> FetchPartition {
        let mut p = FetchPartition::default();
        g.set(&mut p, v, |x, g| x.partition = g.i32());
        g.set(&mut p, v, |x, g| x.current_leader_epoch = g.i32());
        g.set(&mut p, v, |x, g| x.fetch_offset = g.i64());
        g.set(&mut p, v, |x, g| x.last_fetched_epoch = g.i32());
        g.set(&mut p, v, |x, g| x.log_start_offset = g.i64());
        g.set(&mut p, v, |x, g| x.partition_max_bytes = g.i32());
        g.set(&mut p, v, |x, g| x.replica_directory_id = g.uuid());
        g.set(&mut p, v, |x, g| x.high_watermark = g.i64());
        g.set(&mut p, v, |x, g| x.unknown_tagged_fields = g.tags());
        p
    }

    fn forgotten(g: &mut Gen, v: i16) -> ForgottenTopic {
        let mut topic = ForgottenTopic::default();
        g.set(&mut topic, v, |x, g| x.topic = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.topic_id = g.uuid());
        g.set(&mut topic, v, |x, g| x.partitions = g.vec(Gen::i32));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    round_trip_test!(Fetch, arbitrary);

    /// Fetch v12 body with an empty topic list, with `tags` as its tagged-field section.
    fn fetch_v12_with_tags(tags: &[u8]) -> bytes::Bytes {
        let mut g = Gen::new(1);
        let header = random_header(&mut g, kafka_protocol::messages::ApiKey::Fetch, 12);
        let (frame, _) = encode_frame(&header, &FetchRequest::default(), 12);
        // The default body ends with an empty tag section (0x00); replace it.
        let mut bytes = frame[..frame.len() - 1].to_vec();
        bytes.extend_from_slice(tags);
        bytes.into()
    }

    #[test]
    fn cluster_id_tag_is_decoded_into_its_field() {
        let frame = fetch_v12_with_tags(&[0x01, 0x00, 0x03, 0x03, b'c', b'1']);
        let req = match decode_request(frame).unwrap().request {
            crate::codec::Request::Fetch(req) => req,
            other => panic!("not a fetch: {other:?}"),
        };
        assert_eq!(req.cluster_id.as_deref(), Some("c1"));
        assert!(req.unknown_tagged_fields.is_empty());
    }

    #[test]
    fn replica_state_tag_is_refused_before_v15() {
        let frame = fetch_v12_with_tags(&[0x01, 0x01, 0x01, 0x00]);
        let err = decode_request(frame).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tagged field 1 of FetchRequest is not valid at version 12"
        );
    }
}
