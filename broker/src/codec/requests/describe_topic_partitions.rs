//! DescribeTopicPartitions: flexible (KIP-966). Kafka 4's `kafka-topics
//! --describe` asks it first for the eligible leader replicas; the cursor pages through large
//! clusters.

use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::{DescribeTopicPartitionsRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<DescribeTopicPartitionsRequest, DecodeError> {
    let mut req = DescribeTopicPartitionsRequest::default();
    req.topics = r.array(true, |r| {
        let mut t = TopicRequest::default();
        t.name = TopicName(r.string(true)?);
        t.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Ok(t)
    })?;
    req.response_partition_limit = r.i32()?;
    // A nullable struct: one byte, negative for null (Kafka's generated readers).
    req.cursor = if r.i8()? < 0 {
        None
    } else {
        let mut c = Cursor::default();
        c.topic_name = TopicName(r.string(true)?);
        c.partition_index = r.i32()?;
        c.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Some(c)
    };
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeTopicPartitionsRequest {
        let mut req = DescribeTopicPartitionsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.topics = g.vec(|g| {
                let mut t = TopicRequest::default();
                t.name = TopicName(g.string());
                t.unknown_tagged_fields = g.tags();
                t
            })
        });
        g.set(&mut req, v, |x, g| x.response_partition_limit = g.i32());
        g.set(&mut req, v, |x, g| {
            x.cursor = g.opt(|g| {
                let mut c = Cursor::default();
                c.topic_name = TopicName(g.string());
                c.partition_index = g.i32();
                c.unknown_tagged_fields = g.tags();
                c
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeTopicPartitions, arbitrary);
}
