//! OffsetFetch: flexible from v6. v8 replaced the single group with a batch of `groups`; v9
//! adds each group's member id and epoch (KIP-848), which a consumer group's member sends.

use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<OffsetFetchRequest, DecodeError> {
    let flex = version >= 6;
    let mut req = OffsetFetchRequest::default();
    if version >= 8 {
        req.groups = r.array(flex, |r| group(r, version))?;
    } else {
        req.group_id = GroupId(r.string(flex)?);
        // Null (v2+) asks for every partition the group has committed.
        req.topics = r.nullable_array(flex, |r| topic(r, flex))?;
    }
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

fn group(r: &mut Reader, version: i16) -> Result<OffsetFetchRequestGroup, DecodeError> {
    let mut group = OffsetFetchRequestGroup::default();
    group.group_id = GroupId(r.string(true)?);
    if version >= 9 {
        group.member_id = r.nullable_string(true)?;
        group.member_epoch = r.i32()?;
    }
    group.topics = r.nullable_array(true, |r| {
        let mut topic = OffsetFetchRequestTopics::default();
        topic.name = TopicName(r.string(true)?);
        topic.partition_indexes = r.array(true, Reader::i32)?;
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Ok(topic)
    })?;
    group.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> OffsetFetchRequest {
        let mut req = OffsetFetchRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.topics = g.opt(|g| g.vec(|g| topic(g, v))));
        g.set(&mut req, v, |x, g| x.groups = g.vec(|g| group(g, v)));
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

    fn group(g: &mut Gen, v: i16) -> OffsetFetchRequestGroup {
        let mut group = OffsetFetchRequestGroup::default();
        g.set(&mut group, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut group, v, |x, g| x.member_id = g.opt(Gen::string));
        g.set(&mut group, v, |x, g| x.member_epoch = g.i32());
        g.set(&mut group, v, |x, g| {
            x.topics = g.opt(|g| {
                g.vec(|g| {
                    let mut t = OffsetFetchRequestTopics::default();
                    t.name = TopicName(g.string());
                    t.partition_indexes = g.vec(Gen::i32);
                    t.unknown_tagged_fields = g.tags();
                    t
                })
            })
        });
        g.set(&mut group, v, |x, g| x.unknown_tagged_fields = g.tags());
        group
    }

    round_trip_test!(OffsetFetch, arbitrary);
}
