//! DescribeProducers: flexible from v0, its only version (KIP-664).

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::{DescribeProducersRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<DescribeProducersRequest, DecodeError> {
    let mut req = DescribeProducersRequest::default();
    req.topics = r.array(true, |r| {
        let mut t = TopicRequest::default();
        t.name = TopicName(r.string(true)?);
        t.partition_indexes = r.array(true, |r| r.i32())?;
        t.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Ok(t)
    })?;
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeProducersRequest {
        let mut req = DescribeProducersRequest::default();
        g.set(&mut req, v, |x, g| {
            x.topics = g.vec(|g| {
                let mut t = TopicRequest::default();
                t.name = TopicName(g.string());
                t.partition_indexes = g.vec(|g| g.i32());
                t.unknown_tagged_fields = g.tags();
                t
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeProducers, arbitrary);
}
