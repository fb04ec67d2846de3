//! OffsetDelete: never flexible, so no tagged fields anywhere.

use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::{GroupId, OffsetDeleteRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<OffsetDeleteRequest, DecodeError> {
    let mut req = OffsetDeleteRequest::default();
    req.group_id = GroupId(r.string(false)?);
    req.topics = r.array(false, topic)?;
    Ok(req)
}

fn topic(r: &mut Reader) -> Result<OffsetDeleteRequestTopic, DecodeError> {
    let mut topic = OffsetDeleteRequestTopic::default();
    topic.name = TopicName(r.string(false)?);
    topic.partitions = r.array(false, |r| {
        let mut partition = OffsetDeleteRequestPartition::default();
        partition.partition_index = r.i32()?;
        Ok(partition)
    })?;
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> OffsetDeleteRequest {
        let mut req = OffsetDeleteRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.topics = g.vec(|g| topic(g, v)));
        req
    }

    fn topic(g: &mut Gen, v: i16) -> OffsetDeleteRequestTopic {
        let mut topic = OffsetDeleteRequestTopic::default();
        g.set(&mut topic, v, |x, g| x.name = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| {
            x.partitions = g.vec(|g| {
                let mut p = OffsetDeleteRequestPartition::default();
                p.partition_index = g.i32();
                p
            })
        });
        topic
    }

    round_trip_test!(OffsetDelete, arbitrary);
}
