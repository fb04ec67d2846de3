//! ListOffsets: flexible from v6. v0, which Kafka 4 and the protocol crate dropped (KIP-896),
//! is decoded too, for the sarama-based monitors still in service (Burrow 1.x asks the head
//! offsets with it): each partition also carries `max_num_offsets`, which the broker reads and
//! drops, answering one offset (`codec::list_offsets_v0`).

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<ListOffsetsRequest, DecodeError> {
    let flex = version >= 6;
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(r.i32()?);
    if version >= 2 {
        req.isolation_level = r.i8()?;
    }
    req.topics = r.array(flex, |r| topic(r, version))?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn topic(r: &mut Reader, version: i16) -> Result<ListOffsetsTopic, DecodeError> {
    let flex = version >= 6;
    let mut topic = ListOffsetsTopic::default();
    topic.name = TopicName(r.string(flex)?);
    topic.partitions = r.array(flex, |r| partition(r, version))?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

fn partition(r: &mut Reader, version: i16) -> Result<ListOffsetsPartition, DecodeError> {
    let flex = version >= 6;
    let mut partition = ListOffsetsPartition::default();
    partition.partition_index = r.i32()?;
    if version >= 4 {
        partition.current_leader_epoch = r.i32()?;
    }
    partition.timestamp = r.i64()?;
    if version == 0 {
        let _max_num_offsets = r.i32()?;
    }
    if flex {
        partition.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(partition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> ListOffsetsRequest {
        let mut req = ListOffsetsRequest::default();
        g.set(&mut req, v, |x, g| x.replica_id = BrokerId(g.i32()));
        g.set(&mut req, v, |x, g| x.isolation_level = g.i8());
        g.set(&mut req, v, |x, g| x.topics = g.vec(|g| topic(g, v)));
        g.set(&mut req, v, |x, g| x.timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> ListOffsetsTopic {
        let mut topic = ListOffsetsTopic::default();
        g.set(&mut topic, v, |x, g| x.name = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.partitions = g.vec(|g| partition(g, v)));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    fn partition(g: &mut Gen, v: i16) -> ListOffsetsPartition {
        let mut p = ListOffsetsPartition::default();
        g.set(&mut p, v, |x, g| x.partition_index = g.i32());
        g.set(&mut p, v, |x, g| x.current_leader_epoch = g.i32());
        g.set(&mut p, v, |x, g| x.timestamp = g.i64());
        g.set(&mut p, v, |x, g| x.unknown_tagged_fields = g.tags());
        p
    }

    round_trip_test!(ListOffsets, arbitrary);

    /// v0 by hand, as sarama writes it: the crate encodes from v1 only.
    #[test]
    fn version_0_decodes_as_sarama_writes_it() {
        use bytes::BufMut;
        let mut body = bytes::BytesMut::new();
        body.put_i32(-1); // replica id
        body.put_i32(1); // topics
        body.put_i16(7);
        body.put_slice(b"metrics");
        body.put_i32(2); // partitions
        for (index, timestamp) in [(0, -1i64), (3, -2)] {
            body.put_i32(index);
            body.put_i64(timestamp);
            body.put_i32(1); // max_num_offsets
        }
        let req = decode(&mut Reader::new(body.clone().freeze()), 0).unwrap();
        assert_eq!(req.topics[0].name.as_str(), "metrics");
        let wanted: Vec<(i32, i64)> = req.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.timestamp))
            .collect();
        assert_eq!(wanted, [(0, -1), (3, -2)]);
        for len in 0..body.len() {
            assert!(decode(&mut Reader::new(body.clone().freeze().slice(..len)), 0).is_err());
        }
    }
}
