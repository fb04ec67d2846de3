//! CreatePartitions: flexible from v2.

use kafka_protocol::messages::create_partitions_request::{CreatePartitionsAssignment, CreatePartitionsTopic};
use kafka_protocol::messages::{BrokerId, CreatePartitionsRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<CreatePartitionsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = CreatePartitionsRequest::default();
    req.topics = r.array(flex, |r| topic(r, flex))?;
    req.timeout_ms = r.i32()?;
    req.validate_only = r.bool()?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn topic(r: &mut Reader, flex: bool) -> Result<CreatePartitionsTopic, DecodeError> {
    let mut topic = CreatePartitionsTopic::default();
    topic.name = TopicName(r.string(flex)?);
    topic.count = r.i32()?;
    // Null means "let the broker place the new partitions".
    topic.assignments = r.nullable_array(flex, |r| assignment(r, flex))?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

fn assignment(r: &mut Reader, flex: bool) -> Result<CreatePartitionsAssignment, DecodeError> {
    let mut assignment = CreatePartitionsAssignment::default();
    assignment.broker_ids = r.array(flex, |r| r.i32().map(BrokerId))?;
    if flex {
        assignment.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(assignment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> CreatePartitionsRequest {
        let mut req = CreatePartitionsRequest::default();
        g.set(&mut req, v, |x, g| x.topics = g.vec(|g| topic(g, v)));
        g.set(&mut req, v, |x, g| x.timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.validate_only = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> CreatePartitionsTopic {
        let mut topic = CreatePartitionsTopic::default();
        g.set(&mut topic, v, |x, g| x.name = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.count = g.i32());
        g.set(&mut topic, v, |x, g| {
            x.assignments = g.opt(|g| g.vec(|g| assignment(g, v)))
        });
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    fn assignment(g: &mut Gen, v: i16) -> CreatePartitionsAssignment {
        let mut a = CreatePartitionsAssignment::default();
        g.set(&mut a, v, |x, g| x.broker_ids = g.vec(|g| BrokerId(g.i32())));
        g.set(&mut a, v, |x, g| x.unknown_tagged_fields = g.tags());
        a
    }

    round_trip_test!(CreatePartitions, arbitrary);
}
