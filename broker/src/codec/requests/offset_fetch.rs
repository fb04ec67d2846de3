//! OffsetFetch: flexible from v6. v8 replaced the single group with a batch
//! of `groups`, which is why we stop at 7 (docs/kafka-protocol.md#versions-per-api).

use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<OffsetFetchRequest, DecodeError> {
    let flex = version >= 6;
    let mut req = OffsetFetchRequest::default();
    req.group_id = GroupId(r.string(flex)?);
    // Null (v2+) asks for every partition the group has committed.
    req.topics = r.nullable_array(flex, |r| topic(r, flex))?;
    if version >= 7 {
        req.require_stable = r.bool()?;
    }
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn topic(r: &mut Reader, flex: bool) -> Result<OffsetFetchRequestTopic, DecodeError> {
    let mut topic = OffsetFetchRequestTopic::default();
    topic.name = TopicName(r.string(flex)?);
    topic.partition_indexes = r.array(flex, Reader::i32)?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> OffsetFetchRequest {
        let mut req = OffsetFetchRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.topics = g.opt(|g| g.vec(|g| topic(g, v))));
        g.set(&mut req, v, |x, g| x.require_stable = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> OffsetFetchRequestTopic {
        let mut topic = OffsetFetchRequestTopic::default();
        g.set(&mut topic, v, |x, g| x.name = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.partition_indexes = g.vec(Gen::i32));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    round_trip_test!(OffsetFetch, arbitrary);
}
