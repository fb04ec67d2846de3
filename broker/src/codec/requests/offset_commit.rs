//! OffsetCommit: flexible from v8.

use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<OffsetCommitRequest, DecodeError> {
    let flex = version >= 8;
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(r.string(flex)?);
    req.generation_id_or_member_epoch = r.i32()?;
    req.member_id = r.string(flex)?;
    if version >= 7 {
        req.group_instance_id = r.nullable_string(flex)?;
    }
    // v5 dropped the per-request retention; the broker's own setting applies.
    if version <= 4 {
        req.retention_time_ms = r.i64()?;
    }
    req.topics = r.array(flex, |r| topic(r, version))?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn topic(r: &mut Reader, version: i16) -> Result<OffsetCommitRequestTopic, DecodeError> {
    let flex = version >= 8;
    let mut topic = OffsetCommitRequestTopic::default();
    topic.name = TopicName(r.string(flex)?);
    topic.partitions = r.array(flex, |r| partition(r, version))?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

fn partition(r: &mut Reader, version: i16) -> Result<OffsetCommitRequestPartition, DecodeError> {
    let flex = version >= 8;
    let mut partition = OffsetCommitRequestPartition::default();
    partition.partition_index = r.i32()?;
    partition.committed_offset = r.i64()?;
    if version >= 6 {
        partition.committed_leader_epoch = r.i32()?;
    }
    partition.committed_metadata = r.nullable_string(flex)?;
    if flex {
        partition.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(partition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> OffsetCommitRequest {
        let mut req = OffsetCommitRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.generation_id_or_member_epoch = g.i32());
        g.set(&mut req, v, |x, g| x.member_id = g.string());
        g.set(&mut req, v, |x, g| x.group_instance_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.retention_time_ms = g.i64());
        g.set(&mut req, v, |x, g| x.topics = g.vec(|g| topic(g, v)));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> OffsetCommitRequestTopic {
        let mut topic = OffsetCommitRequestTopic::default();
        g.set(&mut topic, v, |x, g| x.name = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.topic_id = g.uuid());
        g.set(&mut topic, v, |x, g| x.partitions = g.vec(|g| partition(g, v)));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    fn partition(g: &mut Gen, v: i16) -> OffsetCommitRequestPartition {
        let mut p = OffsetCommitRequestPartition::default();
        g.set(&mut p, v, |x, g| x.partition_index = g.i32());
        g.set(&mut p, v, |x, g| x.committed_offset = g.i64());
        g.set(&mut p, v, |x, g| x.committed_leader_epoch = g.i32());
        g.set(&mut p, v, |x, g| x.committed_metadata = g.opt(Gen::string));
        g.set(&mut p, v, |x, g| x.unknown_tagged_fields = g.tags());
        p
    }

    round_trip_test!(OffsetCommit, arbitrary);
}
