//! Produce: flexible from v9.
//!
//! `records` stays an opaque slice of the frame: validating the record batch is the handler's
//! job, and the crate's record decoder has its own allocation hazards
//! (docs/kafka-protocol.md#kafka-protocol-crate-pitfalls).

use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName, TransactionalId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<ProduceRequest, DecodeError> {
    let flex = version >= 9;
    let mut req = ProduceRequest::default();
    req.transactional_id = r.nullable_string(flex)?.map(TransactionalId);
    req.acks = r.i16()?;
    req.timeout_ms = r.i32()?;
    req.topic_data = r.array(flex, |r| topic(r, version))?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn topic(r: &mut Reader, version: i16) -> Result<TopicProduceData, DecodeError> {
    let flex = version >= 9;
    let mut topic = TopicProduceData::default();
    // v13 names the topic by its id (KIP-516).
    if version >= 13 {
        topic.topic_id = r.uuid()?;
    } else {
        topic.name = TopicName(r.string(flex)?);
    }
    topic.partition_data = r.array(flex, |r| partition(r, version))?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

fn partition(r: &mut Reader, version: i16) -> Result<PartitionProduceData, DecodeError> {
    let flex = version >= 9;
    let mut partition = PartitionProduceData::default();
    partition.index = r.i32()?;
    partition.records = r.nullable_bytes(flex)?;
    if flex {
        partition.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(partition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> ProduceRequest {
        let mut req = ProduceRequest::default();
        g.set(&mut req, v, |x, g| {
            x.transactional_id = g.opt(|g| TransactionalId(g.string()))
        });
        g.set(&mut req, v, |x, g| x.acks = g.i16());
        g.set(&mut req, v, |x, g| x.timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.topic_data = g.vec(|g| topic(g, v)));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> TopicProduceData {
        let mut topic = TopicProduceData::default();
        g.set(&mut topic, v, |x, g| x.name = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.topic_id = g.uuid());
        g.set(&mut topic, v, |x, g| x.partition_data = g.vec(|g| partition(g, v)));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    fn partition(g: &mut Gen, v: i16) -> PartitionProduceData {
        let mut partition = PartitionProduceData::default();
        g.set(&mut partition, v, |x, g| x.index = g.i32());
        g.set(&mut partition, v, |x, g| x.records = g.opt(Gen::bytes));
        g.set(&mut partition, v, |x, g| x.unknown_tagged_fields = g.tags());
        partition
    }

    round_trip_test!(Produce, arbitrary);
}
